"""The recording API end to end: start, events, snapshots, export, stop, ZIP format."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

import devduck_otel
from devduck_otel.exceptions import RecordingStateError


class TinyAgent:
    """The smallest agent devduck-otel can snapshot."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.system_prompt = "You are terse."
        self.tool_names = ["add"]


@devduck_otel.tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def _zip_json(path: str, name: str) -> Any:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read(name))


def _events(path: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as zf:
        return [json.loads(line) for line in zf.read("events.jsonl").splitlines()]


def test_start_stop_writes_zip_with_required_entries(recordings_dir: Path) -> None:
    """A start/stop cycle writes a ZIP with the four required entries, first in order."""
    devduck_otel.start_recording()
    path = devduck_otel.stop_recording()
    assert path is not None and Path(path).parent == recordings_dir
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert names[:4] == ["events.jsonl", "snapshots.json", "metadata.json", "session.pkl"]


def test_session_ids_unique_within_one_second() -> None:
    """Two sessions started back to back get different ids and ZIPs."""
    first = devduck_otel.start_recording().session_id
    path1 = devduck_otel.stop_recording()
    second = devduck_otel.start_recording().session_id
    path2 = devduck_otel.stop_recording()
    assert first != second and path1 != path2
    assert re.fullmatch(r"session-\d{8}-\d{6}-[0-9a-f]{6}", first)


def test_start_twice_is_refused_with_a_clear_message() -> None:
    """Starting while a recording runs raises RecordingStateError naming the session."""
    rec = devduck_otel.start_recording()
    with pytest.raises(RecordingStateError, match=rec.session_id):
        devduck_otel.start_recording()


def test_tool_events_and_ids_in_events_jsonl() -> None:
    """Tool calls produce tool.call and tool.result lines with OTel ids in hex."""
    devduck_otel.start_recording()
    assert add(2, b=3) == 5
    path = devduck_otel.stop_recording()
    assert path is not None
    events = _events(path)
    call = next(e for e in events if e["event_type"] == "tool.call")
    result = next(e for e in events if e["event_type"] == "tool.result")
    assert call["data"]["args"] == {"a": 2, "b": 3}
    assert result["data"]["result"] == 5 and isinstance(result["data"]["result"], int)
    assert result["data"]["duration_ms"] >= 0
    assert list(call)[:5] == ["timestamp_ns", "layer", "event_type", "data", "trace_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", call["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", call["span_id"])
    assert call["span_id"] == result["span_id"]
    stamps = [e["timestamp_ns"] for e in events]
    assert stamps == sorted(stamps)


def test_snapshots_count_from_one_and_hold_the_state() -> None:
    """Snapshots count from 1 and keep messages, prompt, tools, cwd and model info."""
    agent = TinyAgent()
    devduck_otel.start_recording()
    agent.messages.append({"role": "user", "content": [{"text": "hi"}]})
    first = devduck_otel.snapshot(agent, "first", last_query="hi")
    agent.messages.append({"role": "assistant", "content": [{"text": "hello"}]})
    second = devduck_otel.snapshot(agent, "second")
    path = devduck_otel.stop_recording()
    assert (first, second) == (1, 2)
    assert path is not None
    snaps = _zip_json(path, "snapshots.json")
    assert [s["snapshot_id"] for s in snaps] == [1, 2]
    assert snaps[0]["agent_messages_count"] == 1 and snaps[1]["agent_messages_count"] == 2
    assert snaps[1]["agent_messages_ref"] == [[0, 2]]
    assert snaps[0]["system_prompt"] == "You are terse."
    assert re.fullmatch(r"[0-9a-f]{64}", snaps[0]["system_prompt_hash"])
    assert snaps[0]["tools_loaded"] == ["add"] and snaps[0]["last_query"] == "hi"
    assert re.fullmatch(r"[0-9a-f]{64}", snaps[0]["sha256"]) and snaps[0]["size"] > 0


def test_later_changes_to_the_agent_never_change_an_earlier_snapshot() -> None:
    """Mutating a message after a snapshot leaves the snapshot as it was."""
    agent = TinyAgent()
    agent.messages.append({"role": "user", "content": [{"text": "original"}]})
    devduck_otel.start_recording()
    devduck_otel.snapshot(agent)
    agent.messages[0]["content"][0]["text"] = "changed"
    path = devduck_otel.stop_recording()
    assert path is not None
    session = devduck_otel.load_session(path)
    assert session.get_snapshot(1).agent_messages[0]["content"][0]["text"] == "original"


def test_export_without_stop_is_complete_and_recording_goes_on(tmp_path: Path) -> None:
    """export_recording writes a loadable ZIP and the recording keeps running."""
    devduck_otel.start_recording()
    add(1, 1)
    exported = devduck_otel.export_recording(str(tmp_path / "mid.zip"))
    assert exported == str(tmp_path / "mid.zip")
    assert len(devduck_otel.load_session(exported).get_events_by_type("tool.call")) == 1
    assert devduck_otel.recording_status()["recording"] is True
    meta = _zip_json(exported, "metadata.json")
    assert meta["recording"] is True and meta["total_events"] == len(_events(exported))
    add(2, 2)
    final = devduck_otel.stop_recording()
    assert final is not None
    assert len(_events(final)) > len(_events(exported))


def test_metadata_fields_and_timezone() -> None:
    """metadata.json holds the documented fields, times with an offset, totals that match."""
    devduck_otel.start_recording()
    devduck_otel.snapshot()
    path = devduck_otel.stop_recording()
    assert path is not None
    meta = _zip_json(path, "metadata.json")
    for key in (
        "session_id",
        "start_time",
        "end_time",
        "duration_seconds",
        "total_events",
        "total_snapshots",
        "hostname",
        "platform",
        "python_version",
        "serializer",
        "format",
        "format_version",
    ):
        assert key in meta, key
    assert meta["format"] == "devduck-otel-session" and meta["format_version"] == 1
    assert re.search(r"[+-]\d\d:\d\d$", meta["start_time"])
    assert meta["total_events"] == len(_events(path)) and meta["total_snapshots"] == 1


def test_status_reports_counts() -> None:
    """recording_status reflects events and snapshots as they happen."""
    assert devduck_otel.recording_status()["recording"] is False
    rec = devduck_otel.start_recording()
    add(1, 2)
    devduck_otel.snapshot()
    status = devduck_otel.recording_status()
    assert status["session_id"] == rec.session_id and status["snapshots"] == 1
    assert status["events"] >= 3


def test_stop_without_recording_returns_none_and_snapshot_raises() -> None:
    """stop_recording with nothing running returns None; snapshot() raises clearly."""
    assert devduck_otel.stop_recording() is None
    with pytest.raises(RecordingStateError, match="no recording is running"):
        devduck_otel.snapshot()
    with pytest.raises(RecordingStateError):
        devduck_otel.export_recording()


def test_sdk_disabled_records_nothing_and_never_raises(
    monkeypatch: pytest.MonkeyPatch, recordings_dir: Path
) -> None:
    """With OTEL_SDK_DISABLED=true every call works and nothing is written."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    devduck_otel.start_recording()
    assert add(1, 2) == 3
    assert devduck_otel.snapshot(TinyAgent()) == 1
    assert devduck_otel.export_recording() == ""
    assert devduck_otel.stop_recording() is None
    assert not recordings_dir.exists() or not any(recordings_dir.iterdir())


def test_state_dill_cannot_serialize_is_left_out_with_a_note() -> None:
    """An agent state dill cannot carry is left out with a note, never an exception."""
    import threading

    agent = TinyAgent()
    agent.state = {"lock": threading.Lock(), "gen": (i for i in range(3))}  # type: ignore[attr-defined]
    devduck_otel.start_recording()
    devduck_otel.snapshot(agent)
    path = devduck_otel.stop_recording()
    assert path is not None
    snap = _zip_json(path, "snapshots.json")[0]
    assert snap["agent_state"] is None and snap["state_blob"] is None
    assert any("agent state left out" in note for note in snap["notes"])


def test_state_that_is_not_json_goes_to_a_dill_blob() -> None:
    """A non-JSON agent state is stored as a dill blob entry referenced by the snapshot."""

    class Custom:
        def __init__(self) -> None:
            self.value = 42

    agent = TinyAgent()
    agent.state = Custom()  # type: ignore[attr-defined]
    devduck_otel.start_recording()
    devduck_otel.snapshot(agent)
    path = devduck_otel.stop_recording()
    assert path is not None
    snap = _zip_json(path, "snapshots.json")[0]
    assert snap["state_blob"].startswith("blobs/")
    with zipfile.ZipFile(path) as zf:
        assert snap["state_blob"] in zf.namelist()


def test_messages_stored_once_across_snapshots() -> None:
    """A growing conversation stores each message once in messages.jsonl."""
    agent = TinyAgent()
    devduck_otel.start_recording()
    for turn in range(10):
        agent.messages.append({"role": "user", "content": [{"text": f"turn {turn}"}]})
        devduck_otel.snapshot(agent)
    path = devduck_otel.stop_recording()
    assert path is not None
    with zipfile.ZipFile(path) as zf:
        rows = zf.read("messages.jsonl").splitlines()
    assert len(rows) == 10
    snaps = _zip_json(path, "snapshots.json")
    assert snaps[-1]["agent_messages_ref"] == [[0, 10]]


class Point:
    """A custom object inside a message: JSON cannot hold it, dill can."""

    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other.x == self.x

    __hash__ = None  # type: ignore[assignment]


def test_signed_session_restores_pickled_message_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """With DEVDUCK_SIGNING_KEY, a custom object in a message comes back with allow_pickle."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", "k3y-for-tests")
    agent = TinyAgent()
    agent.messages.append({"role": "user", "content": [{"point": Point(3)}]})
    devduck_otel.start_recording()
    devduck_otel.snapshot(agent)
    path = devduck_otel.stop_recording()
    assert path is not None
    with zipfile.ZipFile(path) as zf:
        signed = json.loads(zf.read("signatures.json"))["entries"]
    assert {"session.pkl", "messages.jsonl", "snapshots.json"} <= set(signed)
    restored = devduck_otel.load_session(path, allow_pickle=True).get_snapshot(1).agent_messages
    assert restored[0]["content"][0]["point"] == Point(3)
    plain = devduck_otel.load_session(path).get_snapshot(1).agent_messages
    assert plain[0]["content"][0]["point"]["__devduck__"] == "pickle"
