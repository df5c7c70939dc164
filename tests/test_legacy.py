"""ZIPs written by the original devduck recorder (1.15.x) load as sessions of our shape."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import pytest

from devduck_otel import resume_session
from devduck_otel.resume._repair import INTERRUPTED_TEXT
from devduck_otel.session._loader import load_session
from tests.support.zipbuilder import (
    build_legacy_zip,
    evil_pickle,
    legacy_entries,
    tool_use,
    write_zip,
)


@pytest.fixture
def legacy_zip(tmp_path: Path) -> Path:
    """A stopped devduck 1.15.x session with two snapshots."""
    return build_legacy_zip(tmp_path / "session-20251124-160000.zip")


def test_loads_events_and_snapshots(legacy_zip: Path) -> None:
    """Events, inline snapshot messages and the session id load."""
    session = load_session(legacy_zip)
    assert len(session.events) == 8
    assert session.session_id == "session-20251124-160000"
    assert session.get_snapshot(2).agent_messages[-1] == tool_use("t-1")
    assert session.duration == 124.5


def test_nan_and_ascii_escapes_load(legacy_zip: Path) -> None:
    """NaN values and ASCII-escaped text come back as float nan and unicode."""
    session = load_session(legacy_zip)
    assert math.isnan(session.get_events_by_type("tool.call")[0]["data"]["args"]["b"])
    assert session.get_events_by_type("message")[0]["data"]["content_preview"].endswith("ünïcode")


def test_naive_times_gain_a_timezone(legacy_zip: Path) -> None:
    """Naive local ISO times become aware times of the same local instant."""
    meta = load_session(legacy_zip).metadata
    start = datetime.fromisoformat(meta["start_time"])
    assert start.tzinfo is not None
    assert start.replace(tzinfo=None) == datetime(2025, 11, 24, 16, 0, 0, 123456)
    assert datetime.fromisoformat(meta["end_time"]).tzinfo is not None
    assert (meta["format"], meta["format_version"], meta["recording"]) == ("devduck", 0, False)


def test_descriptions_come_from_snapshot_events(legacy_zip: Path) -> None:
    """The description, only in the snapshot.created event there, is on the record."""
    session = load_session(legacy_zip)
    assert [s.description for s in session.snapshots] == ["after listing", "mid-turn"]


def test_snapshot_times_and_event_counts_are_normalised(legacy_zip: Path) -> None:
    """Float timestamps gain an aware ISO time; the running total becomes a per-snapshot count."""
    snaps = load_session(legacy_zip).snapshots
    assert snaps[0].timestamp == 1_764_000_001.5
    assert datetime.fromisoformat(snaps[0].time).timestamp() == 1_764_000_001.5
    assert [s.events_since_last for s in snaps] == [3, 3]
    assert [s.events_total for s in snaps] == [3, 6]


def test_events_gain_span_id_keys(legacy_zip: Path) -> None:
    """Legacy events get null span ids, as ours have outside a span."""
    event = load_session(legacy_zip).events[0]
    assert (event["trace_id"], event["span_id"], event["parent_span_id"]) == (None, None, None)


def test_exported_without_stop_is_still_recording(tmp_path: Path) -> None:
    """A ZIP exported mid-recording lacks the stop fields and says it was recording."""
    session = load_session(build_legacy_zip(tmp_path / "s.zip", exported_only=True))
    assert session.metadata["recording"] is True
    assert "end_time" not in session.metadata
    assert session.duration == 124.5  # from the first and last event


def test_session_pkl_is_never_unpickled_even_when_allowed(tmp_path: Path) -> None:
    """The session.pkl of devduck holds its classes: it is not run, even with allow_pickle."""
    marker = tmp_path / "pwned"
    entries = legacy_entries()
    entries["session.pkl"] = evil_pickle(marker)
    session = load_session(write_zip(tmp_path / "s.zip", entries), allow_pickle=True)
    assert not marker.exists()
    assert session.pickled_state is None


def test_devduck_class_pickle_does_not_break_loading(legacy_zip: Path) -> None:
    """The devduck-class pickle (unimportable here) does not stop the load."""
    assert load_session(legacy_zip, allow_pickle=True).get_snapshot(1).cwd == "/tmp"


def test_session_pkl_error_entry_is_ignored(tmp_path: Path) -> None:
    """A ZIP whose pickling failed carries session.pkl.error instead; it loads."""
    entries = legacy_entries()
    del entries["session.pkl"]
    entries["session.pkl.error"] = b"cannot pickle '_thread.lock' object"
    assert len(load_session(write_zip(tmp_path / "s.zip", entries)).snapshots) == 2


def test_resume_latest_snapshot_repairs_the_dangling_tool_use(legacy_zip: Path) -> None:
    """The mid-turn legacy snapshot resumes with an error toolResult closing the tool use."""

    class Agent:
        def __init__(self) -> None:
            self.messages: list[object] = []
            self.system_prompt = "old"

    agent = Agent()
    report = resume_session(legacy_zip, agent=agent)
    assert report["snapshot_id"] == 2
    assert report["messages_restored"] == 5
    assert agent.messages[-1] == {
        "role": "user",
        "content": [
            {
                "toolResult": {
                    "toolUseId": "t-1",
                    "status": "error",
                    "content": [{"text": INTERRUPTED_TEXT}],
                }
            }
        ],
    }
    assert agent.system_prompt == "You are devduck."
    assert report["events_before_snapshot"] == 7
