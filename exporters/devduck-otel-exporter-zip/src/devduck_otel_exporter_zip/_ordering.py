"""Journal lines in time order, with bounded memory, and their ``seq`` numbers.

Lines reach the journal in the order the flush thread derives them, which is nearly
time order (a span's own lines come when it ends). The ZIP wants strict time order:
when the journal is already in order it is streamed as it is, in blocks of about
1 MiB of lines (one pass to check the order, one to copy, no per-line work beyond
reading each timestamp); otherwise only the timestamps and file offsets are held in
memory and sorted (stable). :class:`EventCounter` counts the events between snapshots
as the numbered lines go by.
"""

from __future__ import annotations

import heapq
import mmap
import os
from array import array
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO, Final

import orjson

from devduck_otel_exporter_zip._files import open_regular

_TS_KEY = b'{"timestamp_ns":'
_SNAPSHOT_TYPE = b'"event_type":"snapshot.created"'
BLOCK_BYTES: Final = 1 << 20
"""About how many bytes of lines one block holds."""
_BLOCK_LINES: Final = 4096


def _timestamp(line: bytes) -> int:
    if not line.startswith(_TS_KEY):
        return 0
    end = line.find(b",", len(_TS_KEY))
    try:
        return int(line[len(_TS_KEY) : end])
    except ValueError:
        return 0


def _blocks(mm: mmap.mmap) -> Iterator[list[bytes]]:
    """The complete, non-empty lines of a mapped file in blocks (a torn last line left out)."""
    pos, size = 0, len(mm)
    while pos < size:
        cut = mm.rfind(b"\n", pos, min(size, pos + BLOCK_BYTES))
        if cut < 0:  # a line longer than a block
            cut = mm.find(b"\n", pos + BLOCK_BYTES)
            if cut < 0:
                return
        block = [line for line in mm[pos:cut].split(b"\n") if line]
        if block:
            yield block
        pos = cut + 1


def _stamps(block: list[bytes]) -> list[int]:
    """The timestamps of a block's lines (one comprehension; line by line if one is odd)."""
    start = len(_TS_KEY)
    try:
        if all(line.startswith(_TS_KEY) for line in block):
            return [int(line[start : line.index(b",", start)]) for line in block]
    except ValueError:
        pass
    return [_timestamp(line) for line in block]


def _in_order(mm: mmap.mmap) -> bool:
    last = -1
    for block in _blocks(mm):
        stamps = _stamps(block)
        if stamps[0] < last or stamps != sorted(stamps):
            return False
        last = stamps[-1]
    return True


def ordered_blocks(path: Path) -> Iterator[list[bytes]]:
    """Yield the complete lines of a journal events file in time order (stable), in blocks."""
    handle = open_regular(path)  # O_NOFOLLOW, a regular file checked on the open descriptor
    if handle is None:
        return
    with handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return
        yield from _ordered(handle)


def _ordered(handle: BinaryIO) -> Iterator[list[bytes]]:
    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if _in_order(mm):
            yield from _blocks(mm)
        else:
            yield from grouped(_sorted_lines(mm))


def _sorted_lines(mm: mmap.mmap) -> Iterator[bytes]:
    stamps, starts, ends = array("q"), array("q"), array("q")
    pos, size = 0, len(mm)
    while pos < size:
        end = mm.find(b"\n", pos)
        if end < 0:  # a torn last line (process killed mid-write) is left out
            break
        if end > pos:
            stamps.append(_timestamp(mm[pos : min(end, pos + 40)]))
            starts.append(pos)
            ends.append(end)
        pos = end + 1
    for index in sorted(range(len(stamps)), key=stamps.__getitem__):
        yield mm[starts[index] : ends[index]]


def grouped(lines: Iterable[bytes]) -> Iterator[list[bytes]]:
    """Lines in blocks of a few thousand."""
    iterator = iter(lines)
    while block := list(islice(iterator, _BLOCK_LINES)):
        yield block


def merged_blocks(main: Path, *others: Path) -> Iterator[list[bytes]]:
    """The lines of several journal events files, each in time order, merged (stable)."""
    rest = [path for path in others if path.exists() and path.stat().st_size > 0]
    if not rest:
        return ordered_blocks(main)
    streams = [(line for block in ordered_blocks(p) for line in block) for p in (main, *rest)]
    return grouped(heapq.merge(*streams, key=_timestamp))


def numbered(blocks: Iterable[list[bytes]], start: int = 1) -> Iterator[list[bytes]]:
    """Add ``seq`` (from ``start``, in the order given) as the last key of each event line."""
    seq = start
    for block in blocks:
        yield [line[:-1] + b',"seq":%d}' % n for n, line in enumerate(block, start=seq)]
        seq += len(block)


class EventCounter:
    """Counts events, and events between snapshots, as numbered lines go by.

    ``since`` maps a snapshot id to the events since the previous snapshot, its own
    ``snapshot.created`` line included (``events_since_last`` in ``snapshots.json``).
    """

    def __init__(self) -> None:
        self.total = 0
        self.since: dict[int, int] = {}
        self._last = 0

    def watch(self, blocks: Iterator[list[bytes]]) -> Iterator[list[bytes]]:
        """Count each block as it passes."""
        for block in blocks:
            self.count(block)
            yield block

    def count(self, block: list[bytes]) -> None:
        """Count one block of event lines."""
        if _SNAPSHOT_TYPE in b"\n".join(block):  # one search in C, not one a line
            for line in block:
                self.total += 1
                if _SNAPSHOT_TYPE in line:
                    self._snapshot(line)
        else:
            self.total += len(block)

    def copy(self) -> EventCounter:
        """An independent counter at the same point."""
        out = EventCounter()
        out.total, out.since, out._last = self.total, dict(self.since), self._last
        return out

    def _snapshot(self, line: bytes) -> None:
        try:
            data = orjson.loads(line).get("data") or {}
            snapshot_id = int(data["snapshot_id"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return
        self.since[snapshot_id] = self.total - self._last
        self._last = self.total
