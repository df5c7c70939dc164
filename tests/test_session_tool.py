"""session_recorder: every action, and bad input that comes back as an error, never raised."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

import devduck_otel
from devduck_otel import session_recorder


class Agent:
    """An agent with a short conversation."""

    def __init__(self, texts: tuple[str, ...] = ()) -> None:
        self.messages: list[dict[str, Any]] = [
            {"role": "user", "content": [{"text": t}]} for t in texts
        ]


def _text(result: dict[str, Any]) -> str:
    assert set(result) == {"status", "content"}
    return str(result["content"][0]["text"])


def test_full_cycle_of_actions(tmp_path: Path) -> None:
    """start, snapshot, status, export, stop and list succeed and say what they did."""
    started = session_recorder("start", session_id="tool-session")
    assert started["status"] == "success" and "tool-session" in _text(started)
    snap = session_recorder("snapshot", description="first", agent=Agent(("hi",)))
    assert _text(snap) == "Snapshot 1 taken: first."
    assert "1 snapshots" in _text(session_recorder("status"))
    exported = session_recorder("export", output_path=str(tmp_path / "mid.zip"))
    assert str(tmp_path / "mid.zip") in _text(exported) and zipfile.is_zipfile(tmp_path / "mid.zip")
    stopped = session_recorder("stop")
    assert stopped["status"] == "success" and "tool-session.zip" in _text(stopped)
    listed = session_recorder("list")
    assert "tool-session.zip" in _text(listed)
    assert _text(session_recorder("status")) == "Not recording."


def test_resume_latest_and_named_snapshot() -> None:
    """Resume restores the agent from the newest session's latest or named snapshot."""
    devduck_otel.start_recording()
    devduck_otel.snapshot(Agent(("a",)))
    devduck_otel.snapshot(Agent(("a", "b")))
    devduck_otel.stop_recording()
    fresh = Agent()
    assert "2 messages restored" in _text(session_recorder("resume", agent=fresh))
    assert len(fresh.messages) == 2
    assert "1 messages restored" in _text(session_recorder("resume", agent=fresh, snapshot_id=1))


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: session_recorder("explode"), "Unknown action 'explode'"),
        (lambda: session_recorder(None), "Unknown action None"),  # type: ignore[arg-type]
        (lambda: session_recorder(""), "Unknown action ''"),
        (lambda: session_recorder("stop"), "nothing to stop"),
        (lambda: session_recorder("export"), "nothing to export"),
        (lambda: session_recorder("snapshot"), "No recording is running"),
        (lambda: session_recorder("resume", output_path="/nonexistent/x.zip"), "resume failed"),
    ],
)
def test_bad_input_comes_back_as_an_error(call: Any, expected: str) -> None:
    """Unknown or ill-timed actions return status error with a readable message."""
    result = call()
    assert result["status"] == "error"
    assert expected in _text(result)


def test_resume_out_of_range_and_start_twice() -> None:
    """A snapshot out of range, or a second start, are errors naming the problem."""
    devduck_otel.start_recording()
    devduck_otel.snapshot(Agent(("a",)))
    twice = session_recorder("start")
    assert twice["status"] == "error" and "already running" in _text(twice)
    path = devduck_otel.stop_recording()
    result = session_recorder("resume", output_path=path, snapshot_id=7, agent=Agent())
    assert result["status"] == "error"
    assert "Snapshot 7 is out of range" in _text(result) and "1 to 1" in _text(result)


def test_resume_with_no_sessions_is_an_error() -> None:
    """With an empty recordings folder, resume says there is nothing to resume."""
    result = session_recorder("resume", agent=Agent())
    assert result["status"] == "error" and "No recorded sessions" in _text(result)


def test_hostile_zip_is_an_error_not_an_exception(tmp_path: Path) -> None:
    """A file that is not a ZIP comes back as an error dict."""
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"PK\x03\x04 not really")
    result = session_recorder("resume", output_path=str(bogus), agent=Agent())
    assert result["status"] == "error" and "bogus.zip" in _text(result)
