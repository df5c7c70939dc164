"""load_session, LoadedSession and list_sessions on sessions of our format and journals."""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import devduck_otel
from devduck_otel.exceptions import SessionFormatError, SessionNotFoundError
from devduck_otel.session._loader import LoadedSession, SnapshotRecord, list_sessions, load_session
from devduck_otel.session._loadparse import BAD, parse_lines
from devduck_otel.session._prefetch import prefetched
from tests.support.zipbuilder import (
    bot,
    build_journal,
    build_zip,
    jsonl,
    session_entries,
    tool_use,
    user,
    write_zip,
)

THREE = [[user("hi")], [user("hi"), bot("hello")], [user("hi"), bot("hello"), user("add")]]


@pytest.fixture
def session_zip(tmp_path: Path) -> Path:
    """A session ZIP with five tool events and three snapshots."""
    return build_zip(tmp_path / "s.zip", snapshots=THREE)


def test_loads_events_snapshots_and_metadata(session_zip: Path) -> None:
    """Events, snapshots and metadata come back with their JSON types."""
    session = load_session(session_zip)
    assert len(session.events) == 8
    assert session.events[0]["data"] == {"name": "add", "args": {"a": 0}}
    assert [s["snapshot_id"] for s in session.snapshots] == [1, 2, 3]
    assert session.metadata["format_version"] == 1
    assert session.session_id == "session-test"
    assert session.duration == 124.5


def test_repr_shows_counts_and_duration(session_zip: Path) -> None:
    """repr() reads like devduck's."""
    assert (
        repr(load_session(session_zip)) == "LoadedSession(events=8, snapshots=3, duration=124.5s)"
    )


def test_snapshot_messages_are_resolved_from_the_message_table(session_zip: Path) -> None:
    """agent_messages is the full list, whether read by index or by get_snapshot."""
    session = load_session(session_zip)
    assert session.get_snapshot(3).agent_messages == THREE[2]
    assert session.snapshots[1]["agent_messages"] == THREE[1]
    assert session.snapshots[0].agent_messages_count == 1


def test_snapshot_records_have_attribute_access(session_zip: Path) -> None:
    """Snapshot records are dicts whose keys read as attributes."""
    snap = load_session(session_zip).get_snapshot(2)
    assert isinstance(snap, SnapshotRecord)
    assert isinstance(snap, dict)
    assert snap.description == "snap 2"
    assert snap.model_info["model_id"] == "duck-1"
    with pytest.raises(AttributeError, match="no field 'nope'"):
        _ = snap.nope


def test_get_snapshot_absent_names_the_existing_ids(session_zip: Path) -> None:
    """Asking for a missing snapshot raises a ValueError listing the ids there are."""
    with pytest.raises(ValueError, match=r"no snapshot 9 .*snapshots: 1, 2, 3"):
        load_session(session_zip).get_snapshot(9)


def test_events_by_layer_and_type(session_zip: Path) -> None:
    """Filtering by layer and by event type."""
    session = load_session(session_zip)
    assert len(session.get_events_by_layer("tool")) == 5
    assert len(session.get_events_by_layer("agent")) == 3
    assert session.get_events_by_layer("sys") == []
    assert [e["data"]["snapshot_id"] for e in session.get_events_by_type("snapshot.created")] == [
        1,
        2,
        3,
    ]


def test_events_until_snapshot_end_at_its_created_event(session_zip: Path) -> None:
    """Events up to and including the snapshot.created event of that snapshot."""
    until = load_session(session_zip).get_events_until_snapshot(2)
    assert len(until) == 7
    assert until[-1]["data"]["snapshot_id"] == 2


def test_events_until_snapshot_fall_back_to_the_timestamp(tmp_path: Path) -> None:
    """Without its snapshot.created event, the snapshot's timestamp bounds the events."""
    entries = session_entries(events=5, snapshots=[[user("x")]])
    events = [orjson.loads(x) for x in entries["events.jsonl"].splitlines()]
    entries["events.jsonl"] = jsonl([e for e in events if e["event_type"] != "snapshot.created"])
    session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert len(session.get_events_until_snapshot(1)) == 5


def test_lossless_bytes_are_restored_in_messages(tmp_path: Path) -> None:
    """A bytes value tagged by _jsonsafe comes back as bytes."""
    tagged = {"__devduck__": "bytes", "base64": base64.b64encode(b"\x00\xff").decode()}
    message = {"role": "user", "content": [{"image": {"bytes": tagged}}]}
    session = load_session(build_zip(tmp_path / "s.zip", snapshots=[[message]]))
    assert session.get_snapshot(1).agent_messages[0]["content"][0]["image"]["bytes"] == b"\x00\xff"


def test_pickle_tags_stay_tags_without_allow_pickle(tmp_path: Path) -> None:
    """A pickled object in a message is not unpickled unless allowed."""
    tag = {"__devduck__": "pickle", "dill": base64.b64encode(b"junk").decode(), "repr": "X()"}
    session = load_session(build_zip(tmp_path / "s.zip", snapshots=[[{"role": "user", "x": tag}]]))
    assert session.get_snapshot(1).agent_messages[0]["x"] == tag


def test_bad_event_line_is_skipped_with_its_number(tmp_path: Path) -> None:
    """One broken line is skipped with a warning naming it; the rest loads."""
    entries = session_entries(events=3)
    lines = entries["events.jsonl"].splitlines()
    lines.insert(1, b"{not json")
    entries["events.jsonl"] = b"\n".join(lines)
    with pytest.warns(UserWarning, match=r"events\.jsonl: line 2 is not valid JSON"):
        session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert [e["seq"] for e in session.events] == [0, 1, 2]


def test_many_bad_lines_give_a_bounded_number_of_warnings(tmp_path: Path) -> None:
    """A file of garbage warns a few times and then once in summary."""
    entries = session_entries(events=1)
    entries["events.jsonl"] += b"garbage\n" * 1000
    with pytest.warns(UserWarning, match="garbage|bad lines|not valid JSON") as caught:
        session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert len(session.events) == 1
    assert len(caught) == 6
    assert "995 more bad lines" in str(caught[-1].message)


def test_non_object_lines_are_skipped(tmp_path: Path) -> None:
    """Valid JSON that is not an object is not an event."""
    entries = session_entries(events=2)
    entries["events.jsonl"] += b"[1, 2]\n"
    with pytest.warns(UserWarning, match="line 3 is not a JSON object"):
        session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert len(session.events) == 2


def test_nan_lines_load_through_the_fallback(tmp_path: Path) -> None:
    """NaN, which orjson refuses, still loads."""
    entries = session_entries(events=1)
    entries["events.jsonl"] += b'{"timestamp_ns": 1, "layer": "tool", "data": {"v": NaN}}\n'
    session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert math.isnan(session.events[1]["data"]["v"])


def test_empty_session_loads(tmp_path: Path) -> None:
    """A session with no events and no snapshots loads as empty."""
    entries = session_entries(events=0)
    assert entries["events.jsonl"] == b""
    session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert (session.events, session.snapshots) == ([], [])
    assert "events=0, snapshots=0" in repr(session)


def test_duration_falls_back_to_event_times(tmp_path: Path) -> None:
    """Without duration_seconds the duration spans the first and last event."""
    entries = session_entries(events=3)
    meta = orjson.loads(entries["metadata.json"])
    del meta["duration_seconds"]
    entries["metadata.json"] = orjson.dumps(meta)
    assert load_session(write_zip(tmp_path / "s.zip", entries)).duration == pytest.approx(0.002)


def test_out_of_range_message_refs_become_notes(tmp_path: Path) -> None:
    """A message range past the table is skipped, noted on the snapshot, and warned about."""
    entries = session_entries(snapshots=[[user("a")]])
    records = orjson.loads(entries["snapshots.json"])
    records[0]["agent_messages_ref"] = [[0, 1], [5, 9]]
    entries["snapshots.json"] = orjson.dumps(records)
    with pytest.warns(UserWarning, match="out of bounds"):
        session = load_session(write_zip(tmp_path / "s.zip", entries))
    snap = session.get_snapshot(1)
    assert snap.agent_messages == [user("a")]
    assert any("out of bounds" in note for note in snap.notes)


def test_broken_snapshots_json_keeps_the_events(tmp_path: Path) -> None:
    """A corrupt snapshots.json loses the snapshots (with a warning), not the events."""
    entries = session_entries(events=2, snapshots=[[user("a")]])
    entries["snapshots.json"] = b"[{"
    with pytest.warns(UserWarning, match="no snapshots loaded"):
        session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert session.snapshots == []
    assert len(session.events) == 3


def test_duplicate_snapshot_ids_keep_the_first(tmp_path: Path) -> None:
    """A repeated snapshot_id is skipped with a warning."""
    entries = session_entries(snapshots=[[user("a")]])
    records = orjson.loads(entries["snapshots.json"])
    entries["snapshots.json"] = orjson.dumps([records[0], dict(records[0], description="dup")])
    with pytest.warns(UserWarning, match="appears twice"):
        session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert [s.description for s in session.snapshots] == ["snap 1"]


def test_missing_metadata_warns_and_uses_the_file_name(tmp_path: Path) -> None:
    """Without metadata.json the session id comes from the file name."""
    entries = session_entries(events=1)
    del entries["metadata.json"]
    with pytest.warns(UserWarning, match=r"metadata\.json is missing"):
        session = load_session(write_zip(tmp_path / "session-x.zip", entries))
    assert session.session_id == "session-x"


def test_accepts_str_paths(session_zip: Path) -> None:
    """A str path works as well as a Path."""
    assert isinstance(load_session(str(session_zip)), LoadedSession)


def test_journal_directory_loads_and_skips_a_torn_last_line(tmp_path: Path) -> None:
    """A crashed recording's journal loads; its half-written last line is skipped."""
    folder = build_journal(tmp_path / "session-j.journal", torn=True, events=4, snapshots=THREE)
    with pytest.warns(UserWarning, match="line 8 is cut off"):
        session = load_session(folder)
    assert len(session.events) == 7
    assert session.get_snapshot(3).agent_messages == THREE[2]
    assert session.metadata["recording"] is True


def test_empty_journal_directory_loads_empty(tmp_path: Path) -> None:
    """A journal with only its meta.json (recording just started) loads as empty."""
    folder = tmp_path / "session-e.journal"
    folder.mkdir()
    (folder / "meta.json").write_bytes(b'{"session_id": "session-e", "format_version": 1}')
    session = load_session(folder)
    assert (session.session_id, session.events, session.snapshots) == ("session-e", [], [])


def test_missing_path_raises_not_found(tmp_path: Path) -> None:
    """A path with nothing there raises SessionNotFoundError naming it."""
    with pytest.raises(SessionNotFoundError, match=r"nope\.zip"):
        load_session(tmp_path / "nope.zip")


def test_not_a_zip_raises_format_error(tmp_path: Path) -> None:
    """A file that is no ZIP raises SessionFormatError naming it."""
    path = tmp_path / "text.zip"
    path.write_text("hello")
    with pytest.raises(SessionFormatError, match=r"text\.zip: not a readable ZIP"):
        load_session(path)


def test_empty_file_raises_format_error(tmp_path: Path) -> None:
    """An empty file raises SessionFormatError."""
    path = tmp_path / "empty.zip"
    path.write_bytes(b"")
    with pytest.raises(SessionFormatError, match=r"empty\.zip"):
        load_session(path)


def test_loads_100k_events_whole(tmp_path: Path) -> None:
    """100,000 events all load, in order (the speed target lives in benchmarks/)."""
    path = build_zip(tmp_path / "big.zip", events=100_000)
    session = load_session(path)
    assert len(session.events) == 100_000
    stamps = [e["timestamp_ns"] for e in session.events]
    assert stamps == sorted(stamps)


def _touch(path: Path, mtime: float, size: int = 10) -> None:
    path.write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))


def test_list_sessions_newest_first(tmp_path: Path) -> None:
    """ZIPs are listed newest first with path, name, size_kb and modified."""
    _touch(tmp_path / "old.zip", 1_700_000_000, 2048)
    _touch(tmp_path / "new.zip", 1_800_000_000)
    _touch(tmp_path / "notes.txt", 1_900_000_000)
    listed = list_sessions(tmp_path)
    assert [s["name"] for s in listed] == ["new.zip", "old.zip"]
    assert listed[1]["size_kb"] == 2.0
    assert listed[1]["path"] == str(tmp_path / "old.zip")
    assert listed[0]["modified"].startswith("2027-01-15T")
    assert listed[0]["modified"][-6] in "+-"


def test_list_sessions_defaults_to_the_recordings_dir(recordings_dir: Path) -> None:
    """With no argument the DEVDUCK_RECORDINGS_DIR folder is listed."""
    recordings_dir.mkdir(parents=True)
    _touch(recordings_dir / "a.zip", 1_700_000_000)
    assert [s["name"] for s in list_sessions()] == ["a.zip"]


def test_list_sessions_of_an_empty_folder_is_empty(tmp_path: Path) -> None:
    """An empty folder, or one with hidden temp ZIPs only, lists nothing."""
    _touch(tmp_path / ".s.zip.123.tmp.zip", 1_700_000_000)
    assert list_sessions(tmp_path) == []


def test_list_sessions_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    """A folder that does not exist has no sessions."""
    assert list_sessions(tmp_path / "none") == []


def test_list_sessions_of_a_file_raises(tmp_path: Path) -> None:
    """A file is not a folder of sessions."""
    path = tmp_path / "f.zip"
    path.write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        list_sessions(path)


def test_list_sessions_skips_dangling_links(tmp_path: Path) -> None:
    """A broken symlink named .zip is not listed."""
    (tmp_path / "gone.zip").symlink_to(tmp_path / "missing")
    assert list_sessions(tmp_path) == []


def _values(session: LoadedSession) -> list[Any]:
    return [e["data"] for e in session.events]


def test_mid_turn_messages_are_loaded_unchanged(tmp_path: Path) -> None:
    """Loading never repairs: the stored snapshot shows the dangling tool use as recorded."""
    session = load_session(build_zip(tmp_path / "s.zip", snapshots=[[user("a"), tool_use("t")]]))
    assert session.get_snapshot(1).agent_messages[-1] == tool_use("t")
    assert _values(session)[0] == {"name": "add", "args": {"a": 0}}


def test_live_journal_of_the_real_recorder_loads(recordings_dir: Path) -> None:
    """While recording, the journal directory loads with the snapshot just taken."""

    class Agent:
        def __init__(self) -> None:
            self.messages = [user("hi"), bot("hello")]

    rec = devduck_otel.start_recording()
    devduck_otel.snapshot(Agent(), "live")
    session = load_session(recordings_dir / f"{rec.session_id}.journal")
    assert session.session_id == rec.session_id
    assert session.get_snapshot(1).agent_messages == [user("hi"), bot("hello")]
    assert session.get_events_by_type("snapshot.created")
    devduck_otel.stop_recording()


def test_lines_split_across_chunks_parse_and_keep_their_numbers() -> None:
    """Chunk boundaries inside a line do not matter; warnings count lines across chunks."""
    chunks = [b'{"a":', b'1}\n{"b"', b":2}\n", b"bad\n", b'{"c": 3}']
    with pytest.warns(UserWarning, match="line 3 is not valid JSON"):
        values = parse_lines(iter(chunks), "x")
    assert values == [{"a": 1}, {"b": 2}, BAD, {"c": 3}]


def test_prefetch_hands_errors_to_the_caller() -> None:
    """An error while reading ahead is raised in the caller's thread, after the good chunks."""

    def broken() -> Iterator[bytes]:
        yield b"one"
        raise SessionFormatError("entry is corrupt")

    got: list[bytes] = []
    with pytest.raises(SessionFormatError, match="entry is corrupt"):
        got.extend(prefetched(broken()))
    assert got == [b"one"]
