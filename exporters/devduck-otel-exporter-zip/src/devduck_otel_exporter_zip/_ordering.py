"""Journal lines in time order, with bounded memory, and their ``seq`` numbers.

Lines reach the journal in the order the flush thread derives them, which is nearly
time order (a span's own lines come when it ends). The ZIP wants strict time order:
when the journal is already in order it is streamed as it is; otherwise only the
timestamps and file offsets are held in memory and sorted (stable).
"""

from __future__ import annotations

import heapq
import mmap
import os
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from devduck_otel_exporter_zip._files import open_regular

_TS_KEY = b'{"timestamp_ns":'


def _timestamp(line: bytes) -> int:
    if not line.startswith(_TS_KEY):
        return 0
    end = line.find(b",", len(_TS_KEY))
    try:
        return int(line[len(_TS_KEY) : end])
    except ValueError:
        return 0


def ordered_lines(path: Path) -> Iterator[bytes]:
    """Yield the complete lines of a journal events file in time order (stable)."""
    handle = open_regular(path)
    if handle is None:
        return
    with handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return
        yield from _ordered(handle)


def _ordered(handle: BinaryIO) -> Iterator[bytes]:
    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        stamps, starts, ends = array("q"), array("q"), array("q")
        in_order, last, pos, size = True, -1, 0, len(mm)
        while pos < size:
            end = mm.find(b"\n", pos)
            if end < 0:  # a torn last line (process killed mid-write) is left out
                break
            if end > pos:
                stamp = _timestamp(mm[pos : min(end, pos + 40)])
                in_order = in_order and stamp >= last
                last = max(last, stamp)
                stamps.append(stamp)
                starts.append(pos)
                ends.append(end)
            pos = end + 1
        order: range | list[int] = range(len(stamps))
        if not in_order:
            order = sorted(order, key=stamps.__getitem__)
        for index in order:
            yield mm[starts[index] : ends[index]]


def merged_lines(*paths: Path) -> Iterator[bytes]:
    """The lines of several journal events files, each in time order, merged (stable)."""
    return heapq.merge(*(ordered_lines(path) for path in paths), key=_timestamp)


def numbered(lines: Iterator[bytes]) -> Iterator[bytes]:
    """Add ``seq`` (from 1, in the order given) as the last key of each event line."""
    for seq, line in enumerate(lines, start=1):
        yield line[:-1] + b',"seq":%d}' % seq
