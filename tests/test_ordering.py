"""The ZIP's ``events.jsonl`` order: journal lines in time order, stable, numbered once."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from devduck_otel_exporter_zip import _ordering
from devduck_otel_exporter_zip._ordering import merged_blocks, numbered, ordered_blocks


def _line(ts: int, tag: str, pad: int = 0) -> bytes:
    return b'{"timestamp_ns":%d,"tag":"%s","pad":"%s"}' % (ts, tag.encode(), b"x" * pad)


def _write(path: Path, lines: list[bytes], tail: bytes = b"") -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines) + tail)
    return path


def _tags(blocks: object) -> list[str]:
    return [orjson.loads(line)["tag"] for block in blocks for line in block]  # type: ignore[attr-defined]


@pytest.mark.parametrize("block_bytes", [64, 1 << 20])
def test_in_order_journal_streams_every_line_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    """Lines already in order come out as they are, whatever the block size."""
    monkeypatch.setattr(_ordering, "BLOCK_BYTES", block_bytes)
    lines = [_line(i, f"t{i}", pad=i % 7) for i in range(300)]
    path = _write(tmp_path / "events.jsonl", lines, tail=b'{"timestamp_ns":999,"tag":"torn')
    assert _tags(ordered_blocks(path)) == [f"t{i}" for i in range(300)]


@pytest.mark.parametrize("block_bytes", [64, 1 << 20])
def test_out_of_order_lines_are_sorted_stably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    """A line that came late (an order break across blocks too) is put in its place."""
    monkeypatch.setattr(_ordering, "BLOCK_BYTES", block_bytes)
    stamps = [5, 1, 3, 3, 2, 9, 0, 3]
    lines = [_line(ts, f"{ts}-{n}") for n, ts in enumerate(stamps)]
    path = _write(tmp_path / "events.jsonl", lines)
    expected = [f"{ts}-{n}" for n, ts in sorted(enumerate(stamps), key=lambda p: p[1])]
    assert _tags(ordered_blocks(path)) == expected


def test_a_line_longer_than_a_block_is_kept_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line larger than a block is neither cut nor lost."""
    monkeypatch.setattr(_ordering, "BLOCK_BYTES", 32)
    lines = [_line(1, "a"), _line(2, "long", pad=500), _line(3, "c")]
    path = _write(tmp_path / "events.jsonl", lines)
    assert _tags(ordered_blocks(path)) == ["a", "long", "c"]


def test_child_lines_are_merged_in_and_numbered_once(tmp_path: Path) -> None:
    """A forked child's lines are merged by time; ``seq`` runs from 1 over both files."""
    main = _write(tmp_path / "events.jsonl", [_line(1, "a"), _line(4, "d")])
    child = _write(tmp_path / "child.jsonl", [_line(2, "b"), _line(3, "c")])
    out = [orjson.loads(line) for block in numbered(merged_blocks(main, child)) for line in block]
    assert [(e["tag"], e["seq"]) for e in out] == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]


def test_empty_and_missing_files_give_nothing(tmp_path: Path) -> None:
    """No journal lines, no blocks."""
    empty = _write(tmp_path / "events.jsonl", [])
    assert list(ordered_blocks(empty)) == []
    assert list(merged_blocks(tmp_path / "missing.jsonl", tmp_path / "child.jsonl")) == []
