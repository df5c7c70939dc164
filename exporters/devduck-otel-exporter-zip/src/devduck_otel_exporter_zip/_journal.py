"""The live journal: what the exporter receives streams to disk while the agent runs.

It is fed spans: live ones (registered at start and read part-way at each flush, so
that after ``kill -9`` the events of a span that never ended are on disk) and ended
ones (frozen). The ``events.jsonl`` lines, messages, snapshots and blobs are derived
from them at each flush: every ``flush_interval`` (``DEVDUCK_FLUSH_INTERVAL``, 0.2 s)
on the flush thread, on the ending thread when ``WAKE_PENDING`` spans wait, and in
:meth:`SessionJournal.flush` (a snapshot calls it before it returns). The flush thread
also compresses the ZIP's two big entries as they grow (``_prezip``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

import orjson
from opentelemetry.sdk.trace import ReadableSpan

from devduck_otel_exporter_zip import schema as F
from devduck_otel_exporter_zip._derive import (
    Line,
    encode_line,
    end_lines,
    event_line,
    start_lines,
    tool_lines,
)
from devduck_otel_exporter_zip._files import JournalFiles, append_once, write_json_atomic
from devduck_otel_exporter_zip._prezip import PreparedStreams
from devduck_otel_exporter_zip._records import SpanRecord
from devduck_otel_exporter_zip._redacting import Redacting, SessionRedactor
from devduck_otel_exporter_zip._snapshots import SnapshotStore

logger = logging.getLogger("devduck_otel_exporter_zip")

MAX_PENDING: Final = 4096
"""Ended spans waiting above which the ending thread flushes inline (bounds memory)."""
WAKE_PENDING: Final = 128
"""Ended spans waiting at which the ending thread writes them (or wakes the flush thread
when a flush is under way), so that a burst is derived as it comes and ``stop`` finds
little left to do."""

_journals: weakref.WeakSet[SessionJournal] = weakref.WeakSet()


@dataclass(slots=True)
class _Live:
    span: ReadableSpan
    call_done: bool = False
    """Whether the span's ``tool.call`` line was derived already."""
    events_done: int = 0
    """Events already written, counted from the span's first event (dropped ones too)."""


class SessionJournal:
    """Append-only journal directory of one recording, fed spans from any thread.

    Args:
        directory: The recordings folder; the journal is ``<session_id>.journal`` there.
        session_id: The session's id.
        metadata: What is known at start (``meta.json``).
        redactor: Applied to every value before it reaches disk.
        flush_interval: Seconds between background flushes.

    Raises:
        FileExistsError: A journal of that session id already exists there.
    """

    def __init__(
        self,
        directory: Path,
        session_id: str,
        metadata: dict[str, Any],
        *,
        redactor: SessionRedactor | None = None,
        flush_interval: float = 0.2,
    ) -> None:
        self.session_id = session_id
        self.path = Path(directory) / f"{session_id}{F.JOURNAL_SUFFIX}"
        self.path.mkdir(parents=True, exist_ok=False)
        (self.path / F.JOURNAL_BLOBS).mkdir()
        self.metadata = dict(metadata)
        write_json_atomic(self.path / F.JOURNAL_META, self.metadata)
        self.redacting = Redacting(redactor)
        self.files = JournalFiles(self.path)
        self.prepared = PreparedStreams(self.path)
        """The ZIP's big entries, compressed as the journal grows (see ``_prezip``)."""
        self.snapshots = SnapshotStore(self.path, self.files, self.redacting)
        self._ended: list[SpanRecord] = []
        self._session_lines: list[Line] = [
            _session_line("session.start", {"session_id": session_id})
        ]
        self._started_ns = self._session_lines[0].timestamp_ns
        self._live: dict[int, _Live] = {}
        self._lock = threading.Lock()
        self._io_lock = threading.RLock()
        self._count = 0
        self._closed = False
        self._forked = False
        self._in_flush = False
        self._flush_wanted = False
        self.owner_pid = os.getpid()
        self.before_flush: Callable[[], None] | None = None
        """Called at the start of each flush (the recorder ends its carrier spans there)."""
        self.write_error: Exception | None = None
        """The first failure to write the journal (a full disk, say), or ``None``."""
        self._wake = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(max(flush_interval, 0.01),),
            daemon=True,
            name=f"devduck-journal-{session_id}",
        )
        self._thread.start()
        _journals.add(self)

    @property
    def total_events(self) -> int:
        """Event lines written so far."""
        return self._count

    @property
    def closed(self) -> bool:
        """Whether the journal has been closed (or belongs to the parent of a fork)."""
        return self._closed

    @property
    def forked(self) -> bool:
        """Whether this process is a fork of the one that owns the journal."""
        return self._forked

    def set_redactor(self, redactor: SessionRedactor | None) -> None:
        """Redact everything written from now on with ``redactor``."""
        self.redacting = Redacting(redactor)
        self.snapshots.redacting = self.redacting

    # -- feeding ----------------------------------------------------------------------

    def span_started(self, span: ReadableSpan) -> None:
        """Register a live span: its events are written while it runs."""
        ctx = span.get_span_context()
        if ctx is None or self._closed:
            return
        with self._lock:
            self._live[ctx.span_id] = _Live(span)

    def span_ended(self, span: ReadableSpan) -> None:
        """Queue an ended span, frozen as it is now."""
        if self._closed:
            return
        record = SpanRecord.freeze(span)
        with self._lock:
            self._ended.append(record)
            pending = len(self._ended)
        if pending == WAKE_PENDING:
            self._flush_burst()
        elif pending >= MAX_PENDING:
            self.flush_or_report()

    def _flush_burst(self) -> None:
        """Write a burst of ended spans on the thread that ends them, unless one is writing.

        Deriving is Python work: on the flush thread it would hold the GIL the agent's
        thread waits for, and each hand-over of the GIL costs more than the work moved.
        While another flush runs (or this thread is inside one), the flush thread is
        woken to write the burst, so the ending thread never waits for a write; after
        a burst written here it is woken to compress the ZIP's entries (``_prezip``).
        """
        if not self._in_flush and self._io_lock.acquire(blocking=False):
            try:
                self.flush_or_report()
            finally:
                self._io_lock.release()
        else:
            self._flush_wanted = True
        self._wake.set()  # to compress what was written, or to write the burst

    def mark_stopped(self) -> None:
        """Queue the ``session.stop`` line (duration and event count) before closing."""
        with self._io_lock:
            self.flush()  # every line before it is counted
            line = _session_line("session.stop", {})
            data = {
                "duration": round((line.timestamp_ns - self._started_ns) / 1e9, 6),
                "events": self._count + 1,
            }
            with self._lock:
                self._session_lines.append(line._replace(data=orjson.dumps(data)))

    # -- writing ----------------------------------------------------------------------

    def flush(self) -> None:
        """Derive and write everything received so far, then flush the files."""
        with self._io_lock:
            if self._closed:
                return
            self._in_flush = True
            try:
                self._flush()
            finally:
                self._in_flush = False

    def _flush(self) -> None:
        if self.before_flush is not None:
            self.before_flush()
        with self._lock:
            ended, self._ended = self._ended, []
            session_lines, self._session_lines = self._session_lines, []
            live = {sid: state for sid, state in self._live.items() if state.span.end_time is None}
            states = [self._live.pop(_span_id(record), None) for record in ended]
        lines: list[Line] = session_lines
        for record, state in zip(ended, states, strict=True):
            self._derive(record, state, lines)
        for state in live.values():
            record = SpanRecord.freeze(state.span)
            if not record.ended:  # one that ended just now comes frozen, next flush
                self._derive(record, state, lines)
        self._write(lines, ended)

    def _derive(self, record: SpanRecord, state: _Live | None, out: list[Line]) -> None:
        fast = tool_lines(record, started=state is not None and state.call_done)
        if fast is not None:  # most tool calls
            out.extend(fast)
            return
        state = state or _Live(record.span)
        if not state.call_done and (first_lines := start_lines(record)):
            out.extend(first_lines)
            state.call_done = True
        first = record.dropped_events
        for index, event in enumerate(record.events, start=first):
            if index < state.events_done:
                continue
            line = event_line(record, event)
            if line is not None:
                if line.event_type == F.EVENT_SNAPSHOT:
                    self.snapshots.store(record, event)
                out.append(line)
        state.events_done = max(state.events_done, first + len(record.events))
        if record.ended:
            out.extend(end_lines(record, started=state.call_done))

    def _write(self, lines: list[Line], spans: list[SpanRecord]) -> None:
        encoded: list[bytes] = []
        span_lines: list[bytes] = []
        if lines:
            lines.sort(key=itemgetter(0))  # by time, stable: the ZIP's order is the same
            lines = self.redacting.lines(lines)
            encoded = [encode_line(line) for line in lines]
            self.files.append(F.JOURNAL_EVENTS, encoded)
            self._count += len(lines)
        if spans:
            span_lines = self.files.span_lines(spans, self.redacting)
            self.files.append(F.JOURNAL_SPANS, span_lines)
        try:
            self.files.flush()
        except BaseException:  # lines wait to be written again: the streams must not see them
            self.prepared.drop("a journal write failed")
            raise
        else:
            self.prepared.feed(lines, encoded, span_lines)
        finally:  # blobs too, even when the lines could not be written (both wait)
            self.snapshots.write_blobs()

    def _run(self, interval: float) -> None:
        while not self._closed:
            woken = self._wake.wait(interval)
            self._wake.clear()
            if self._closed or self._forked:
                return
            if not woken or self._flush_wanted:  # the interval is up, or a burst waits
                self._flush_wanted = False
                self.flush_or_report()
            self.prepared.drain()  # zlib, without the GIL, beside the agent

    def flush_or_report(self) -> None:
        """Flush; a failure is logged once per journal and never raised to the caller."""
        try:
            self.flush()
        except Exception as exc:  # the flush thread must never die, the agent never fail
            self.report_write_error(exc)

    def report_write_error(self, exc: Exception) -> None:
        """Log a failure to write the journal once; later ones go to debug."""
        with self._lock:
            first = self.write_error is None
            if first:
                self.write_error = exc
        if first:
            logger.error(
                "devduck-otel: cannot write the journal %s (%s); what is recorded from now "
                "on is kept in memory and written when the disk accepts it again",
                self.path,
                exc,
            )
        else:
            logger.debug("devduck-otel: journal write failed again: %r", exc)

    def update_metadata(self, **values: Any) -> None:
        """Merge ``values`` into ``meta.json``."""
        with self._io_lock:
            self.metadata.update(values)
            if not self._forked:
                write_json_atomic(self.path / F.JOURNAL_META, self.metadata)

    def close(self) -> None:
        """Flush and close the journal files (idempotent).

        The files are closed and the flush thread stopped even when the last flush
        fails; that failure is then raised.
        """
        error: Exception | None = None
        with self._io_lock:
            if self._closed:
                return
            try:
                self.flush()
            except Exception as exc:
                error = exc
            self._closed = True
            error = self.files.close(sync=error is None) or error
            if error is not None:
                self.prepared.drop(f"the journal did not close ({error!r})")
            self.prepared.close()
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        if error is not None:
            raise error

    def abandon(self) -> None:
        """Close without writing, and stop the flush thread (the journal may be gone)."""
        with self._io_lock:
            self._closed = True
            self.files.close(sync=False)
            self.prepared.drop("the journal was abandoned")
        self._wake.set()
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout=5)

    def write_from_child(
        self, event_type: str, data: dict[str, Any], ids: tuple[str | None, ...]
    ) -> None:
        """In a forked child: append one event line for the parent's session (exec only).

        A child that replaces itself with another program (``fork`` + ``exec``, as
        ``pty.spawn`` and shells do) cannot reach the parent's exporter; the program it
        runs is written, redacted, with one ``O_APPEND`` write to a file of its own
        that the ZIP merges in time order. Nothing else of a child is recorded.

        Args:
            event_type: The event type (``process.spawn``).
            data: The event data.
            ids: Trace, span and parent span ids (hex) of the span current at the fork.
        """
        if not self._forked or not self.path.is_dir():
            return
        line = Line(time.time_ns(), "sys", event_type, orjson.dumps(data), *ids[:3])
        (line,) = self.redacting.lines([line])
        append_once(self.path / F.JOURNAL_CHILD_EVENTS, encode_line(line) + b"\n")

    def _forget_after_fork(self) -> None:
        """In a forked child: the journal is the parent's; never write or remove it."""
        self._forked = True
        self._closed = True
        self._ended = []
        self._live = {}
        self.files.forget()
        self.prepared.forget()


def _span_id(record: SpanRecord) -> int:
    ctx = record.span.get_span_context()
    return ctx.span_id if ctx is not None else 0  # 0 is no span id


def _session_line(event_type: str, data: dict[str, Any]) -> Line:
    """A session-level line, filed under no span (the journal itself knows these)."""
    return Line(time.time_ns(), "agent", event_type, orjson.dumps(data), None, None, None)


def _after_fork_in_child() -> None:
    for journal in list(_journals):
        journal._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
