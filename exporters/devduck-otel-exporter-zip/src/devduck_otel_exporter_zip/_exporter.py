"""``DevduckZipSpanExporter``: an ordinary OTel SpanExporter that writes session ZIPs."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

from devduck_otel_exporter_zip._journal import SessionJournal
from devduck_otel_exporter_zip._zipwrite import base_metadata, write_session_zip
from devduck_otel_exporter_zip.environment_variables import (
    DEVDUCK_FLUSH_INTERVAL,
    DEVDUCK_RECORDINGS_DIR,
    DEVDUCK_SIGNING_KEY,
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


def signing_key() -> bytes | None:
    """Return ``DEVDUCK_SIGNING_KEY`` as bytes, or ``None`` when unset."""
    raw = os.environ.get(DEVDUCK_SIGNING_KEY, "")
    return raw.encode() if raw else None


def active_exporter() -> DevduckZipSpanExporter | None:
    """Return the exporter made by zero-code set-up that owns its own session, if any."""
    return _active


def http_event(span: ReadableSpan) -> tuple[str, dict[str, Any]] | None:
    """Return the sys-layer ``http.<method>`` event of an HTTP client span, if it is one."""
    attrs = span.attributes or {}
    method = attrs.get("http.request.method") or attrs.get("http.method")
    if span.kind is not SpanKind.CLIENT or not method:
        return None
    url = attrs.get("url.full") or attrs.get("http.url")
    status = attrs.get("http.response.status_code") or attrs.get("http.status_code")
    start, end = span.start_time or 0, span.end_time or 0
    data: dict[str, Any] = {
        "url": url,
        "method": str(method).upper(),
        "status_code": status,
        "duration_ms": round((end - start) / 1e6, 3),
    }
    if not span.status.is_ok:
        data["error"] = span.status.description or attrs.get("error.type")
    return f"http.{str(method).lower()}", data


class DevduckZipSpanExporter(SpanExporter):
    """Writes spans (and the events recorded beside them) to a session ZIP.

    Given a ``journal``, it feeds that recording's journal and the recorder writes
    the ZIP. Created with no arguments (``OTEL_TRACES_EXPORTER=devduck_zip``), it
    owns a session of its own and writes the ZIP into the recordings folder when
    it is shut down, at the latest when the process exits.

    Args:
        journal: The journal of a running recording.
        directory: Recordings folder for a session of its own. Defaults to
            ``DEVDUCK_RECORDINGS_DIR``, then ``<tempdir>/devduck/recordings``.
    """

    def __init__(
        self,
        journal: SessionJournal | None = None,
        *,
        directory: str | os.PathLike[str] | None = None,
    ) -> None:
        global _active
        self._lock = threading.Lock()
        self._shutdown = False
        self.zip_path: Path | None = None
        self._owns_journal = journal is None
        if journal is None:
            folder = recordings_dir(directory)
            folder.mkdir(parents=True, exist_ok=True)
            start = datetime.now(timezone.utc).astimezone()
            session_id = new_session_id()
            journal = SessionJournal(
                folder,
                session_id,
                base_metadata(session_id, start),
                flush_interval=flush_interval(),
            )
            with _active_lock:
                _active = self
        self.journal = journal

    @property
    def owns_journal(self) -> bool:
        """Whether this exporter writes the ZIP itself at shutdown."""
        return self._owns_journal

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append the spans, and the sys-layer events of HTTP client spans, to the journal."""
        if self._shutdown:
            return SpanExportResult.FAILURE
        try:
            for span in spans:
                self.journal.append_span(span)
                event = http_event(span)
                if event is not None:
                    self._append_http(span, *event)
        except Exception:  # an exporter logs, it never raises into the SDK
            logger.exception("devduck-otel: could not journal %d spans", len(spans))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _append_http(self, span: ReadableSpan, event_type: str, data: dict[str, Any]) -> None:
        ctx = span.get_span_context()
        parent = span.parent.span_id if span.parent is not None else None
        self.journal.append_event(
            span.end_time or span.start_time or 0,
            "sys",
            event_type,
            orjson.dumps(data),
            ctx.trace_id if ctx else None,
            ctx.span_id if ctx else None,
            parent,
        )

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush pending events and spans to the journal on disk."""
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
        if not self._owns_journal:
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
    """Close a journal, write its ZIP (default: beside it), and remove the journal."""
    journal.update_metadata(end_time=datetime.now(timezone.utc).astimezone().isoformat())
    journal.close()
    target = output_path or journal.path.with_name(f"{journal.session_id}.zip")
    path = write_session_zip(journal.path, target, stopped=True, signing_key=signing_key())
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
