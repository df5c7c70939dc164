"""Resuming agents from snapshots: deep copies, mid-turn repair, linked continuation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

import devduck_otel
from devduck_otel import _api, resume_session
from devduck_otel.exceptions import SessionFormatError, SessionNotFoundError, UnsafeSessionError
from devduck_otel.resume._repair import INTERRUPTED_TEXT, repair_messages
from devduck_otel.resume._resume import snapshot_links
from devduck_otel.session._loader import LoadedSession, SnapshotRecord, load_session
from tests.support.zipbuilder import (
    bot,
    build_zip,
    session_entries,
    tool_result,
    tool_use,
    user,
    write_zip,
)

REPORT_KEYS = {
    "status",
    "snapshot_id",
    "timestamp",
    "cwd",
    "tools_loaded",
    "messages_count",
    "events_before_snapshot",
    "messages_restored",
    "continuation_prompt",
    "cwd_changed",
    "missing_tools",
    "extra_tools",
}


class DuckAgent:
    """A plain agent: a messages list, a prompt, state, tools, and a call."""

    def __init__(self, tools: tuple[str, ...] = ("add", "search"), fail: bool = False) -> None:
        self.messages: list[Any] = [user("something unrelated")]
        self.system_prompt = "old prompt"
        self.state: Any = {"old": True}
        self.tool_names = list(tools)
        self.fail = fail

    def __call__(self, query: str) -> str:
        """Answer with an echo (or fail)."""
        if self.fail:
            raise RuntimeError("model unavailable")
        self.messages += [user(query), bot(f"echo {query}")]
        return f"echo {query}"


SNAPS = [[user("hi")], [user("hi"), bot("hello"), user("add 1 and 1")]]


@pytest.fixture
def session(tmp_path: Path) -> LoadedSession:
    """A loaded session with two snapshots."""
    return load_session(build_zip(tmp_path / "s.zip", snapshots=SNAPS))


def test_resume_restores_messages_prompt_and_state(session: LoadedSession) -> None:
    """The agent gets the snapshot's messages, system prompt and JSON state."""
    agent = DuckAgent()
    report = session.resume_from_snapshot(2, agent=agent)
    assert agent.messages == SNAPS[1]
    assert agent.system_prompt == "You are a duck."
    assert agent.state == {"counter": 2}
    assert report["messages_restored"] == 3
    assert set(report) >= REPORT_KEYS


def test_resumed_agent_does_not_share_state_with_the_session(session: LoadedSession) -> None:
    """Mutating the resumed agent never changes the loaded session."""
    agent = DuckAgent()
    session.resume_from_snapshot(2, agent=agent)
    agent.messages[0]["content"][0]["text"] = "changed"
    agent.messages.append(bot("more"))
    agent.state["counter"] = 99
    snap = session.get_snapshot(2)
    assert snap.agent_messages == SNAPS[1]
    assert snap.agent_state == {"counter": 2}


def test_resume_of_an_empty_snapshot_empties_the_messages(tmp_path: Path) -> None:
    """A snapshot holding no messages still replaces the agent's messages (with [])."""
    session = load_session(build_zip(tmp_path / "s.zip", snapshots=[[]]))
    agent = DuckAgent()
    assert session.resume_from_snapshot(1, agent=agent)["messages_restored"] == 0
    assert agent.messages == []


def test_report_describes_the_snapshot(session: LoadedSession) -> None:
    """The report carries the snapshot's time, cwd, tools, counts and a prompt."""
    report = session.resume_from_snapshot(1)
    assert report["status"] == "success"
    assert report["snapshot_id"] == 1
    assert report["timestamp"] == session.get_snapshot(1).timestamp
    assert report["cwd"] == "/tmp"
    assert report["tools_loaded"] == ["add", "shell"]
    assert report["messages_count"] == 1
    assert report["events_before_snapshot"] == 6
    assert report["messages_restored"] == 0
    assert report["cwd_changed"] is False
    assert "snapshot 1 (snap 1)" in report["continuation_prompt"]
    assert "The last query was: query 1" in report["continuation_prompt"]


def test_tool_differences_are_reported(session: LoadedSession) -> None:
    """Tools the snapshot had and the agent lacks, and the reverse, are listed."""
    report = session.resume_from_snapshot(1, agent=DuckAgent(tools=("add", "search")))
    assert report["missing_tools"] == ["shell"]
    assert report["extra_tools"] == ["search"]


def _with_cwd(tmp_path: Path, cwd: str) -> LoadedSession:
    entries = session_entries(snapshots=[[user("a")]])
    records = orjson.loads(entries["snapshots.json"])
    records[0]["cwd"] = cwd
    entries["snapshots.json"] = orjson.dumps(records)
    return load_session(write_zip(tmp_path / "s.zip", entries))


def test_change_cwd_moves_to_the_snapshot_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """change_cwd=True changes the working directory to the snapshot's."""
    target = tmp_path / "work"
    target.mkdir()
    monkeypatch.chdir(tmp_path)
    report = _with_cwd(tmp_path, str(target)).resume_from_snapshot(1, change_cwd=True)
    assert report["cwd_changed"] is True
    assert Path.cwd() == target


def test_cwd_is_left_alone_by_default_or_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without change_cwd, or when the folder is gone, the working directory stays."""
    monkeypatch.chdir(tmp_path)
    session = _with_cwd(tmp_path, str(tmp_path / "gone"))
    assert session.resume_from_snapshot(1, change_cwd=True)["cwd_changed"] is False
    assert Path.cwd() == tmp_path
    session = _with_cwd(tmp_path, os.path.dirname(tmp_path))
    assert session.resume_from_snapshot(1)["cwd_changed"] is False
    assert Path.cwd() == tmp_path


def test_mid_turn_snapshot_is_repaired_before_restoring(tmp_path: Path) -> None:
    """A dangling toolUse gets an error toolResult in a new user message."""
    session = load_session(build_zip(tmp_path / "s.zip", snapshots=[[user("add"), tool_use("t1")]]))
    agent = DuckAgent()
    report = session.resume_from_snapshot(1, agent=agent)
    result = agent.messages[-1]["content"][0]["toolResult"]
    assert agent.messages[-1]["role"] == "user"
    assert result == {"toolUseId": "t1", "status": "error", "content": [{"text": INTERRUPTED_TEXT}]}
    assert report["repairs"] == ["added an error toolResult for interrupted tool use t1"]
    assert session.get_snapshot(1).agent_messages[-1] == tool_use("t1")


def test_missing_result_joins_the_following_user_message() -> None:
    """With a user message after the tool use, the error result goes first in it."""
    two = {"role": "assistant", "content": [*tool_use("a")["content"], *tool_use("b")["content"]]}
    messages = [user("go"), two, tool_result("a"), bot("ok")]
    repair_messages(messages)
    ids = [b["toolResult"]["toolUseId"] for b in messages[2]["content"]]
    assert ids == ["b", "a"]
    assert len(messages) == 4


def test_orphan_tool_results_are_dropped() -> None:
    """A toolResult no tool use asked for is removed, and its emptied message too."""
    messages = [tool_result("x"), user("hi"), bot("hello")]
    assert repair_messages(messages) == ["dropped 1 toolResult(s) with no tool use"]
    assert messages == [user("hi"), bot("hello")]


def test_openai_shaped_tool_calls_are_answered() -> None:
    """An assistant tool_calls entry without a tool message gets one."""
    messages: list[Any] = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "tool_calls": [{"id": "c1"}, {"id": "c2"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "2"},
    ]
    repair_messages(messages)
    assert messages[3] == {"role": "tool", "tool_call_id": "c2", "content": INTERRUPTED_TEXT}


def test_complete_turns_are_not_changed() -> None:
    """A conversation with every tool use answered is left as it is."""
    messages = [user("add"), tool_use("t1"), tool_result("t1"), bot("2")]
    assert repair_messages(messages) == []
    assert messages == [user("add"), tool_use("t1"), tool_result("t1"), bot("2")]


def test_resume_of_an_object_that_is_no_agent_raises(session: LoadedSession) -> None:
    """An object without a messages list cannot be resumed."""
    with pytest.raises(TypeError, match="messages"):
        session.resume_from_snapshot(1, agent=object())


def test_resume_of_a_missing_snapshot_raises(session: LoadedSession) -> None:
    """Resuming a snapshot id that does not exist names the ids there are."""
    with pytest.raises(ValueError, match="no snapshot 7"):
        session.resume_from_snapshot(7, agent=DuckAgent())


def test_resume_session_picks_the_latest_snapshot(tmp_path: Path) -> None:
    """resume_session without an id resumes the last snapshot."""
    agent = DuckAgent()
    report = resume_session(build_zip(tmp_path / "s.zip", snapshots=SNAPS), agent=agent)
    assert report["snapshot_id"] == 2
    assert agent.messages == SNAPS[1]


def test_resume_session_of_a_named_snapshot(tmp_path: Path) -> None:
    """resume_session with an id resumes that snapshot."""
    report = resume_session(build_zip(tmp_path / "s.zip", snapshots=SNAPS), 1)
    assert (report["snapshot_id"], report["messages_count"]) == (1, 1)


def test_resume_session_without_snapshots_raises(tmp_path: Path) -> None:
    """A session with no snapshot cannot be resumed."""
    with pytest.raises(SessionFormatError, match="no snapshot to resume from"):
        resume_session(build_zip(tmp_path / "s.zip"))


def test_resume_session_of_a_missing_file_raises(tmp_path: Path) -> None:
    """A missing file raises SessionNotFoundError."""
    with pytest.raises(SessionNotFoundError):
        resume_session(tmp_path / "missing.zip")


def test_resume_session_with_a_query_needs_an_agent(tmp_path: Path) -> None:
    """A new query without an agent to run it is a ValueError."""
    with pytest.raises(ValueError, match="needs agent="):
        resume_session(build_zip(tmp_path / "s.zip", snapshots=SNAPS), new_query="go on")


def test_continue_runs_the_agent_in_a_linked_recording(session: LoadedSession) -> None:
    """resume_and_continue runs the query in a new recording that names its parent."""
    agent = DuckAgent()
    report = session.resume_and_continue(2, "and now?", agent=agent)
    assert report["agent_result"] == "echo and now?"
    assert agent.messages[-1] == bot("echo and now?")
    assert _api.current() is None
    child = load_session(report["session_path"])
    assert child.metadata["parent_session"] == "session-test"
    assert child.metadata["parent_snapshot"] == 2


def test_continue_inside_a_running_recording_keeps_it_running(session: LoadedSession) -> None:
    """With a recording already running, the turn is recorded there and it goes on."""
    devduck_otel.start_recording()
    report = session.resume_and_continue(1, "more", agent=DuckAgent())
    assert report["session_path"] is None
    assert _api.current() is not None
    devduck_otel.stop_recording()


def test_continue_stops_its_recording_when_the_agent_fails(session: LoadedSession) -> None:
    """An agent error propagates, and the recording started for it is stopped."""
    with pytest.raises(RuntimeError, match="model unavailable"):
        session.resume_and_continue(1, "more", agent=DuckAgent(fail=True))
    assert _api.current() is None


def test_continue_without_an_agent_raises(session: LoadedSession) -> None:
    """resume_and_continue needs an agent."""
    with pytest.raises(ValueError, match="needs agent="):
        session.resume_and_continue(1, "more")


def _record_two_snapshots(agent: DuckAgent) -> tuple[str, int, int]:
    devduck_otel.start_recording()
    first = devduck_otel.snapshot(agent, "mid-turn", last_query="add")
    agent.messages += [tool_result("t9"), bot("2")]
    second = devduck_otel.snapshot(agent, "done")
    path = devduck_otel.stop_recording()
    assert path is not None
    return path, first, second


def test_round_trip_through_the_real_recorder() -> None:
    """Snapshots taken by the recorder load back and resume into a fresh agent."""
    agent = DuckAgent()
    agent.messages = [user("hi"), bot("hello"), user("add"), tool_use("t9")]
    path, first, second = _record_two_snapshots(agent)
    session = load_session(path)
    assert [s.description for s in session.snapshots] == ["mid-turn", "done"]
    assert session.get_snapshot(second).agent_messages == agent.messages
    assert len(session.get_events_by_type("snapshot.created")) == 2
    fresh = DuckAgent()
    report = session.resume_from_snapshot(first, agent=fresh)
    assert fresh.messages[:4] == agent.messages[:4]
    assert fresh.messages[4]["content"][0]["toolResult"]["status"] == "error"
    assert report["repairs"]


def test_round_trip_of_pickled_state_needs_allow_pickle() -> None:
    """State the recorder pickled comes back only with allow_pickle=True."""
    agent = DuckAgent()
    agent.state = {"step": 3, "lock": _Unjsonable()}
    path, first, _ = _record_two_snapshots(agent)
    fresh = DuckAgent()
    report = load_session(path).resume_from_snapshot(first, agent=fresh)
    assert report["state_restored"] is False
    assert fresh.state == {"old": True}
    assert "allow_pickle=True" in report["notes"][-1]
    trusted = DuckAgent()
    report = load_session(path, allow_pickle=True).resume_from_snapshot(first, agent=trusted)
    assert report["state_restored"] is True
    assert trusted.state["step"] == 3
    assert isinstance(trusted.state["lock"], _Unjsonable)


class _Unjsonable:
    """An object JSON cannot hold (so the recorder pickles it)."""


def test_snapshot_links_point_at_the_snapshot_span(session: LoadedSession) -> None:
    """The continued turn links to the span that took the snapshot; bad ids give no link."""
    snap = session.get_snapshot(1)
    (link,) = snapshot_links(snap)
    assert format(link.context.trace_id, "032x") == snap.trace_id
    assert format(link.context.span_id, "016x") == snap.span_id
    assert snapshot_links(SnapshotRecord(snap, span_id="0" * 16)) == []
    assert snapshot_links(SnapshotRecord(snap, trace_id="XYZ")) == []


def test_signed_round_trip_restores_pickled_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """With DEVDUCK_SIGNING_KEY set, the recorder's signed blobs load; another key refuses."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", "k1")
    agent = DuckAgent()
    agent.state = {"lock": _Unjsonable()}
    path, first, _ = _record_two_snapshots(agent)
    trusted = DuckAgent()
    load_session(path, allow_pickle=True).resume_from_snapshot(first, agent=trusted)
    assert isinstance(trusted.state["lock"], _Unjsonable)
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", "k2")
    with pytest.raises(UnsafeSessionError, match="bad HMAC-SHA256 signature"):
        load_session(path, allow_pickle=True)
