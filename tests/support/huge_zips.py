"""Build the hostile session ZIPs of issue 12 quickly: huge inside, small on disk.

The ZIPs are written by hand (local headers, data, central directory, end record)
so that a 1 GiB entry is deflated once per MiB block, not once per byte, and a
ZIP of a million entries needs no million ``zipfile`` calls. Every size a header
declares is honest: the limits must hold on what the data really is.

Example:
    >>> path = many_entries_zip(tmp_path / "m.zip")  # doctest: +SKIP
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from tests.support.zipbuilder import event, metadata, session_entries

GIB = 1 << 30
ENTRY_COUNT = 1_000_007
TINY_EVENTS = 8_400_000
MESSAGE_REFERENCES = 10_000_000
_BLOCK = 1 << 20
_DOS_TIME, _DOS_DATE = 0, (45 << 9) | (11 << 5) | 24  # 2025-11-24 00:00


class _Entry:
    """One ZIP member: its name, deflated chunks and the honest sizes and CRC."""

    def __init__(self, name: str, chunks: Iterable[bytes], crc: int, size: int, csize: int) -> None:
        self.name = name.encode()
        self.chunks = chunks
        self.crc, self.size, self.csize = crc, size, csize


def _small(name: str, data: bytes) -> _Entry:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = packer.compress(data) + packer.flush()
    return _Entry(name, [body], zlib.crc32(data), len(data), len(body))


def _write(path: Path, entries: Iterable[_Entry], pad: int = 0) -> Path:
    central = bytearray()
    count = 0
    with open(path, "wb") as out:
        for entry in entries:
            offset = out.tell()
            head = struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, _DOS_TIME, _DOS_DATE,
                entry.crc, entry.csize, entry.size, len(entry.name), 0,
            )  # fmt: skip
            out.write(head + entry.name)
            for chunk in entry.chunks:
                out.write(chunk)
            central += struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, _DOS_TIME, _DOS_DATE,
                entry.crc, entry.csize, entry.size, len(entry.name), 0, 0, 0, 0, 0, offset,
            )  # fmt: skip
            central += entry.name
            count += 1
        last = central[-(46 + len(entry.name)) : -len(entry.name)]
        for n in range(1, pad + 1):  # more central records for the last (empty) entry
            name = f"pad/{n}".encode()
            central += last[:28] + struct.pack("<H", len(name)) + last[30:] + name
        count += pad
        _end(out, central, count)
    return path


def _end(out: object, central: bytearray, count: int) -> None:
    assert hasattr(out, "write") and hasattr(out, "tell")
    start = out.tell()
    out.write(central)
    end = out.tell()
    if count > 0xFFFF:  # a ZIP64 end record holds the real count, as zipfile writes it
        fields = (0x06064B50, 44, 45, 45, 0, 0, count, count, len(central), start)
        out.write(struct.pack("<IQHHIIQQQQ", *fields))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, end, 1))
        count = 0xFFFF
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), start, 0))


def _session_base(**extra: Any) -> dict[str, bytes]:
    entries = session_entries(events=3)
    entries["metadata.json"] = orjson.dumps(metadata(**extra))
    return entries


def many_entries_zip(path: Path, count: int = ENTRY_COUNT) -> Path:
    """A session ZIP of ``count`` entries: the real ones, then empty ``pad/<n>`` files.

    The padding entries share one local header: a reader that refuses on the count
    never opens them.
    """
    base = [_small(n, d) for n, d in _session_base().items()]
    empty = _small("pad/0", b"")
    return _write(path, [*base, empty], pad=count - len(base) - 1)


def _block() -> bytes:
    """1 MiB of JSON string text that deflates about 150x (under the ratio limit)."""
    seed = bytearray(b"a" * _BLOCK)
    state = 12345
    for at in range(0, _BLOCK, 160):  # sparse pseudo-random letters defeat long matches
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        seed[at] = 97 + state % 26
    return bytes(seed)


def _huge_line_entry(name: str, head: bytes, tail: bytes, size: int) -> _Entry:
    """``head``, then ``size`` bytes of string filler, then ``tail``, as one deflated entry."""
    block = _block()
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)
    first = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    body = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    assert body == again, "deflate after a full flush must repeat itself"
    blocks, rest = divmod(size, _BLOCK)
    last = packer.compress(block[:rest] + tail) + packer.flush()
    crc = zlib.crc32(head)
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(block[:rest] + tail, crc)
    chunks = [first, *([body] * blocks), last]
    total = len(head) + blocks * _BLOCK + rest + len(tail)
    return _Entry(name, chunks, crc, total, sum(map(len, chunks)))


def huge_line_zip(path: Path, entry: str = "events.jsonl", size: int = GIB - 4096) -> Path:
    """A session ZIP whose ``entry`` holds one line of ``size`` bytes (about 1 GiB).

    Args:
        path: Where to write.
        entry: ``events.jsonl``, ``messages.jsonl`` or ``spans.otlp.jsonl``.
        size: Bytes of the long line's filler.
    """
    base = _session_base()
    good = base.get(entry, b"")
    head = good + b'{"huge": "'
    big = _huge_line_entry(entry, head, b'"}\n' + good, size)
    entries = [_small(n, d) for n, d in base.items() if n != entry]
    return _write(path, [*entries, big])


def tiny_events_zip(path: Path, count: int = TINY_EVENTS) -> Path:
    """A session ZIP of ``count`` tiny events (``{"a":n}``, n a digit), a few MB on disk."""
    base = _session_base(total_events=count)
    step = 100_000
    state, lines = 7, []
    for _ in range(step):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        lines.append(b'{"a":%d}\n' % (state % 10))
    block = b"".join(lines)
    blocks, rest = divmod(count, step)
    tail = b"".join(lines[:rest])
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    body = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    assert body == packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    last = packer.compress(tail) + packer.flush()
    chunks = [first, *([body] * (blocks - 1)), last]
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = blocks * len(block) + len(tail)
    events = _Entry("events.jsonl", chunks, crc, size, sum(map(len, chunks)))
    rest_entries = [_small(n, d) for n, d in base.items() if n != "events.jsonl"]
    return _write(path, [events, *rest_entries])


def many_references_zip(path: Path, references: int = MESSAGE_REFERENCES) -> Path:
    """A session ZIP of 1,000 messages and 10 snapshots referring to them ``references`` times."""
    rows = 1000
    snapshots = 10
    ranges = [[0, rows]] * (references // rows // snapshots)
    messages = b"".join(
        orjson.dumps(
            {"sha256": f"{n:064x}", "message": {"role": "user", "content": [{"text": str(n)}]}}
        )
        + b"\n"
        for n in range(rows)
    )
    records = [
        {
            "snapshot_id": sid,
            "timestamp": 1764000000.0 + sid,
            "description": f"snapshot {sid}",
            "agent_messages_count": rows * len(ranges),
            "agent_messages_ref": ranges,
        }
        for sid in range(1, snapshots + 1)
    ]
    base = _session_base()
    base["events.jsonl"] = b"".join(orjson.dumps(event(i)) + b"\n" for i in range(3))
    base["snapshots.json"] = orjson.dumps(records)
    base["messages.jsonl"] = messages
    return _write(path, [_small(n, d) for n, d in base.items()])


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "entries": many_entries_zip,
    "line-events": huge_line_zip,
    "line-spans": lambda p: huge_line_zip(p, "spans.otlp.jsonl"),
    "line-messages": lambda p: huge_line_zip(p, "messages.jsonl"),
    "tiny-events": tiny_events_zip,
    "references": many_references_zip,
}
"""Every hostile ZIP of issue 12, point 5, by name."""
