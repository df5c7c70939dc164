"""The live journal: every event streams to disk while the agent runs.

Flush policy: pending events are written and flushed to the OS by a background
thread every ``flush_interval`` seconds (``DEVDUCK_FLUSH_INTERVAL``, default 0.2 s),
inline when more than ``MAX_PENDING`` wait, before ``append_snapshot`` returns, and at
export. A process killed with ``kill -9`` loses at most the events of the last
interval; everything flushed before is recovered by ``recover_journal``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, Final

import orjson
from opentelemetry.sdk.trace import ReadableSpan

from devduck_otel_exporter_zip._otlpjson import compact_span, resource_line

logger = logging.getLogger("devduck_otel_exporter_zip")

Redact = Callable[[bytes], bytes]

MAX_PENDING: Final = 4096
"""Pending events above which the appending thread flushes inline (bounds memory)."""

JOURNAL_SUFFIX: Final = ".journal"
FILES: Final = ("events.jsonl", "spans.jsonl", "messages.jsonl", "snapshots.jsonl")


def _hex_or_null(value: int | None, width: int) -> bytes:
    if not value:
        return b"null"
    return b'"%0*x"' % (width, value)


@functools.lru_cache(maxsize=1024)
def _encoded(name: str) -> bytes:
    """JSON-encode a layer or event type once (they repeat on every event)."""
    return orjson.dumps(name)


def write_json_atomic(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON to ``path`` through a temp file and rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)


class SessionJournal:
    """Append-only journal directory of one recording, safe from any thread."""

    def __init__(
        self,
        directory: Path,
        session_id: str,
        metadata: dict[str, Any],
        *,
        redact: Redact | None = None,
        flush_interval: float = 0.2,
    ) -> None:
        self.session_id = session_id
        self.path = Path(directory) / f"{session_id}{JOURNAL_SUFFIX}"
        self.path.mkdir(parents=True, exist_ok=False)
        (self.path / "blobs").mkdir()
        self.metadata = dict(metadata)
        write_json_atomic(self.path / "meta.json", self.metadata)
        self.redact: Redact | None = redact
        self._files: dict[str, IO[bytes]] = {
            name: open(self.path / name, "ab", buffering=1 << 16)  # noqa: SIM115 - kept open
            for name in FILES
        }
        self._pending: list[bytes] = []
        self._pending_spans: list[ReadableSpan] = []
        self._lock = threading.Lock()
        self._io_lock = threading.RLock()
        self._seq = 0
        self._since_snapshot = 0
        self._message_rows: dict[bytes, tuple[int, bytes]] = {}
        self._resources: dict[int, tuple[int, Any]] = {}
        self._closed = False
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

    @property
    def total_events(self) -> int:
        """Events appended so far."""
        return self._seq

    @property
    def closed(self) -> bool:
        """Whether the journal has been closed."""
        return self._closed

    def append_event(
        self,
        timestamp_ns: int,
        layer: str,
        event_type: str,
        data_json: bytes,
        trace_id: int | None,
        span_id: int | None,
        parent_span_id: int | None,
    ) -> None:
        """Queue one event line; ``data_json`` is the event's data as JSON bytes."""
        with self._lock:
            if self._closed:
                return
            self._seq += 1
            self._since_snapshot += 1
            self._pending.append(
                b'{"timestamp_ns":%d,"layer":%b,"event_type":%b,"data":%b,"trace_id":%b,'
                b'"span_id":%b,"parent_span_id":%b,"seq":%d}'
                % (
                    timestamp_ns,
                    _encoded(layer),
                    _encoded(event_type),
                    data_json,
                    _hex_or_null(trace_id, 32),
                    _hex_or_null(span_id, 16),
                    _hex_or_null(parent_span_id, 16),
                    self._seq,
                )
            )
            full = len(self._pending) >= MAX_PENDING
        if full:
            self.flush_or_report()

    def append_span(self, span: ReadableSpan) -> None:
        """Queue one ended span; it is encoded as OTLP JSON off the hot path."""
        with self._lock:
            if self._closed:
                return
            self._pending_spans.append(span)
            full = len(self._pending_spans) >= MAX_PENDING
        if full:
            self.flush_or_report()

    def append_snapshot(
        self, record: dict[str, Any], messages: Sequence[bytes]
    ) -> tuple[str, int, int]:
        """Write a snapshot and its messages (content-addressed), then flush everything.

        Args:
            record: The snapshot record without its messages.
            messages: Each message as compact JSON bytes.

        Returns:
            The snapshot's sha256 (hex), its size in bytes, and the number of events
            recorded since the previous snapshot.
        """
        with self._io_lock:
            self._flush_locked()
            digests, ranges, size = self._store_messages(messages)
            with self._lock:
                since, self._since_snapshot = self._since_snapshot, 0
            record = dict(record, agent_messages_ref=ranges, events_since_last=since)
            core = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
            if self.redact is not None:
                core = self.redact(core)
            digest = hashlib.sha256(core + b"".join(digests)).hexdigest()
            size += len(core)
            line = core[:-1] + b',"sha256":"%b","size":%d}' % (digest.encode(), size)
            self._write("snapshots.jsonl", [line])
            self._flush_files()
        return digest, size, since

    def _store_messages(
        self, messages: Sequence[bytes]
    ) -> tuple[list[bytes], list[list[int]], int]:
        rows = self._message_rows
        new = [m for m in dict.fromkeys(messages) if m not in rows]
        if new:
            self._add_rows(new)
        digests: list[bytes] = []
        ranges: list[list[int]] = []
        size = 0
        for message in messages:
            row, digest = rows[message]
            digests.append(digest)
            size += len(message)
            if ranges and ranges[-1][1] == row:
                ranges[-1][1] = row + 1
            else:
                ranges.append([row, row + 1])
        return digests, ranges, size

    def _redacted(self, lines: list[bytes]) -> list[bytes]:
        """Redact JSON lines: one pass over the batch, line by line only if it matched."""
        if self.redact is None:
            return lines
        joined = b"[" + b",".join(lines) + b"]"
        if self.redact(joined) == joined:
            return lines
        return [self.redact(line) for line in lines]

    def _add_rows(self, new: list[bytes]) -> None:
        redacted = self._redacted(new)
        lines = []
        for original, clean in zip(new, redacted, strict=True):
            digest = hashlib.sha256(clean).digest()
            self._message_rows[original] = (len(self._message_rows), digest)
            lines.append(b'{"sha256":"%b","message":%b}' % (digest.hex().encode(), clean))
        self._write("messages.jsonl", lines)

    def write_blob(self, data: bytes) -> str:
        """Store a binary blob by content and return its ZIP entry name."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path / "blobs" / f"{digest}.dill"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return f"blobs/{digest}.dill"

    def update_metadata(self, **values: Any) -> None:
        """Merge ``values`` into ``meta.json``."""
        with self._io_lock:
            self.metadata.update(values)
            write_json_atomic(self.path / "meta.json", self.metadata)

    def flush(self) -> None:
        """Write and flush every pending event and span to disk."""
        with self._io_lock:
            self._flush_locked()
            self._flush_files()

    def _flush_locked(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
            spans, self._pending_spans = self._pending_spans, []
        if events:
            self._write("events.jsonl", self._redacted(events))
        if spans:
            self._write("spans.jsonl", self._span_lines(spans))

    def _span_lines(self, spans: list[ReadableSpan]) -> list[bytes]:
        lines = []
        for span in spans:
            known = self._resources.get(id(span.resource))
            if known is None:
                known = (len(self._resources), span.resource)
                self._resources[id(span.resource)] = known
                lines.append(resource_line(known[0], span))
            lines.append(compact_span(span, known[0]))
        return self._redacted(lines)

    def _write(self, name: str, lines: list[bytes]) -> None:
        if self._closed and not lines:
            return
        self._files[name].write(b"\n".join(lines) + b"\n")

    def _flush_files(self) -> None:
        for handle in self._files.values():
            if not handle.closed:
                handle.flush()

    def _run(self, interval: float) -> None:
        while not self._closed:
            self._wake.wait(interval)
            if self._closed:
                return
            self.flush_or_report()

    def flush_or_report(self) -> None:
        """Flush; a failure is logged once per journal and never raised to the caller."""
        try:
            self.flush()
        except Exception as exc:  # the flush thread must never die, the agent never fail
            self.report_write_error(exc)

    def report_write_error(self, exc: Exception) -> None:
        """Log a failure to write the journal (a full disk, say) once per journal.

        The first failure is kept in :attr:`write_error`; later ones are logged at debug.
        """
        with self._lock:
            first = self.write_error is None
            if first:
                self.write_error = exc
        if first:
            logger.error(
                "devduck-otel: cannot write the journal %s (%s); events recorded from "
                "now on may be lost, the agent goes on",
                self.path,
                exc,
                exc_info=exc,
            )
        else:
            logger.debug("devduck-otel: journal write failed again: %r", exc)

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
                self._flush_locked()
                self._flush_files()
            except Exception as exc:
                error = exc
            self._closed = True
            for handle in self._files.values():
                try:
                    if error is None:
                        os.fsync(handle.fileno())
                    handle.close()
                except OSError as exc:
                    error = error or exc
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        if error is not None:
            raise error
