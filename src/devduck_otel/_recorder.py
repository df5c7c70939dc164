"""One recording: its tracer, its session exporter, its snapshots.

A recording writes nothing itself. Everything it records is OpenTelemetry data (spans
and span events, see ``capture/_events.py``); the session exporter receives that data
like any other span processor would and derives the session from it.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from devduck_otel_exporter_zip import (
    BlankSigningKeyError,
    DevduckZipSpanExporter,
    SessionJournal,
    base_metadata,
    finalize,
    flush_interval,
    new_session_id,
    recordings_dir,
    remove_stale_temps,
    signing_key,
    write_session_zip,
)
from opentelemetry import trace
from opentelemetry.trace import Link, Span

from devduck_otel import _attributes as A
from devduck_otel._guard import guard
from devduck_otel.capture._events import EventSink, own_limits
from devduck_otel.capture._snapshot import MessageEncoder, capture_snapshot
from devduck_otel.capture._snapshot_event import MessageTexts, snapshot_attributes
from devduck_otel.exceptions import ConfigurationError, RecordingStateError
from devduck_otel.redaction._redactor import Redactor
from devduck_otel.session import _jsonsafe
from devduck_otel.tracing._provider import TracingSetup, setup_tracing
from devduck_otel.version import __version__

_EMIT_GUARD = guard("recording an event")
_FLUSH_GUARD = guard("flushing the tracer provider")
_SNAPSHOT_GUARD = guard("taking a snapshot")


class Recorder:
    """A running recording. Create it through ``devduck_otel.start_recording``.

    Attributes:
        session_id: The session's id (also ``gen_ai.conversation.id``).
        tracer: The tracer for devduck spans.
        capture_content: Whether content travels on OTel span events to collectors.
    """

    def __init__(
        self,
        *,
        session_id: str | None = None,
        directory: str | Path | None = None,
        redactor: Redactor | None = None,
        capture_content: bool = False,
        tracer_provider: Any = None,
        parent_session: str | None = None,
        parent_snapshot: int | None = None,
        links: Sequence[Link] = (),
        adopt: DevduckZipSpanExporter | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.redactor = redactor or Redactor.from_env()
        self.capture_content = capture_content
        self.pickler = self.redactor.dill_dumps  # bound once: pickled values are redacted too
        self._encoders: dict[int, MessageEncoder] = {}
        self._texts = MessageTexts()
        self.links = tuple(links)
        self.start_monotonic = time.monotonic()
        if adopt is not None:
            self.journal = adopt.journal
            self.journal.set_redactor(self.redactor)
            self.exporter = adopt
        else:
            extra = dict(metadata or {}, parent_session=parent_session)
            extra["parent_snapshot"] = parent_snapshot
            self.journal = self._new_journal(session_id, directory, extra)
            self.exporter = DevduckZipSpanExporter(self.journal)
        self.session_id = self.journal.session_id
        self.directory = self.journal.path.parent
        self._snapshot_ids = itertools.count(1)
        self.snapshot_count = 0
        self._call_ids = itertools.count(1)
        self._stopped = False
        self._lock = threading.Lock()
        self.tracing: TracingSetup | None = None
        self.tracer: trace.Tracer = trace.NoOpTracer()
        if adopt is None:
            try:
                self.tracing = setup_tracing(
                    self.exporter.processor(capture_content=capture_content),
                    redactor=self.redactor,
                    capture_content=capture_content,
                    tracer_provider=tracer_provider,
                )
            except BaseException:
                self.journal.abandon()
                _remove_quietly(self.journal.path)
                raise
            if self.tracing is not None:
                provider = self.tracing.tracer_provider
                self.tracer = own_limits(provider.get_tracer("devduck_otel", __version__))
        else:
            self.tracer = own_limits(trace.get_tracer("devduck_otel", __version__))
        self.events = EventSink(self.tracer)
        self.journal.before_flush = self.events.rotate

    def _new_journal(
        self, session_id: str | None, directory: str | Path | None, extra: dict[str, Any]
    ) -> SessionJournal:
        try:
            signing_key()
        except BlankSigningKeyError as exc:
            raise ConfigurationError(str(exc)) from None
        folder = recordings_dir(directory)
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(folder)  # of ZIP writes interrupted by a crash
        start = datetime.now(timezone.utc).astimezone()
        sid = session_id or new_session_id()
        if (folder / f"{sid}.zip").exists() and session_id is not None:
            raise RecordingStateError(
                f"session {sid!r} already has a ZIP in {folder}; "
                "choose another session_id (a finished session is never replaced)"
            )
        meta = base_metadata(sid, start)
        meta.update(extra)
        try:
            return SessionJournal(
                folder,
                sid,
                meta,
                redactor=self.redactor,
                flush_interval=flush_interval(),
            )
        except FileExistsError:
            raise RecordingStateError(
                f"session {sid!r} is already being recorded in {folder} (by this or "
                "another process); choose another session_id"
            ) from None

    @property
    def stopped(self) -> bool:
        """Whether the recording has been stopped."""
        return self._stopped

    def next_call_id(self) -> str:
        """Return a fresh tool call id for this session."""
        return f"call_{next(self._call_ids)}"

    def emit(
        self,
        layer: A.Layer,
        event_type: str,
        data: Mapping[str, Any],
        *,
        span: Span | None = None,
        timestamp_ns: int | None = None,
        span_attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """Record one event, as a span event on ``span`` (or the current span).

        Never raises: internal failures are logged (re-raised under tests).
        """
        with _EMIT_GUARD:
            ts = timestamp_ns or time.time_ns()
            target = span if span is not None else trace.get_current_span()
            attrs: dict[str, Any] = {
                A.DEVDUCK_LAYER: layer,
                A.DEVDUCK_EVENT_TYPE: event_type,
                A.DEVDUCK_CONTENT: _jsonsafe.dumps(data, self.pickler).decode(),
            }
            if span_attributes:
                attrs.update(span_attributes)
            self.events.add(target, event_type, attrs, ts)

    def take_snapshot(
        self,
        agent: Any = None,
        description: str = "",
        *,
        last_query: Any = "",
        last_result: Any = "",
    ) -> int:
        """Snapshot ``agent`` (any object with a ``messages`` list) and return its id.

        The snapshot is on disk (in the journal) when this returns. A failure to
        capture the agent is logged and never raised into the caller.
        """
        with self._lock:
            snapshot_id = next(self._snapshot_ids)
            self.snapshot_count = snapshot_id
        current = trace.get_current_span()
        with _SNAPSHOT_GUARD:
            if current.is_recording():
                self._snapshot_in(current, snapshot_id, agent, description, last_query, last_result)
            else:
                with self.tracer.start_as_current_span(
                    "snapshot",
                    attributes={A.DEVDUCK_LAYER: "agent", A.DEVDUCK_EVENT_TYPE: "snapshot.created"},
                ) as span:
                    self._snapshot_in(
                        span, snapshot_id, agent, description, last_query, last_result
                    )
        self.flush()
        return snapshot_id

    def _snapshot_in(
        self,
        span: Span,
        snapshot_id: int,
        agent: Any,
        description: str,
        last_query: Any,
        last_result: Any,
    ) -> None:
        captured = capture_snapshot(
            agent,
            snapshot_id=snapshot_id,
            description=description,
            last_query=last_query,
            last_result=last_result,
            redactor=self.redactor,
            pickler=self.pickler,
            encoder=self._encoder_for(agent),
        )
        attributes, _ = snapshot_attributes(captured, self._texts, description)
        self.events.add(span, "snapshot.created", attributes, time.time_ns())

    def _encoder_for(self, agent: Any) -> MessageEncoder:
        # Keyed by id: the encoder checks content, so a reused id costs only a re-encode.
        encoder = self._encoders.get(id(agent))
        if encoder is None:
            encoder = self._encoders[id(agent)] = MessageEncoder(self.pickler)
        return encoder

    def flush(self) -> None:
        """Write everything recorded so far to the journal; failures are logged once."""
        self.events.rotate()
        self.journal.flush_or_report()

    def status(self) -> dict[str, Any]:
        """Return ``session_id``, ``recording``, ``events``, ``snapshots`` and ``duration``."""
        if not self._stopped:
            self.flush()
        return {
            "session_id": self.session_id,
            "recording": not self._stopped,
            "events": self.journal.total_events,
            "snapshots": self.snapshot_count,
            "duration": round(time.monotonic() - self.start_monotonic, 3),
            "journal": str(self.journal.path),
        }

    def export(self, output_path: str | Path | None = None) -> Path:
        """Write a complete ZIP of everything so far; recording goes on."""
        if self.tracing is not None:
            self.tracing.force_flush()
        self.events.rotate()
        target = Path(output_path) if output_path else self.directory / f"{self.session_id}.zip"
        try:
            self.journal.flush()
            return write_session_zip(
                self.journal.path,
                target,
                stopped=False,
                signing_key=signing_key(),
                prepared=self.journal.prepared,
            )
        except OSError as exc:
            raise _write_failure(exc, target, self.journal, stopped=False) from exc

    def stop(self, output_path: str | Path | None = None) -> Path:
        """End the recording, write its ZIP, and remove the journal."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("recording already stopped")
            self._stopped = True
        self.events.rotate()
        if self.tracing is not None:
            self.tracing.force_flush()
            self.tracing.shutdown()
        else:  # an adopted exporter: the ended carriers may wait in a batch processor
            _flush_global_provider()
        if self.exporter.owns_journal:
            # Zero-code: the exporter made by the SDK owns the session and writes it.
            self.exporter.shutdown()
            if self.exporter.zip_path is None:
                raise OSError(
                    f"could not write the session ZIP; journal kept at {self.journal.path}"
                )
            return self.exporter.zip_path
        self.exporter.shutdown()
        target = Path(output_path) if output_path else None
        try:
            return finalize(self.journal, target)
        except OSError as exc:
            self.journal.abandon()
            default = self.journal.path.with_name(f"{self.session_id}.zip")
            raise _write_failure(exc, target or default, self.journal, stopped=True) from exc


def _flush_global_provider() -> None:
    provider = trace.get_tracer_provider()
    flush = getattr(provider, "force_flush", None)
    if callable(flush):
        with _FLUSH_GUARD:
            flush()


def _remove_quietly(path: Path) -> None:
    for child in sorted(path.rglob("*"), reverse=True):
        try:
            child.rmdir() if child.is_dir() else child.unlink()
        except OSError:
            continue
    try:
        path.rmdir()
    except OSError:
        return


def _write_failure(
    exc: OSError, target: Path, journal: SessionJournal, *, stopped: bool
) -> OSError:
    """An ``OSError`` (same errno) that says which ZIP failed, why, and what is left."""
    parts = [f"could not write the session ZIP {target}: {exc.strerror or exc}"]
    if journal.write_error is not None:
        parts.append(
            f"the journal {journal.path} could not be written ({journal.write_error}), "
            "so events recorded since then may be missing"
        )
    parts.append("the previous file at that path, if any, is unchanged")
    if not stopped:
        parts.append("the recording goes on")
    elif journal.path.is_dir():
        parts.append(f"the journal is kept at {journal.path} (`devduck-otel recover` reads it)")
    else:
        parts.append(f"the journal {journal.path} is gone too (its folder was removed)")
    return OSError(exc.errno, "; ".join(parts))
