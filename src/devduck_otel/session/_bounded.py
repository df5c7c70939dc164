"""The one bounded reader of session lines: for ``load_session``, every CLI command and push.

An entry is read in chunks and cut into lines here, so no line longer than
:data:`~devduck_otel.session._zipsafe.MAX_LINE_BYTES` is ever held in memory (its
bytes are dropped as they stream past), and the number of lines is checked as they
come, before the memory for them is spent. The entry count of a ZIP is checked from
its end record before :mod:`zipfile` parses the central directory
(:func:`~devduck_otel.session._zipsafe.declared_entries`).

Example:
    >>> splitter = LineSplitter(max_line=4)
    >>> splitter.feed(b"ab" + bytes([10]) + b"toolong" + bytes([10]) + b"c")
    [b'ab', None]
    >>> splitter.close()
    [b'c']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from devduck_otel_exporter_zip import SPANS_ENTRY

from devduck_otel._config import env_int
from devduck_otel.environment_variables import DEVDUCK_LOAD_MAX_EVENTS
from devduck_otel.exceptions import SessionFormatError
from devduck_otel.session._zipsafe import MAX_LINE_BYTES, EntrySource

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_EVENTS",
    "MAX_MESSAGE_ROWS",
    "MAX_SPAN_REQUESTS",
    "MAX_SPANS",
    "LineSplitter",
    "entry_lines",
    "max_events",
    "span_request_lines",
    "split_chunks",
    "too_many",
]

MAX_DOCUMENT_BYTES: Final = MAX_LINE_BYTES
"""Largest JSON document entry read whole (``snapshots.json``): 64 MiB, as a line."""

MAX_EVENTS: Final = 1_000_000
"""Most lines of ``events.jsonl`` loaded by default (about 200 MB of events); more is
refused. ``DEVDUCK_LOAD_MAX_EVENTS`` sets another limit (:func:`max_events`)."""

MAX_MESSAGE_ROWS: Final = 1_000_000
"""Most rows of ``messages.jsonl`` loaded; more is refused."""

MAX_SPAN_REQUESTS: Final = 1_000_000
"""Most lines (OTLP requests) of ``spans.otlp.jsonl`` read; more is refused."""

MAX_SPANS: Final = 1_000_000
"""Most spans read from ``spans.otlp.jsonl``; more is refused."""


def max_events() -> int:
    """The most events loaded from one session: ``DEVDUCK_LOAD_MAX_EVENTS``, else MAX_EVENTS."""
    return env_int(DEVDUCK_LOAD_MAX_EVENTS, MAX_EVENTS)


def too_many(where: str, what: str, limit: int, hint: str = "") -> SessionFormatError:
    """Return the one-line error for an entry holding more than ``limit`` items."""
    return SessionFormatError(f"{where}: more than {limit:,} {what} (limit {limit:,}{hint})")


class LineSplitter:
    """Cuts chunks into lines; a line over ``max_line`` bytes comes out as ``None``.

    A partial line is kept only while it is within the limit; past it, its bytes are
    dropped until its newline arrives, so memory stays within one line plus one chunk.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self._partial: list[bytes] = []
        self._held = 0
        self._dropping = False

    def feed(self, chunk: bytes) -> list[bytes | None]:
        """Return the lines ``chunk`` completes (without newlines); keep its tail."""
        cut = chunk.rfind(b"\n")
        if cut < 0:
            self._hold(chunk)
            return []
        lines: list[bytes | None] = list(chunk[:cut].split(b"\n"))
        first = lines[0]
        assert first is not None
        if self._dropping or self._held + len(first) > self.max_line:
            lines[0] = None
        elif self._partial:
            lines[0] = b"".join([*self._partial, first])
        if len(chunk) > self.max_line:  # lines of a big chunk may be long too
            lines = [None if x is not None and len(x) > self.max_line else x for x in lines]
        self._partial, self._held, self._dropping = [], 0, False
        self._hold(chunk[cut + 1 :])
        return lines

    def _hold(self, tail: bytes) -> None:
        if self._dropping or not tail:
            return
        self._held += len(tail)
        if self._held > self.max_line:
            self._partial, self._held, self._dropping = [], 0, True
        else:
            self._partial.append(tail)  # joined once its line ends: no quadratic copying

    def close(self) -> list[bytes | None]:
        """Return the last line if it has no newline (``None`` if it was too long)."""
        if self._dropping:
            out: list[bytes | None] = [None]
        else:
            tail = b"".join(self._partial)
            out = [tail] if tail else []
        self._partial, self._held, self._dropping = [], 0, False
        return out


def split_chunks(chunks: Iterable[bytes]) -> Iterator[list[bytes | None]]:
    """Yield the lines of each chunk as it comes, then the last line (see LineSplitter)."""
    splitter = LineSplitter()
    for chunk in chunks:
        yield splitter.feed(chunk)
    yield splitter.close()


def entry_lines(
    source: EntrySource, name: str, *, max_lines: int, what: str = "lines"
) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(line number, line)`` for the non-blank lines of an entry, bounded.

    Args:
        source: The session's entries.
        name: The entry (``spans.otlp.jsonl``, ...); absent gives nothing.
        max_lines: Most lines read; one more raises.
        what: What a line is, for the error (``"OTLP requests"``).

    Yields:
        The line number (from 1) and the line, or ``None`` for a line over the limit.

    Raises:
        SessionFormatError: The entry is broken, or holds more than ``max_lines`` lines.
    """
    chunks = source.chunks(name)
    if chunks is None:
        return
    number = 0
    for lines in split_chunks(chunks):
        for line in lines:
            number += 1
            if number > max_lines:
                raise too_many(f"{source.label}: {name}", what, max_lines)
            if line is None or line.strip():
                yield number, line


def span_request_lines(source: EntrySource) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(line number, line)`` of ``spans.otlp.jsonl``: one OTLP request a line, bounded."""
    return entry_lines(source, SPANS_ENTRY, max_lines=MAX_SPAN_REQUESTS, what="OTLP requests")
