"""Forked children (os.fork, multiprocessing fork) never touch the parent's session."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import orjson

SCRIPT = r"""
import multiprocessing, os, sys
import devduck_otel

@devduck_otel.tool
def add(a, b):
    return a + b

def pool_work(i):
    assert not devduck_otel.recording_status().get("recording")
    return add(i, 100)

def own_session():
    devduck_otel.start_recording(session_id="child-own")
    add(7, 7)
    devduck_otel.stop_recording()

devduck_otel.start_recording(session_id="parent")
for i in range(5):
    add(i, 1)
pid = os.fork()
if pid == 0:
    add(99, 99)  # records nothing: the recording is the parent's
    if sys.argv[1] == "own":
        own_session()
    sys.exit(0)  # a normal exit: atexit handlers run in the child too
assert os.waitpid(pid, 0)[1] == 0
with multiprocessing.get_context("fork").Pool(2) as pool:
    assert pool.map(pool_work, range(4)) == [100, 101, 102, 103]
for i in range(5):
    add(i, 2)
print(devduck_otel.stop_recording())
"""


def _run(tmp_path: Path, recordings_dir: Path, mode: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "forker.py"
    script.write_text(SCRIPT)
    return subprocess.run(
        [sys.executable, str(script), mode], capture_output=True, text=True, timeout=240
    )


def _events(path: Path) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as zf:
        return [orjson.loads(line) for line in zf.read("events.jsonl").splitlines()]


def test_forked_children_leave_the_parent_session_whole(
    tmp_path: Path, recordings_dir: Path
) -> None:
    """Children neither write the ZIP, nor remove the journal, nor re-flush parent events."""
    done = _run(tmp_path, recordings_dir, "none")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.strip() == str(recordings_dir / "parent.zip")
    assert sorted(p.name for p in recordings_dir.iterdir()) == ["parent.zip"]
    events = _events(recordings_dir / "parent.zip")
    calls = [e["data"] for e in events if e["event_type"] == "tool.call"]
    assert [c["args"] for c in calls] == [{"a": i, "b": 1} for i in range(5)] + [
        {"a": i, "b": 2} for i in range(5)
    ]
    seqs = [e["seq"] for e in events]
    assert len(seqs) == len(set(seqs))


def test_a_child_may_start_its_own_session(tmp_path: Path, recordings_dir: Path) -> None:
    """After a fork the child can record a session of its own, beside the parent's."""
    done = _run(tmp_path, recordings_dir, "own")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in recordings_dir.iterdir()) == ["child-own.zip", "parent.zip"]
    child = [e["data"] for e in _events(recordings_dir / "child-own.zip")]
    assert {"name": "add", "args": {"a": 7, "b": 7}, "call_id": "call_1"} in child
    parent_calls = [
        e for e in _events(recordings_dir / "parent.zip") if e["event_type"] == "tool.call"
    ]
    assert len(parent_calls) == 10
