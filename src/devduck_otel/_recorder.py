"""One recording: its journal, its tracer, its snapshots; ``active()`` finds it."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from devduck_otel_exporter_zip import (
    DevduckZipSpanExporter,
    SessionJournal,
    base_metadata,
    finalize,
    flush_interval,
    new_session_id,
    recordings_dir,
    signing_key,
    write_session_zip,
)
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, Span

from devduck_otel import _attributes as A
from devduck_otel._guard import guard
from devduck_otel.capture._snapshot import MessageEncoder, capture_snapshot
from devduck_otel.redaction._redactor import Redactor
from devduck_otel.session import _jsonsafe
from devduck_otel.tracing._provider import TracingSetup, setup_tracing
from devduck_otel.version import __version__

_EMIT_GUARD = guard("recording an event")


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
    ) -> None:
        self.redactor = redactor or Redactor.from_env()
        self.capture_content = capture_content
        self.pickler = self.redactor.dill_dumps  # bound once: pickled values are redacted too
        self._encoders: dict[int, MessageEncoder] = {}
        self.links = tuple(links)
        self.start_monotonic = time.monotonic()
        if adopt is not None:
            self.journal = adopt.journal
            self.journal.redact = self.redactor.redact_bytes
            self.exporter = adopt
        else:
            self.journal = self._new_journal(session_id, directory, parent_session, parent_snapshot)
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
            self.tracing = setup_tracing(
                SimpleSpanProcessor(self.exporter),
                redactor=self.redactor,
                capture_content=capture_content,
                tracer_provider=tracer_provider,
            )
            if self.tracing is not None:
                self.tracer = self.tracing.tracer_provider.get_tracer("devduck_otel", __version__)
        else:
            self.tracer = trace.get_tracer("devduck_otel", __version__)

    def _new_journal(
        self,
        session_id: str | None,
        directory: str | Path | None,
        parent_session: str | None,
        parent_snapshot: int | None,
    ) -> SessionJournal:
        folder = recordings_dir(directory)
        folder.mkdir(parents=True, exist_ok=True)
        start = datetime.now(timezone.utc).astimezone()
        sid = session_id or new_session_id()
        meta = base_metadata(sid, start)
        meta.update(parent_session=parent_session, parent_snapshot=parent_snapshot)
        return SessionJournal(
            folder, sid, meta, redact=self.redactor.redact_bytes, flush_interval=flush_interval()
        )

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
        """Record one event in the journal and as an event on ``span`` (or the current span).

        Never raises: internal failures are logged (re-raised under tests).
        """
        with _EMIT_GUARD:
            ts = timestamp_ns or time.time_ns()
            span = span if span is not None else trace.get_current_span()
            ctx = span.get_span_context()
            parent = getattr(span, "parent", None)
            data_json = _jsonsafe.dumps(data, self.pickler)
            self.journal.append_event(
                ts,
                layer,
                event_type,
                data_json,
                ctx.trace_id or None,
                ctx.span_id or None,
                parent.span_id if parent is not None else None,
            )
            if span.is_recording():
                attrs: dict[str, Any] = {A.DEVDUCK_LAYER: layer, A.DEVDUCK_EVENT_TYPE: event_type}
                if span_attributes:
                    attrs.update(span_attributes)
                if self.capture_content:
                    attrs[A.DEVDUCK_CONTENT] = data_json.decode("utf-8", "replace")
                span.add_event(event_type, attrs, ts)

    def take_snapshot(
        self,
        agent: Any = None,
        description: str = "",
        *,
        last_query: Any = "",
        last_result: Any = "",
    ) -> int:
        """Snapshot ``agent`` (any object with a ``messages`` list) and return its id."""
        with self._lock:
            snapshot_id = next(self._snapshot_ids)
            self.snapshot_count = snapshot_id
        current = trace.get_current_span()
        if current.is_recording():
            self._snapshot_in(current, snapshot_id, agent, description, last_query, last_result)
        else:
            with self.tracer.start_as_current_span(
                "snapshot",
                attributes={A.DEVDUCK_LAYER: "agent", A.DEVDUCK_EVENT_TYPE: "snapshot.created"},
            ) as span:
                self._snapshot_in(span, snapshot_id, agent, description, last_query, last_result)
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
        ctx = span.get_span_context()
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
        captured.record["trace_id"] = f"{ctx.trace_id:032x}" if ctx.trace_id else None
        captured.record["span_id"] = f"{ctx.span_id:016x}" if ctx.span_id else None
        try:
            if captured.state_blob is not None:
                captured.record["state_blob"] = self.journal.write_blob(captured.state_blob)
            digest, size, _ = self.journal.append_snapshot(captured.record, captured.messages)
        except OSError as exc:  # a full disk: the agent goes on, the journal logs it once
            self.journal.report_write_error(exc)
            return
        data = {
            "snapshot_id": snapshot_id,
            "description": description,
            "messages_captured": len(captured.messages),
            "has_system_prompt": bool(captured.record.get("system_prompt")),
            "sha256": digest,
            "size": size,
        }
        self.emit(
            "agent",
            "snapshot.created",
            data,
            span=span,
            span_attributes={
                A.DEVDUCK_SNAPSHOT_ID: snapshot_id,
                A.DEVDUCK_SNAPSHOT_SHA256: digest,
                A.DEVDUCK_SNAPSHOT_SIZE: size,
                A.DEVDUCK_SNAPSHOT_DESCRIPTION: description,
            },
        )
        self.journal.flush_or_report()

    def _encoder_for(self, agent: Any) -> MessageEncoder:
        # Keyed by id: the encoder checks content, so a reused id costs only a re-encode.
        encoder = self._encoders.get(id(agent))
        if encoder is None:
            encoder = self._encoders[id(agent)] = MessageEncoder(self.pickler)
        return encoder

    def status(self) -> dict[str, Any]:
        """Return ``session_id``, ``recording``, ``events``, ``snapshots`` and ``duration``."""
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
        target = Path(output_path) if output_path else self.directory / f"{self.session_id}.zip"
        try:
            self.journal.flush()
            return write_session_zip(
                self.journal.path, target, stopped=False, signing_key=signing_key()
            )
        except OSError as exc:
            raise _write_failure(exc, target, self.journal, stopped=False) from exc

    def stop(self, output_path: str | Path | None = None) -> Path:
        """End the recording, write its ZIP, and remove the journal."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("recording already stopped")
            self._stopped = True
        if self.tracing is not None:
            self.tracing.force_flush()
            self.tracing.shutdown()
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
            default = self.journal.path.with_name(f"{self.session_id}.zip")
            raise _write_failure(exc, target or default, self.journal, stopped=True) from exc


def _write_failure(
    exc: OSError, target: Path, journal: SessionJournal, *, stopped: bool
) -> OSError:
    """An ``OSError`` (same errno) that says which ZIP failed, why, and what is left."""
    parts = [f"could not write the session ZIP {target}: {exc.strerror or exc}"]
    if journal.write_error is not None:
        parts.append(
            f"the journal {journal.path} could not be written ({journal.write_error}), "
            "so events recorded since then are missing"
        )
    parts.append("the previous file at that path, if any, is unchanged")
    if stopped:
        parts.append(f"the journal is kept at {journal.path} (`devduck-otel recover` reads it)")
    else:
        parts.append("the recording goes on")
    return OSError(exc.errno, "; ".join(parts))
