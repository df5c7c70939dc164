"""The ZIP's big entries, deflated by the flush thread and copied at stop (``_prezip``).

Every ZIP here is checked against the one written the old way from the same journal.
That the copy was used is shown by moving the journal's ``events.jsonl`` and
``spans.jsonl`` aside first: the old way then finds no lines, the copy has them all.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from devduck_otel_exporter_zip import DevduckZipSpanExporter, write_session_zip
from devduck_otel_exporter_zip import schema as F
from devduck_otel_exporter_zip._journal import SessionJournal
from devduck_otel_exporter_zip._zipraw import PreparedEntry, write_entry
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

import devduck_otel
from devduck_otel._recorder import Recorder

_COMPARED = (F.EVENTS_ENTRY, F.SNAPSHOTS_ENTRY, F.MESSAGES_ENTRY, F.SPANS_ENTRY)


@devduck_otel.tool
def lookup(city: str, days: int) -> dict[str, Any]:
    """A tool with arguments and a result."""
    return {"city": city, "days": days, "forecast": "sunny"}


class Agent:
    """Something to snapshot."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []


def _start() -> Recorder:
    rec = devduck_otel.start_recording(sys_layer=False)
    assert isinstance(rec, Recorder)
    return rec


def _entries(path: Path) -> dict[str, bytes]:
    """The compared entries of a ZIP, and its metadata without the export time."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        out = {name: zf.read(name) for name in _COMPARED}
        meta = json.loads(zf.read(F.METADATA_ENTRY))
        assert zf.namelist()[:4] == [
            F.EVENTS_ENTRY,
            F.SNAPSHOTS_ENTRY,
            F.METADATA_ENTRY,
            F.PICKLE_ENTRY,
        ]
    meta.pop("export_time")
    out[F.METADATA_ENTRY] = json.dumps(meta).encode()
    return out


@contextmanager
def _journal_lines_aside(journal: Path) -> Iterator[None]:
    """Move the journal's event and span lines away (the old way then finds none)."""
    names = (F.JOURNAL_EVENTS, F.JOURNAL_SPANS)
    for name in names:
        os.rename(journal / name, journal / f"{name}.aside")
    try:
        yield
    finally:
        for name in names:
            os.rename(journal / f"{name}.aside", journal / name)


def _both_ways(journal: SessionJournal, out: Path) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The ZIP from the prepared streams alone, and the one from the journal's lines."""
    with _journal_lines_aside(journal.path):
        fast = write_session_zip(
            journal.path, out / "fast.zip", stopped=False, prepared=journal.prepared
        )
    slow = write_session_zip(journal.path, out / "slow.zip", stopped=False)
    return _entries(fast), _entries(slow)


def _events(entries: dict[str, bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in entries[F.EVENTS_ENTRY].split(b"\n")]


def _assert_complete(entries: dict[str, bytes], calls: int) -> None:
    events = _events(entries)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    stamps = [e["timestamp_ns"] for e in events]
    assert stamps == sorted(stamps)
    assert sum(e["event_type"] == "tool.call" for e in events) == calls
    assert json.loads(entries[F.METADATA_ENTRY])["total_events"] == len(events)


def _side_files(journal: Path) -> list[str]:
    return sorted(
        name
        for name in (F.JOURNAL_EVENTS_DEFLATE, F.JOURNAL_SPANS_DEFLATE)
        if (journal / name).exists()
    )


def test_prepared_zip_has_the_entries_the_journal_gives(tmp_path: Path) -> None:
    """Events, spans, snapshots and metadata: the same bytes from the copy and the journal."""
    rec = _start()
    agent = Agent()
    for i in range(1500):
        lookup("Lisbon", i)
        if i % 500 == 0:
            agent.messages.append({"role": "user", "content": f"q{i}"})
            devduck_otel.snapshot(agent, f"at {i}")
    rec.journal.flush()
    fast, slow = _both_ways(rec.journal, tmp_path)
    assert fast == slow
    _assert_complete(fast, 1500)
    devduck_otel.stop_recording()


def test_snapshot_counts_come_with_the_prepared_events(tmp_path: Path) -> None:
    """``events_since_last`` of each snapshot, counted as the stream was written."""
    rec = _start()
    agent = Agent()
    for calls in (3, 10, 0, 40):
        for i in range(calls):
            lookup("Porto", i)
        devduck_otel.snapshot(agent, f"after {calls}")
    rec.journal.flush()
    fast, slow = _both_ways(rec.journal, tmp_path)
    assert fast[F.SNAPSHOTS_ENTRY] == slow[F.SNAPSHOTS_ENTRY]
    events = _events(fast)
    cuts = [n for n, e in enumerate(events, start=1) if e["event_type"] == "snapshot.created"]
    expected = [b - a for a, b in zip([0, *cuts], cuts, strict=False)]
    records = json.loads(fast[F.SNAPSHOTS_ENTRY])
    assert [r["events_since_last"] for r in records] == expected
    assert expected[1] == 1 + 2 * 10  # ten calls, each a tool.call and a tool.result
    devduck_otel.stop_recording()


def test_burst_of_spans_over_many_requests_of_two_resources_and_scopes(tmp_path: Path) -> None:
    """A 5,000-span burst (flushed inline) and spans of other providers, in requests of 512."""
    rec = _start()
    others = []
    for name in ("svc-a", "svc-b"):
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(DevduckZipSpanExporter(rec.journal).processor())
        others.append(provider)
    with rec.journal._io_lock:  # the flush thread waits: 4,096 spans are flushed inline, at once
        for i in range(5000):
            lookup("Faro", i)
            if i % 700 == 0:
                for provider in others:
                    for scope in ("one", "two"):
                        provider.get_tracer(scope).start_span(f"{scope}-{i}").end()
    rec.journal.flush()
    fast, slow = _both_ways(rec.journal, tmp_path)
    assert fast == slow
    _assert_complete(fast, 5000)
    requests = [json.loads(line) for line in fast[F.SPANS_ENTRY].split(b"\n")]
    sizes = [len(r["resourceSpans"][0]["scopeSpans"][0]["spans"]) for r in requests]
    assert max(sizes) == 512
    assert sum(sizes) == 5000 + 8 * 2 * 2
    devduck_otel.stop_recording()


def test_empty_recording_gives_the_same_zip_both_ways(tmp_path: Path) -> None:
    """No call at all: the session lines, and an empty spans entry, both ways."""
    rec = _start()
    rec.journal.flush()
    fast, slow = _both_ways(rec.journal, tmp_path)
    assert fast == slow
    assert fast[F.SPANS_ENTRY] == b""
    assert [e["event_type"] for e in _events(fast)] == ["session.start"]
    devduck_otel.stop_recording()


def test_export_while_recording_then_stop_both_complete(recordings_dir: Path) -> None:
    """export() cuts the live streams and lets them go on; stop copies them to the end."""
    rec = _start()
    for i in range(1200):
        lookup("Braga", i)
    first = _entries(Path(devduck_otel.export_recording(str(recordings_dir / "first.zip"))))
    _assert_complete(first, 1200)
    for i in range(1200, 2500):
        lookup("Braga", i)
    rec.journal.flush()
    journal = rec.journal.path
    assert _side_files(journal) == [F.JOURNAL_EVENTS_DEFLATE, F.JOURNAL_SPANS_DEFLATE]
    with _journal_lines_aside(journal):
        second = _entries(Path(devduck_otel.export_recording(str(recordings_dir / "second.zip"))))
    _assert_complete(second, 2500)
    # stop: the last lines go to the moved files' descriptors; the ZIP has them from the copy
    for name in (F.JOURNAL_EVENTS, F.JOURNAL_SPANS):
        os.rename(journal / name, journal / f"{name}.aside")
    final = _entries(Path(str(devduck_otel.stop_recording())))
    _assert_complete(final, 2500)
    assert [e["event_type"] for e in _events(final)][-1] == "session.stop"
    assert final[F.EVENTS_ENTRY].startswith(second[F.EVENTS_ENTRY].rsplit(b"\n", 1)[0])
    assert not journal.exists()


def _late_line(rec: Recorder, timestamp: int) -> None:
    """A span whose event is stamped before lines already written (a late producer)."""
    span = rec.tracer.start_span("late")
    span.add_event(
        "file.open",
        {
            F.DEVDUCK_LAYER: "sys",
            F.DEVDUCK_EVENT_TYPE: "file.open",
            F.DEVDUCK_CONTENT: json.dumps({"path": "/late"}),
        },
        timestamp=timestamp,
    )
    span.end()


def test_out_of_order_batch_drops_the_events_stream(tmp_path: Path) -> None:
    """A batch that starts before the last line written: the ZIP's events come sorted."""
    rec = _start()
    lookup("Evora", 0)
    rec.journal.flush()
    early = _events(_both_ways(rec.journal, tmp_path)[1])[-1]["timestamp_ns"] - 1
    for i in range(1, 50):
        lookup("Evora", i)
    rec.journal.flush()
    _late_line(rec, early)
    rec.journal.flush()
    assert _side_files(rec.journal.path) == [F.JOURNAL_SPANS_DEFLATE]
    final = _entries(Path(str(devduck_otel.stop_recording())))
    _assert_complete(final, 50)
    late = [e for e in _events(final) if e["event_type"] == "file.open"]
    assert [e["timestamp_ns"] for e in late] == [early]


def test_child_events_are_merged_from_the_journal(tmp_path: Path) -> None:
    """A forked child's line in ``children.jsonl``: the ZIP's events are merged as before."""
    rec = _start()
    for i in range(20):
        lookup("Tavira", i)
    rec.journal.flush()
    pid = os.fork()
    if pid == 0:  # the child: one line for the parent's session, then gone
        try:
            rec.journal.write_from_child("process.spawn", {"argv": ["ls"]}, (None, None, None))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    for i in range(20, 40):
        lookup("Tavira", i)
    final = _entries(Path(str(devduck_otel.stop_recording())))
    _assert_complete(final, 40)
    spawns = [e for e in _events(final) if e["event_type"] == "process.spawn"]
    assert [e["data"] for e in spawns] == [{"argv": ["ls"]}]


def _fd_of(path: Path) -> int:
    """The descriptor this process holds open on ``path``."""
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == str(path):
                return int(name)
        except OSError:
            continue
    raise AssertionError(f"{path} is not open")


@contextmanager
def _failing_writes(path: Path) -> Iterator[None]:
    """Make every write to the open descriptor of ``path`` fail (EBADF), then restore it."""
    fd = _fd_of(path)
    saved = os.dup(fd)
    readonly = os.open(path, os.O_RDONLY)
    os.dup2(readonly, fd)
    os.close(readonly)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _calls_while_failing(name: str, calls: int) -> Recorder:
    """30 calls, then ``calls - 30`` while writes to the journal's file ``name`` fail."""
    rec = _start()
    for i in range(30):
        lookup("Lagos", i)
    rec.journal.flush()
    with _failing_writes(rec.journal.path / name):
        for i in range(30, calls):
            lookup("Lagos", i)
        rec.journal.flush_or_report()
    return rec


def test_failed_journal_write_drops_both_streams_and_loses_no_line(tmp_path: Path) -> None:
    """The journal writes the lines again later; the ZIP has each once, from the journal."""
    rec = _calls_while_failing(F.JOURNAL_EVENTS, 60)
    assert rec.journal.write_error is not None
    assert _side_files(rec.journal.path) == []
    for i in range(60, 90):
        lookup("Lagos", i)
    rec.journal.flush()
    final = _entries(Path(str(devduck_otel.stop_recording())))
    _assert_complete(final, 90)
    calls = [e["data"]["args"] for e in _events(final) if e["event_type"] == "tool.call"]
    assert calls == [{"city": "Lagos", "days": i} for i in range(90)]


def test_failed_side_file_write_drops_that_stream_only(tmp_path: Path) -> None:
    """The side file cannot be written: the journal goes on, the ZIP comes from it."""
    rec = _calls_while_failing(F.JOURNAL_SPANS_DEFLATE, 1000)  # enough for output to write
    assert rec.journal.write_error is None
    assert _side_files(rec.journal.path) == [F.JOURNAL_EVENTS_DEFLATE]
    final = _entries(Path(str(devduck_otel.stop_recording())))
    _assert_complete(final, 1000)
    requests = [json.loads(line) for line in final[F.SPANS_ENTRY].split(b"\n")]
    assert sum(len(r["resourceSpans"][0]["scopeSpans"][0]["spans"]) for r in requests) == 1000


@pytest.mark.parametrize("harm", ["truncated", "symlink", "missing"])
def test_harmed_side_file_falls_back_to_the_journal(tmp_path: Path, harm: str) -> None:
    """A side file cut short, swapped for a link, or gone: the ZIP is written from the journal."""
    rec = _start()
    for i in range(3000):  # enough for the compressor to have written to the side file
        lookup("Viseu", i)
    rec.journal.flush()
    side = rec.journal.path / F.JOURNAL_EVENTS_DEFLATE
    assert side.stat().st_size > 0
    if harm == "truncated":
        os.truncate(side, side.stat().st_size // 2)
    elif harm == "symlink":  # to bytes that are no deflate stream: never followed
        target = tmp_path / "elsewhere.z"
        target.write_bytes(os.urandom(side.stat().st_size))
        side.unlink()
        side.symlink_to(target)
    else:
        side.unlink()
    path = write_session_zip(
        rec.journal.path, tmp_path / "out.zip", stopped=False, prepared=rec.journal.prepared
    )
    slow = write_session_zip(rec.journal.path, tmp_path / "slow.zip", stopped=False)
    assert _entries(path) == _entries(slow)
    _assert_complete(_entries(path), 3000)
    devduck_otel.stop_recording()


def test_write_entry_refuses_a_zip_it_was_not_made_for(tmp_path: Path) -> None:
    """A stored (not deflated) ZIP, or one at another level: nothing is written."""
    side = tmp_path / "side.z"
    side.write_bytes(b"")
    entry = PreparedEntry(side, 0, 0, 0, b"\x03\x00")
    for compression, level in ((zipfile.ZIP_STORED, None), (zipfile.ZIP_DEFLATED, 6)):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression, compresslevel=level) as zf:
            assert write_entry(zf, "x", entry) is False
            assert zf.namelist() == []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        assert write_entry(zf, "x", entry) is True
    with zipfile.ZipFile(buffer) as zf:
        assert zf.testzip() is None
        assert zf.read("x") == b""
