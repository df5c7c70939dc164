"""Bounded loading (issue 12, point 5): hostile ZIPs that are small on disk and huge inside.

Each case runs in a child interpreter and asserts the growth of its peak RSS (under
500 MB) and the outcome: a clear one-line refusal, or a correct load. Times are
printed (``-s``), never asserted; ``python -m tests.support.rss_child DIR`` measures
every command on every ZIP.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from devduck_otel.cli._aggregate import MAX_VIEWER_EVENTS
from devduck_otel.cli._viewer import build_payload
from devduck_otel.exceptions import SessionFormatError
from devduck_otel.session._bounded import LineSplitter, entry_lines
from devduck_otel.session._zipsafe import DirSource, ZipSource, declared_entries
from tests.support import huge_zips
from tests.support.rss_child import run_command

MAX_GROWTH_MB = 500


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The hostile ZIPs, built once for the module."""
    folder = tmp_path_factory.mktemp("hostile-zips")
    return {name: build(folder / f"{name}.zip") for name, build in huge_zips.BUILDERS.items()}


REFUSED_FROM_THE_END_RECORD_MB = 50
"""A ZIP of too many entries is refused before any ``ZipInfo`` is built: next to nothing."""

CASES = [
    ("entries", "load_session", "SessionFormatError", "1000007 entries (limit 100000)"),
    ("entries", "show", "exit 1", "1000007 entries (limit 100000)"),
    ("line-events", "load_session", "ok", "6 events"),
    ("line-spans", "view", "exit 0", ""),
    ("line-spans", "push", "exit 1", "spans.otlp.jsonl line 1 is longer than"),
    ("line-messages", "load_session", "ok", "messages.jsonl: line 1 is longer than the line"),
    ("tiny-events", "load_session", "SessionFormatError", "more than 1,000,000 events"),
    ("tiny-events", "view", "exit 1", "more than 1,000,000 events"),
    ("references", "view", "exit 0", ""),
    ("references", "diff", "exit 0", ""),
]


@pytest.mark.parametrize(("name", "command", "outcome", "message"), CASES)
def test_hostile_zip_is_refused_or_loaded_within_500_mb(
    hostile: dict[str, Path], tmp_path: Path, name: str, command: str, outcome: str, message: str
) -> None:
    """Refused with its one-line reason, or loaded, with the peak RSS growing < 500 MB."""
    got = run_command(command, hostile[name], tmp_path)
    print(f"{name} {command}: {got}")
    assert got["outcome"] == outcome, got
    assert message in got["message"], got
    limit = REFUSED_FROM_THE_END_RECORD_MB if name == "entries" else MAX_GROWTH_MB
    assert got["rss_growth_mb"] < limit, got
    if outcome.startswith("exit"):
        assert "Traceback" not in got["message"]


def test_view_of_ten_million_references_keeps_every_snapshot(
    hostile: dict[str, Path], tmp_path: Path
) -> None:
    """The page of the 10,000,000-reference session holds its 1,000 messages once each."""
    got = run_command("view", hostile["references"], tmp_path)
    assert got["outcome"] == "exit 0", got
    page = (tmp_path / "view.html").read_text(encoding="utf-8")
    assert page.count('"role":"user"') == 1000


def test_end_record_count_is_read_without_parsing_the_directory(
    hostile: dict[str, Path], tmp_path: Path
) -> None:
    """The ZIP64 end record's count is read from the tail; broken tails give None."""
    assert declared_entries(hostile["entries"]) == huge_zips.ENTRY_COUNT
    assert declared_entries(hostile["tiny-events"]) == 5
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    assert declared_entries(empty) is None
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"PK\x05\x06" + b"\xff" * 10)  # an end record cut short
    assert declared_entries(garbage) is None
    with pytest.raises(SessionFormatError, match="not a readable ZIP"):
        ZipSource(garbage)


def test_line_splitter_drops_a_long_line_as_it_streams() -> None:
    """A line over the limit comes out as None, whatever the chunking; no bytes are kept."""
    splitter = LineSplitter(max_line=10)
    out = splitter.feed(b'{"a":1}\n{"b":')
    for _ in range(1000):
        out += splitter.feed(b"x" * 100)
        assert splitter._held <= 10
    out += splitter.feed(b'"}\n{"c":3}')
    out += splitter.close()
    assert out == [b'{"a":1}', None, b'{"c":3}']
    assert LineSplitter(4).feed(b"12345\n1\n") == [None, b"1"]  # one chunk over the limit
    assert LineSplitter(4).close() == []
    tail = LineSplitter(4)
    tail.feed(b"123456")
    assert tail.close() == [None]


def test_journal_files_stream_in_chunks_and_count_lines(tmp_path: Path) -> None:
    """A journal file is read in bounded chunks, and too many lines raise one line."""
    journal = tmp_path / "s.journal"
    journal.mkdir()
    (journal / "spans.otlp.jsonl").write_bytes(b"{}\n" * 5 + b"\n")
    source = DirSource(journal)
    assert [n for n, _ in entry_lines(source, "spans.otlp.jsonl", max_lines=6)] == [1, 2, 3, 4, 5]
    with pytest.raises(SessionFormatError, match=r"more than 3 lines \(limit 3\)"):
        list(entry_lines(source, "spans.otlp.jsonl", max_lines=3))
    assert list(entry_lines(source, "absent.jsonl", max_lines=3)) == []
    chunks = source.chunks("spans.otlp.jsonl", limit=4)
    assert chunks is not None
    with pytest.raises(SessionFormatError, match="larger than 4 bytes"):
        list(chunks)


def _events(count: int) -> list[dict[str, Any]]:
    layers = ("sys", "tool", "agent")
    return [
        {"timestamp_ns": 10**18 + i * 1000, "layer": layers[i % 3], "event_type": f"t{i % 2}"}
        for i in range(count)
    ]


def test_viewer_beyond_its_promise_shows_the_first_events_and_counts_all() -> None:
    """Past 100,000 events the payload holds 100,000 in full and counts all; the title says so."""
    events = _events(MAX_VIEWER_EVENTS + 5_000)
    payload = build_payload(events, [], [], {"session_id": "big"})
    assert len(payload["events"]["t"]) == MAX_VIEWER_EVENTS
    summary = payload["aggregate"]
    assert summary["total"] == len(events)
    assert summary["shown"] == MAX_VIEWER_EVENTS
    assert sum(row[3] for row in summary["counts"]) == len(events)
    per_layer = {layer: sum(r[3] for r in summary["counts"] if r[1] == layer) for layer in range(3)}
    assert per_layer == {0: 35_000, 1: 35_000, 2: 35_000}
    assert "first 100,000 of 105,000 events shown" in payload["title"]
    small = build_payload(_events(10), [], [], {"session_id": "small"})
    assert small["aggregate"] is None and small["title"] == "small"


def test_a_session_at_the_entry_limit_still_loads(tmp_path: Path) -> None:
    """Refusing on the end record's count does not refuse ordinary ZIPs."""
    path = huge_zips.many_entries_zip(tmp_path / "ok.zip", count=1000)
    with zipfile.ZipFile(path) as zf:
        assert len(zf.infolist()) == 1000
    with ZipSource(path) as source:
        assert len(source.names()) == 1000


def test_the_event_limit_is_named_in_its_error_and_can_be_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Past DEVDUCK_LOAD_MAX_EVENTS a session is refused naming the variable; raised, it loads."""
    from devduck_otel import load_session
    from tests.support.cli_sessions import big_zip

    path = big_zip(tmp_path / "thirty.zip", 30)
    monkeypatch.setenv("DEVDUCK_LOAD_MAX_EVENTS", "20")
    with pytest.raises(SessionFormatError) as refused:
        load_session(path)
    assert "more than 20 events" in str(refused.value)
    assert "set DEVDUCK_LOAD_MAX_EVENTS to load more" in str(refused.value)
    monkeypatch.setenv("DEVDUCK_LOAD_MAX_EVENTS", "40")
    assert len(load_session(path).events) == 30
    for bad in ("", "lots", "-5", "0"):
        monkeypatch.setenv("DEVDUCK_LOAD_MAX_EVENTS", bad)
        assert len(load_session(path).events) == 30  # the default limit, 1,000,000
    assert "DEVDUCK_LOAD_MAX_EVENTS='lots' is not a positive whole number" in caplog.text
