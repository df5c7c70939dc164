"""``DevduckZipSpanExporter``: an ordinary OTel SpanExporter that writes session ZIPs."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from devduck_otel_exporter_zip import schema as F
from devduck_otel_exporter_zip._derive import OWN_SCOPE
from devduck_otel_exporter_zip._journal import SessionJournal
from devduck_otel_exporter_zip._redacting import SessionRedactor
from devduck_otel_exporter_zip._signing import signing_key
from devduck_otel_exporter_zip._zipwrite import base_metadata, write_session_zip
from devduck_otel_exporter_zip.environment_variables import (
    DEVDUCK_FLUSH_INTERVAL,
    DEVDUCK_RECORDINGS_DIR,
)

logger = logging.getLogger("devduck_otel_exporter_zip")

_active: DevduckZipSpanExporter | None = None
_active_lock = threading.Lock()


def recordings_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """Return the recordings folder: the argument, ``DEVDUCK_RECORDINGS_DIR``, or the default."""
    if directory is not None:
        return Path(directory)
    configured = os.environ.get(DEVDUCK_RECORDINGS_DIR, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(tempfile.gettempdir()) / "devduck" / "recordings"


def new_session_id(now: datetime | None = None) -> str:
    """Return a session id unique even for two sessions started in the same second."""
    now = now or datetime.now()
    return f"session-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def flush_interval() -> float:
    """Return ``DEVDUCK_FLUSH_INTERVAL`` in seconds (default 0.2; bad values warn)."""
    raw = os.environ.get(DEVDUCK_FLUSH_INTERVAL, "").strip()
    if not raw:
        return 0.2
    try:
        value = float(raw)
        if value > 0:
            return value
    except ValueError:
        pass
    logger.warning(
        "devduck-otel: %s=%r is not a positive number; using 0.2", DEVDUCK_FLUSH_INTERVAL, raw
    )
    return 0.2


def _remove_stale_temps(folder: Path) -> None:
    from devduck_otel_exporter_zip._recover import remove_stale_temps  # imports this module

    remove_stale_temps(folder)


def active_exporter() -> DevduckZipSpanExporter | None:
    """Return the exporter made by zero-code set-up that owns its own session, if any."""
    return _active


def _default_redactor() -> SessionRedactor | None:
    """The ``devduck_otel`` package's redactor when it is installed (it is, beside us)."""
    try:
        from devduck_otel.redaction import Redactor
    except ImportError:  # the exporter alone: nothing to redact with
        logger.warning("devduck-otel: devduck_otel is not installed; the session is not redacted")
        return None
    return Redactor.from_env()


class DevduckZipSpanExporter(SpanExporter):
    """Writes the spans it receives, and everything derived from them, to a session ZIP.

    Given a ``journal``, it feeds that recording's journal and the recorder writes
    the ZIP. Created with no arguments (``OTEL_TRACES_EXPORTER=devduck_zip``), it
    owns a session of its own and writes the ZIP into the recordings folder when
    it is shut down, at the latest when the process exits.

    Args:
        journal: The journal of a running recording.
        directory: Recordings folder for a session of its own. Defaults to
            ``DEVDUCK_RECORDINGS_DIR``, then ``<tempdir>/devduck/recordings``.
        redactor: Redacts everything before it reaches disk. Defaults to the
            ``devduck_otel`` package's ``Redactor.from_env()``.
    """

    def __init__(
        self,
        journal: SessionJournal | None = None,
        *,
        directory: str | os.PathLike[str] | None = None,
        redactor: SessionRedactor | None = None,
    ) -> None:
        global _active
        self._lock = threading.Lock()
        self._shutdown = False
        self.zip_path: Path | None = None
        self._owns_journal = journal is None
        if journal is None:
            signing_key()  # a blank key is refused before anything is recorded
            folder = recordings_dir(directory)
            folder.mkdir(parents=True, exist_ok=True)
            _remove_stale_temps(folder)
            start = datetime.now(timezone.utc).astimezone()
            session_id = new_session_id()
            journal = SessionJournal(
                folder,
                session_id,
                base_metadata(session_id, start),
                redactor=redactor or _default_redactor(),
                flush_interval=flush_interval(),
            )
            with _active_lock:
                _active = self
        self.journal = journal

    @property
    def owns_journal(self) -> bool:
        """Whether this exporter writes the ZIP itself at shutdown."""
        return self._owns_journal

    def processor(self, *, capture_content: bool = False) -> SessionSpanProcessor:
        """A span processor that feeds this exporter live spans as well as ended ones.

        Args:
            capture_content: Leave devduck-otel's content on its spans for the
                processors after this one (collectors); snapshot payloads never are.
        """
        return SessionSpanProcessor(self, capture_content=capture_content)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Queue ended spans for the journal (derived and written off the caller's thread)."""
        if self._shutdown:
            return SpanExportResult.FAILURE
        try:
            for span in spans:
                self.journal.span_ended(span)
        except Exception:  # an exporter logs, it never raises into the SDK
            logger.exception("devduck-otel: could not journal %d spans", len(spans))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Write everything received so far to the journal on disk."""
        if not self.journal.closed:
            self.journal.flush()
        return True

    def shutdown(self) -> None:
        """Stop accepting spans; an exporter with its own session writes its ZIP. Idempotent."""
        global _active
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        if not self._owns_journal or self.journal.forked:
            return
        with _active_lock:
            if _active is self:
                _active = None
        try:
            self.zip_path = finalize(self.journal)
            logger.info("devduck-otel: session written to %s", self.zip_path)
        except Exception:
            logger.exception(
                "devduck-otel: could not write the session ZIP; journal kept at %s",
                self.journal.path,
            )


def finalize(journal: SessionJournal, output_path: Path | None = None) -> Path:
    """Close a journal, write its ZIP (default: beside it), and remove the journal.

    Raises:
        FileExistsError: The default ZIP path is taken (the journal is kept).
    """
    if journal.forked:
        raise RuntimeError(f"{journal.path} belongs to the parent process of this fork")
    journal.update_metadata(end_time=datetime.now(timezone.utc).astimezone().isoformat())
    journal.mark_stopped()
    journal.close()
    target = output_path or journal.path.with_name(f"{journal.session_id}.zip")
    # The default place is never taken over: another session of this id may have just
    # finished there. An explicit path is the caller's to replace.
    path = write_session_zip(
        journal.path,
        target,
        stopped=True,
        signing_key=signing_key(),
        replace=output_path is not None,
        prepared=journal.prepared,
    )
    remove_journal(journal.path)
    return path


def remove_journal(path: Path) -> None:
    """Delete a journal directory after its ZIP is safely written."""
    for child in sorted(path.rglob("*"), reverse=True):
        if child.is_dir():
            child.rmdir()
        else:
            child.unlink()
    path.rmdir()


class SessionSpanProcessor(SpanProcessor):
    """Feeds a :class:`DevduckZipSpanExporter` every span as it starts and as it ends.

    Live spans are read part-way by the journal's flush thread, so events of spans
    that never end (a process killed mid-turn) still reach disk. Ended spans are
    frozen on the ending thread (shallow copies), so processors that run after this
    one cannot change what the session keeps.

    The span handed on to the processors after this one (the application's exporters,
    collectors) no longer carries snapshot payloads, nor devduck-otel's content unless
    ``capture_content``: the session has them, nobody else needs them.

    Args:
        exporter: The session exporter.
        capture_content: Leave content (``devduck.content``, GenAI messages, tool
            arguments and results) on devduck-otel's spans for later processors.

    Attributes:
        followed: Set by whoever builds the provider: tells whether any processor
            comes after this one (asked at each span end, so a processor added later
            counts). When it says no, spans are handed on untouched, since nobody
            receives them. ``None``: assume there is one.
    """

    def __init__(self, exporter: DevduckZipSpanExporter, *, capture_content: bool = False) -> None:
        self.exporter = exporter
        self.capture_content = capture_content
        self.followed: Callable[[], bool] | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Register the live span with the journal."""
        self.exporter.journal.span_started(span)

    def on_end(self, span: ReadableSpan) -> None:
        """Queue the ended span, frozen as it is now; hand on a span without payloads."""
        self.exporter.journal.span_ended(span)
        if self.followed is None or self.followed():
            hand_on(span, capture_content=self.capture_content)

    def shutdown(self) -> None:
        """Shut the exporter down (an exporter of its own session writes its ZIP)."""
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Write everything received so far to the journal."""
        return self.exporter.force_flush(timeout_millis)


_CONTENT = frozenset(
    {
        F.DEVDUCK_CONTENT,
        F.GEN_AI_TOOL_CALL_ARGUMENTS,
        F.GEN_AI_TOOL_CALL_RESULT,
        F.GEN_AI_INPUT_MESSAGES,
        F.GEN_AI_OUTPUT_MESSAGES,
        F.GEN_AI_SYSTEM_INSTRUCTIONS,
        F.GEN_AI_TOOL_DEFINITIONS,
    }
)

_HTTP_BODIES = frozenset(F.HTTP_BODY_ATTRIBUTES)


def hand_on(span: ReadableSpan, *, capture_content: bool) -> None:
    """Strip devduck-otel's payloads from the span object later processors receive.

    Only spans of devduck-otel's own tracer are touched, and on other spans (HTTP
    client spans) the HTTP bodies devduck-otel added; the SDK hands every processor
    the same ``ReadableSpan``, a view made for ``on_end``, so the live span and this
    exporter's frozen copy keep everything.
    """
    scope = span.instrumentation_scope
    if scope is None or scope.name != OWN_SCOPE:
        attributes = span.attributes or {}
        if not capture_content and not _HTTP_BODIES.isdisjoint(attributes):
            span._attributes = {k: v for k, v in attributes.items() if k not in _HTTP_BODIES}
        return
    drop = set(F.SNAPSHOT_PAYLOAD) if capture_content else set(F.SNAPSHOT_PAYLOAD) | _CONTENT
    attributes = span.attributes or {}
    if not drop.isdisjoint(attributes):
        span._attributes = {k: v for k, v in attributes.items() if k not in drop}
    if any(not drop.isdisjoint(e.attributes or {}) for e in span.events):
        span._events = tuple(
            Event(
                e.name,
                {k: v for k, v in (e.attributes or {}).items() if k not in drop},
                e.timestamp,
            )
            for e in span.events
        )
