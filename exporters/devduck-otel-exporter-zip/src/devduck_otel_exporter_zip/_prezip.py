"""The ZIP's two big entries, compressed on the flush thread while the journal grows.

Deflating ``events.jsonl`` and ``spans.otlp.jsonl`` is most of what writing the ZIP
costs. So right after each journal write succeeds, the same lines, in the form the
ZIP stores them, are queued for one raw deflate stream per entry (what
``ZIP_DEFLATED`` at level 1 writes); the flush thread compresses them, without the
GIL, beside the agent, and appends the output to a side file in the journal
(``events.jsonl.z``, ``spans.otlp.jsonl.z``), keeping the CRC-32 and size. Writing
the ZIP then compresses what is still queued, and copies those bytes and the
compressor's tail into the entry.

The side files are a cache. A stream is dropped for good (side file removed, the ZIP
written from the journal as before) when it could differ from what the journal gives:
a batch of events that starts before the last one written (each batch is sorted by
time first, so only a batch that overlaps the previous one does this), any failed
write of the journal or of the side file, anything unexpected. Recovery after a kill
never reads them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from devduck_otel_exporter_zip import schema as F
from devduck_otel_exporter_zip._ordering import EventCounter, numbered
from devduck_otel_exporter_zip._otlpjson import REQUEST_TAIL, request_head
from devduck_otel_exporter_zip._zipraw import LEVEL, PreparedEntry

if TYPE_CHECKING:
    from devduck_otel_exporter_zip._derive import Line

logger = logging.getLogger("devduck_otel_exporter_zip")

SPANS_PER_LINE: Final = 512
"""Spans in one ``ExportTraceServiceRequest`` line of ``spans.otlp.jsonl`` at most."""
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)


def span_line(
    line: bytes, resources: dict[bytes, bytes], scopes: dict[bytes, bytes]
) -> tuple[tuple[bytes, bytes], bytes] | None:
    """Read one ``spans.jsonl`` line: ``((resource, scope), span JSON)``.

    An ``R <n> <json>`` or ``S <n> <json>`` line goes into ``resources`` or ``scopes``
    and gives ``None``.
    """
    head, _, rest = line.partition(b" ")
    if head in (b"R", b"S"):
        index, _, value = rest.partition(b" ")
        (resources if head == b"R" else scopes)[index] = value
        return None
    scope, _, span = rest.partition(b" ")
    return (head, scope), span


def new_request(key: tuple[bytes, bytes], open_key: tuple[bytes, bytes] | None, count: int) -> bool:
    """Whether a span of ``key`` starts a new request after ``count`` spans of ``open_key``."""
    return open_key is None or key != open_key or count >= SPANS_PER_LINE


class _Deflate:
    """A raw deflate stream whose output is appended to a side file.

    ``feed`` only queues (it runs on whichever thread flushed the journal, often the
    agent's); ``drain`` compresses and writes, on the flush thread, where zlib runs
    without the GIL beside the agent.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = os.open(path, _OPEN_FLAGS, 0o600)
        self._zlib = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
        self.waiting: list[bytes] = []
        self.crc = 0
        self.size = 0
        self.length = 0

    def feed(self, data: bytes) -> None:
        self.waiting.append(data)

    def drain(self, waiting: list[bytes]) -> None:
        """Compress and write ``waiting`` (taken from :attr:`waiting`, in order)."""
        for data in waiting:
            self.crc = zlib.crc32(data, self.crc)
            self.size += len(data)
            out = self._zlib.compress(data)
            if self._fd is None:
                raise OSError(f"{self.path} is closed")
            view = memoryview(out)
            while view:
                view = view[os.write(self._fd, view) :]
            self.length += len(out)

    def entry(self, tail: bytes = b"", counter: EventCounter | None = None) -> PreparedEntry:
        """The entry so far (drained), closed by ``tail``; the live stream goes on."""
        end = self._zlib.copy()
        rest = end.compress(tail) + end.flush()
        return PreparedEntry(
            self.path,
            self.length,
            zlib.crc32(tail, self.crc),
            self.size + len(tail),
            rest,
            counter or EventCounter(),
        )

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


class _EventsStream:
    """``events.jsonl`` as the ZIP stores it: numbered lines joined by newlines."""

    def __init__(self, path: Path) -> None:
        self.deflate = _Deflate(path)
        self.counter = EventCounter()
        self.seq = 0
        self.last: int | None = None

    def feed(self, lines: list[Line], encoded: list[bytes]) -> bool:
        """Feed one batch, already in time order; ``False`` if it starts too early."""
        if self.last is not None and lines[0].timestamp_ns < self.last:
            return False
        (block,) = numbered([encoded], start=self.seq + 1)
        self.counter.count(block)
        data = b"\n".join(block)
        self.deflate.feed(b"\n" + data if self.seq else data)
        self.seq += len(block)
        self.last = lines[-1].timestamp_ns
        return True

    def entry(self) -> PreparedEntry:
        return self.deflate.entry(counter=self.counter.copy())


class _SpansStream:
    """``spans.otlp.jsonl``: journal span lines grouped into requests as they come."""

    def __init__(self, path: Path) -> None:
        self.deflate = _Deflate(path)
        self.resources: dict[bytes, bytes] = {}
        self.scopes: dict[bytes, bytes] = {}
        self.key: tuple[bytes, bytes] | None = None
        self.count = 0
        self.started = False

    def feed(self, lines: list[bytes]) -> bool:
        parts: list[bytes] = []
        for line in lines:
            item = span_line(line, self.resources, self.scopes)
            if item is None:
                continue
            key, span = item
            if new_request(key, self.key, self.count):
                if self.key is not None:
                    parts.append(REQUEST_TAIL)
                if self.started:
                    parts.append(b"\n")
                resource, scope = self.resources.get(key[0], b"{}"), self.scopes.get(key[1], b"{}")
                parts.append(request_head(resource, scope))
                self.key, self.count, self.started = key, 0, True
            else:
                parts.append(b",")
            parts.append(span)
            self.count += 1
        if parts:
            self.deflate.feed(b"".join(parts))
        return True

    def entry(self) -> PreparedEntry:
        return self.deflate.entry(REQUEST_TAIL if self.key is not None else b"")


_S = TypeVar("_S", _EventsStream, _SpansStream)


class PreparedStreams:
    """The compressed ``events.jsonl`` and ``spans.otlp.jsonl`` of one journal.

    Fed after each successful journal write (on the thread that flushed); compressed
    by :meth:`drain` on the flush thread; read (a consistent cut, the live streams
    going on) when a ZIP is written. Never raises: a failure drops the stream it
    concerns. Locks: ``_drain_lock`` (one compression at a time) before ``_lock``
    (the streams and their queues, held only briefly, so feeding never waits for zlib).

    Args:
        journal_dir: The journal directory the side files go in.
    """

    def __init__(self, journal_dir: Path) -> None:
        self._drain_lock = threading.Lock()
        self._lock = threading.Lock()
        self._events: _EventsStream | None = None
        self._spans: _SpansStream | None = None
        try:
            self._events = _EventsStream(journal_dir / F.JOURNAL_EVENTS_DEFLATE)
            self._spans = _SpansStream(journal_dir / F.JOURNAL_SPANS_DEFLATE)
        except OSError as exc:
            self.drop(f"cannot open a side file ({exc})")

    def feed(self, lines: list[Line], encoded: list[bytes], span_lines: list[bytes]) -> None:
        """Feed what the journal has just written: event lines (``Line`` and bytes), spans."""
        with self._lock:
            if lines and self._events is not None:
                self._events = self._fed(self._events, lambda s: s.feed(lines, encoded))
            if span_lines and self._spans is not None:
                self._spans = self._fed(self._spans, lambda s: s.feed(span_lines))

    @staticmethod
    def _fed(stream: _S, feed: Callable[[_S], bool]) -> _S | None:
        try:
            if feed(stream):
                return stream
            why = "a batch of events starts before the last one written"
        except Exception as exc:  # the flush thread must never fail for a cache
            why = f"{exc!r}"
        _remove(stream.deflate, why)
        return None

    def drain(self) -> None:
        """Compress and write what was fed since the last drain (the flush thread's job)."""
        with self._drain_lock:
            self._drain()

    def _drain(self) -> None:
        with self._lock:
            work = [
                (stream, stream.deflate.waiting)
                for stream in (self._events, self._spans)
                if stream is not None and stream.deflate.waiting
            ]
            for stream, _ in work:
                stream.deflate.waiting = []
        for stream, waiting in work:
            try:
                stream.deflate.drain(waiting)
            except Exception as exc:  # the flush thread must never fail for a cache
                with self._lock:
                    if self._events is stream:
                        self._events = None
                    if self._spans is stream:
                        self._spans = None
                _remove(stream.deflate, f"{exc!r}")

    def entries(self) -> tuple[PreparedEntry | None, PreparedEntry | None]:
        """The events and spans entries as compressed so far (``None``: not prepared)."""
        with self._drain_lock:
            self._drain()
            with self._lock:
                try:
                    events = self._events.entry() if self._events is not None else None
                    spans = self._spans.entry() if self._spans is not None else None
                except Exception as exc:  # never fail a ZIP for a cache: the old way then
                    logger.debug("devduck-otel: prepared entries unusable: %r", exc)
                    return None, None
                return events, spans

    def close(self) -> None:
        """Close the side files; what they hold stays usable by :meth:`entries`."""
        with self._drain_lock:
            self._drain()
            with self._lock:
                for stream in (self._events, self._spans):
                    if stream is not None:
                        stream.deflate.close()

    def drop(self, why: str) -> None:
        """Drop both streams for good and remove their side files."""
        with self._drain_lock, self._lock:
            for stream in (self._events, self._spans):
                if stream is not None:
                    _remove(stream.deflate, why)
            self._events = self._spans = None

    def forget(self) -> None:
        """In a forked child: close the descriptors, keep the parent's files (no lock)."""
        self._lock = threading.Lock()  # the parent's may have been held at the fork
        self._drain_lock = threading.Lock()
        for stream in (self._events, self._spans):
            if stream is not None:
                stream.deflate.close()
        self._events = self._spans = None


def _remove(deflate: _Deflate, why: str) -> None:
    logger.debug(
        "devduck-otel: %s dropped (the ZIP is written from the journal): %s", deflate.path, why
    )
    deflate.close()
    with contextlib.suppress(OSError):
        deflate.path.unlink(missing_ok=True)
