"""The journal: streaming, crash safety (kill -9), recovery, atomic export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from devduck_otel_exporter_zip import (
    DevduckZipSpanExporter,
    SessionJournal,
    base_metadata,
    recover_journal,
    recover_journals,
    write_session_zip,
)
from opentelemetry.sdk.trace import Span, TracerProvider

import devduck_otel

CRASHER = textwrap.dedent(
    """
    import sys, time
    import devduck_otel

    class Agent:
        def __init__(self):
            self.messages = []

    @devduck_otel.tool
    def step(i):
        return i * 2

    @devduck_otel.agent
    def run(query):
        for i in range(int(sys.argv[1])):
            step(i)
            agent.messages.append({"role": "user", "content": [{"text": f"m{i}"}]})
        devduck_otel.snapshot(agent, "before the crash")
        print("flushed", flush=True)
        while True:  # the agent span never ends
            time.sleep(1)

    agent = Agent()
    devduck_otel.start_recording()
    run("work until killed")
    """
)


def _crash(steps: int) -> None:
    """Run CRASHER until it has flushed a snapshot, then kill -9 it."""
    with subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(steps)], stdout=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"flushed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _journal(tmp_path: Path) -> SessionJournal:
    from datetime import datetime, timezone

    return SessionJournal(
        tmp_path,
        "s1",
        base_metadata("s1", datetime.now(timezone.utc).astimezone()),
        flush_interval=60,
    )


def _feed(journal: SessionJournal, count: int, *, end: bool = True) -> Span:
    """Record ``count`` devduck events on one span of an ordinary SDK provider."""
    provider = TracerProvider()
    provider.add_span_processor(DevduckZipSpanExporter(journal).processor())
    span = provider.get_tracer("test").start_span("work")
    assert isinstance(span, Span)
    for i in range(count):
        span.add_event(
            "file.open",
            {
                "devduck.layer": "sys",
                "devduck.event_type": "file.open",
                "devduck.content": json.dumps({"path": f"/f{i}"}),
            },
            timestamp=i + 1,
        )
    if end:
        span.end()
    return span


def test_events_stream_to_disk_before_export(tmp_path: Path) -> None:
    """Events reach the journal file on flush, before any ZIP exists."""
    journal = _journal(tmp_path)
    _feed(journal, 1)
    journal.flush()
    events = [
        json.loads(line) for line in (journal.path / "events.jsonl").read_bytes().splitlines()
    ]
    # A batch is written in time order: the span's event is stamped 1 ns after the epoch.
    assert [e["event_type"] for e in events] == ["file.open", "session.start"]
    assert events[0]["data"] == {"path": "/f0"}
    journal.close()


def test_events_of_a_span_that_has_not_ended_reach_disk(tmp_path: Path) -> None:
    """A live span's events are written at a flush, once each, and again none at its end."""
    journal = _journal(tmp_path)
    span = _feed(journal, 3, end=False)
    journal.flush()
    assert (journal.path / "events.jsonl").read_bytes().count(b"\n") == 1 + 3
    span.end()
    journal.flush()
    assert (journal.path / "events.jsonl").read_bytes().count(b"\n") == 1 + 3
    journal.close()


def test_pending_events_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_PENDING ended spans the ending thread flushes inline: memory stays bounded.

    The flush thread is not woken early here, so only the inline flush can write.
    """
    from devduck_otel_exporter_zip import _journal as journal_module
    from devduck_otel_exporter_zip._journal import MAX_PENDING

    monkeypatch.setattr(journal_module, "WAKE_PENDING", MAX_PENDING * 10)
    journal = _journal(tmp_path)
    for _ in range(MAX_PENDING + 10):
        _feed(journal, 1)
    written = (journal.path / "events.jsonl").read_bytes().count(b"\n")
    assert written >= MAX_PENDING
    journal.close()


def test_a_burst_of_ended_spans_is_written_by_the_thread_that_ends_them(tmp_path: Path) -> None:
    """WAKE_PENDING ended spans are written as the last of them ends, on its thread.

    So a burst is derived while it comes (the interval here is 60 s) and ``stop``
    finds little left; no GIL hand-over to the flush thread is paid for it.
    """
    from devduck_otel_exporter_zip._journal import WAKE_PENDING

    journal = _journal(tmp_path)
    events = journal.path / "events.jsonl"
    for _ in range(WAKE_PENDING - 1):
        _feed(journal, 1)
    assert events.read_bytes().count(b"\n") == 0
    _feed(journal, 1)
    assert events.read_bytes().count(b"\n") == 1 + WAKE_PENDING
    journal.close()


def test_a_burst_during_another_flush_wakes_the_flush_thread(tmp_path: Path) -> None:
    """While another thread flushes, the ending thread does not wait for it.

    The flush thread writes the burst once the other flush is done (the interval
    here is 60 s).
    """
    import threading
    import time

    from devduck_otel_exporter_zip._journal import WAKE_PENDING

    journal = _journal(tmp_path)
    events = journal.path / "events.jsonl"
    held, release = threading.Event(), threading.Event()

    def other_flush() -> None:
        with journal._io_lock:  # what a flush under way on another thread holds
            held.set()
            release.wait(30)

    other = threading.Thread(target=other_flush)
    other.start()
    assert held.wait(30)
    feeder = threading.Thread(target=lambda: [_feed(journal, 1) for _ in range(WAKE_PENDING)])
    feeder.start()
    feeder.join(30)
    assert not feeder.is_alive()  # the ending thread never waited for the lock
    assert events.read_bytes().count(b"\n") == 0
    release.set()
    other.join(30)
    deadline = time.monotonic() + 30
    while events.read_bytes().count(b"\n") < 1 + WAKE_PENDING and time.monotonic() < deadline:
        time.sleep(0.01)
    assert events.read_bytes().count(b"\n") == 1 + WAKE_PENDING
    journal.close()


def test_kill_minus_nine_then_recover_keeps_every_flushed_event(recordings_dir: Path) -> None:
    """After kill -9, `recover` restores every event flushed before the kill, as a valid ZIP."""
    _crash(300)
    journals = list(recordings_dir.glob("*.journal"))
    assert len(journals) == 1
    zips = recover_journals(recordings_dir)
    assert len(zips) == 1 and not journals[0].exists()
    session = devduck_otel.load_session(zips[0])
    assert len(session.get_events_by_type("tool.call")) == 300
    assert len(session.get_events_by_type("tool.result")) == 300
    assert len(session.get_snapshot(1).agent_messages) == 300
    # the agent span never ended: its user message is recovered all the same
    assert [m["data"]["role"] for m in session.get_events_by_type("message")] == ["user"]


def test_recover_cli_prints_zip_paths(recordings_dir: Path) -> None:
    """`devduck-otel recover` turns a crashed journal into a ZIP and prints its path."""
    _crash(5)
    cli = Path(sys.executable).with_name("devduck-otel")
    out = subprocess.run([str(cli), "recover"], capture_output=True, text=True, check=True)
    printed = [line for line in out.stdout.splitlines() if line.strip().endswith(".zip")]
    assert len(printed) == 1 and Path(printed[0].split()[-1]).exists()


def test_recover_skips_a_live_recording(recordings_dir: Path) -> None:
    """A journal whose process is alive (this one) is not recovered under it."""
    devduck_otel.start_recording()
    assert recover_journals(recordings_dir) == []


def test_torn_last_line_is_skipped(tmp_path: Path) -> None:
    """A half-written last line (killed mid-write) is dropped; the rest is recovered."""
    journal = _journal(tmp_path)
    _feed(journal, 1)
    journal.close()
    with open(journal.path / "events.jsonl", "ab") as handle:
        handle.write(b'{"timestamp_ns":2,"layer":"to')
    path = recover_journal(journal.path)
    with zipfile.ZipFile(path) as zf:
        assert len(zf.read("events.jsonl").splitlines()) == 2  # session.start and f0


def test_failed_export_keeps_the_previous_zip(tmp_path: Path) -> None:
    """An export that fails midway leaves the earlier ZIP at the path untouched."""
    journal = _journal(tmp_path)
    _feed(journal, 1)
    journal.flush()
    target = tmp_path / "out.zip"
    write_session_zip(journal.path, target, stopped=False)
    before = target.read_bytes()
    (journal.path / "meta.json").write_text("{broken")
    with pytest.raises(ValueError, match=r"unexpected|JSON|parse"):
        write_session_zip(journal.path, target, stopped=False)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    journal.close()


def test_recover_rejects_a_folder_that_is_no_journal(tmp_path: Path) -> None:
    """recover_journal on a plain folder says it is not a journal."""
    with pytest.raises(FileNotFoundError, match="not a devduck-otel journal"):
        recover_journal(tmp_path)


def test_no_event_is_dropped_past_the_old_10000_cap() -> None:
    """30,000 events all reach events.jsonl, and total_events counts every line."""
    rec = devduck_otel.start_recording(sys_layer=False)
    assert isinstance(rec, devduck_otel.Recorder)
    for i in range(30_000):
        rec.emit("sys", "file.open", {"path": f"/data/{i}", "mode": "r"})
    path = devduck_otel.stop_recording()
    assert path is not None
    with zipfile.ZipFile(path) as zf:
        lines = zf.read("events.jsonl").splitlines()
        meta = json.loads(zf.read("metadata.json"))
    opens = [json.loads(line) for line in lines if b'"file.open"' in line]
    assert [e["data"]["path"] for e in opens] == [f"/data/{i}" for i in range(30_000)]
    assert meta["total_events"] == len(lines) == 30_002


def test_torn_tail_that_could_not_be_cut_back_costs_no_later_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write torn by a full disk whose cut-back fails too: the next batch stays whole.

    The disk's two failures (a write stopping part-way, a truncate refused) are made
    with monkeypatch: nothing else makes a truncate fail on demand.
    """
    import errno

    from devduck_otel_exporter_zip._files import JournalFiles, load_json_lines

    files = JournalFiles(tmp_path)
    files.append("events.jsonl", [b'{"n":1}'])
    files.flush()
    real_write = os.write

    def torn_write(fd: int, data: bytes) -> int:
        real_write(fd, bytes(data[:5]))  # '{"n":' reaches the disk, then it is full
        raise OSError(errno.ENOSPC, "No space left on device")

    def refused_truncate(fd: int, length: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "write", torn_write)
    monkeypatch.setattr(os, "ftruncate", refused_truncate)
    files.append("events.jsonl", [b'{"n":2}'])
    with pytest.raises(OSError, match="No space left"):
        files.flush()
    monkeypatch.undo()
    files.append("events.jsonl", [b'{"n":3}'])
    files.flush()
    assert files.close(sync=True) is None
    assert load_json_lines(tmp_path / "events.jsonl") == [{"n": 1}, {"n": 2}, {"n": 3}]
