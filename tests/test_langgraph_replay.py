"""``session.replay(graph)`` for a compiled LangGraph graph: chat model and tools from the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.globals import get_llm_cache
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph

import devduck_otel
from devduck_otel.replay._langgraph import response_message, tool_nodes
from devduck_otel.replay._steps import Step
from devduck_otel.testing import ScriptedChatModel
from tests.support.langgraph_kit import TOOLS, NotesState, react_graph, read_note, without_ids


@tool("read_note")
def read_note_must_not_run(path: str) -> str:
    """Read a text file."""
    raise AssertionError(f"read_note ran during a replay: {path}")


@tool("explode")
def explode_must_not_run(reason: str) -> str:
    """Always fails."""
    raise AssertionError(f"explode ran during a replay: {reason}")


@tool("fetch")
def fetch_must_not_run(url: str) -> str:
    """GET a URL and return the body."""
    raise AssertionError(f"fetch ran during a replay: {url}")


MUST_NOT_RUN = [read_note_must_not_run, fetch_must_not_run, explode_must_not_run]


def _record(note: Path) -> devduck_otel.LoadedSession:
    """Two invocations: a file-reading tool, a failing tool, and the model's replies."""
    note.write_text("recorded ☕", encoding="utf-8")
    model = ScriptedChatModel(
        turns=[("read_note", {"path": str(note)}), "read it", ("explode", {"reason": "r"}), "sorry"]
    )
    graph = react_graph(model)
    devduck_otel.instrument(graph)
    first = graph.invoke({"messages": [("user", "read the note")]})
    graph.invoke({"messages": [*first["messages"], ("user", "now fail")]})
    path = devduck_otel.stop_recording()
    assert path is not None
    devduck_otel.uninstrument(graph)
    return devduck_otel.load_session(path)


def _final_messages(session: devduck_otel.LoadedSession) -> list[dict[str, Any]]:
    """The last snapshot's messages, without ids and usage.

    LangChain adds a zero ``total_cost`` to the usage of a reply served from its cache.
    """
    messages = without_ids(session.snapshots[-1].agent_messages)
    return [{**m, "data": {**m["data"], "usage_metadata": None}} for m in messages]


def test_a_full_replay_serves_every_model_and_tool_step_from_the_record(tmp_path: Path) -> None:
    """Zero model calls, zero tool runs; the same final messages; the recorded error again."""
    note = tmp_path / "note.txt"
    session = _record(note)
    fresh_model = ScriptedChatModel(turns=[])  # raises if called
    fresh = react_graph(fresh_model, tools=MUST_NOT_RUN)
    (node,) = tool_nodes(fresh)
    tools_before, config_before = dict(node.tools_by_name), fresh.config

    result = session.replay(fresh)

    assert (result.diverged, result.divergence) == (False, None)
    assert (result.steps_replayed, result.steps_live) == (6, 0)
    assert result.agent_result == "sorry"
    assert fresh_model.requests == []
    assert result.session_path is not None
    replayed = devduck_otel.load_session(result.session_path)
    assert _final_messages(replayed) == _final_messages(session)
    errors = {e["data"]["name"]: e["data"] for e in replayed.get_events_by_type("tool.result")}
    assert errors["explode"]["error"] == "ValueError: boom: r"  # raised again, handled by ToolNode
    assert errors["read_note"]["result"] == "recorded ☕"
    assert [s.kind for s in replayed.steps] == [s.kind for s in session.steps]
    # Everything given back: the tools, the LLM cache, the graph's config.
    assert node.tools_by_name == tools_before
    assert all(node.tools_by_name[n] is t for n, t in tools_before.items())
    assert get_llm_cache() is None
    assert fresh.config is config_before


def test_a_replay_that_records_nothing_still_carries_the_state_between_invocations(
    tmp_path: Path,
) -> None:
    """record=False: the second invocation still starts from the first one's end state."""
    session = _record(tmp_path / "note.txt")
    fresh_model = ScriptedChatModel(turns=[])
    result = session.replay(react_graph(fresh_model, tools=MUST_NOT_RUN), record=False)
    assert (result.diverged, result.steps_replayed, result.session_path) == (False, 6, None)
    assert fresh_model.requests == []


def test_a_tool_node_inside_a_subgraph_is_served_too(tmp_path: Path) -> None:
    """The graph's nodes are searched for compiled subgraphs and their ToolNodes."""
    note = tmp_path / "note.txt"
    note.write_text("inside", encoding="utf-8")

    def outer(inner: Any) -> Any:
        builder = StateGraph(NotesState)
        builder.add_node("inner", inner)
        builder.add_edge(START, "inner")
        return builder.compile(name="outer")

    graph = outer(react_graph(ScriptedChatModel(turns=[("read_note", {"path": str(note)}), "ok"])))
    devduck_otel.instrument(graph)
    graph.invoke({"messages": [("user", "go")]})
    path = devduck_otel.stop_recording()
    assert path is not None
    fresh = outer(react_graph(ScriptedChatModel(turns=[]), tools=MUST_NOT_RUN))
    assert len(list(tool_nodes(fresh))) == 1
    result = devduck_otel.load_session(path).replay(fresh, record=False)
    assert (result.diverged, result.steps_replayed, result.agent_result) == (False, 3, "ok")


def test_a_changed_system_prompt_diverges_at_the_first_model_step(tmp_path: Path) -> None:
    """The request now starts with a system message the record does not have."""
    session = _record(tmp_path / "note.txt")
    fresh_model = ScriptedChatModel(turns=[])
    fresh = react_graph(fresh_model, system="be terse", tools=MUST_NOT_RUN)
    (node,) = tool_nodes(fresh)
    result = session.replay(fresh, record=False)
    assert result.diverged and result.divergence is not None
    assert (result.divergence.step, result.divergence.kind) == (1, "model")
    assert result.divergence.field == "messages"
    assert result.divergence.actual[0] == {"role": "system", "content": "be terse"}
    assert fresh_model.requests == []
    assert get_llm_cache() is None  # given back after a stopped replay too
    assert [node.tools_by_name[t.name] for t in MUST_NOT_RUN] == MUST_NOT_RUN


def test_a_node_that_changes_the_messages_diverges_at_the_second_model_step(
    tmp_path: Path,
) -> None:
    """The agent node now sends only the last message: the first request is the same."""
    session = _record(tmp_path / "note.txt")
    fresh = react_graph(
        ScriptedChatModel(turns=[]),
        tools=MUST_NOT_RUN,
        prepare=lambda messages: messages[-1:],
    )
    result = session.replay(fresh, record=False)
    assert result.divergence is not None
    assert (result.divergence.step, result.divergence.kind) == (3, "model")
    assert result.divergence.field == "messages"
    assert [m["role"] for m in result.divergence.actual] == ["tool"]
    assert result.steps_replayed == 2


def test_a_graph_without_a_recorded_tool_diverges_at_the_first_model_step(
    tmp_path: Path,
) -> None:
    """The model is now offered other tools than it was."""
    session = _record(tmp_path / "note.txt")
    fresh = react_graph(ScriptedChatModel(turns=[]), tools=MUST_NOT_RUN[1:])
    result = session.replay(fresh, record=False)
    assert result.divergence is not None
    assert (result.divergence.step, result.divergence.field) == (1, "tools")
    assert "read_note" in result.divergence.expected
    assert "read_note" not in result.divergence.actual


def test_a_fork_at_step_one_goes_live_and_writes_a_linked_session(tmp_path: Path) -> None:
    """Step 1 from the record, then the real tools and the fresh model; the graph works after."""
    note = tmp_path / "note.txt"
    session = _record(note)
    note.write_text("changed since", encoding="utf-8")
    fresh_model = ScriptedChatModel(turns=["live one", "live two"])
    fresh = react_graph(fresh_model)
    result = session.replay(fresh, until=1)
    assert result.steps_replayed == 1
    assert result.steps_live == 3  # the tool and two model calls
    assert result.agent_result == "live two"
    first_live = fresh_model.requests[0].messages
    assert [m["type"] for m in first_live] == ["human", "ai", "tool"]
    assert first_live[-1]["data"]["content"] == "changed since"  # the tool ran live
    assert result.session_path is not None
    child = devduck_otel.load_session(result.session_path)
    assert (child.metadata["parent_session"], child.metadata["parent_step"]) == (
        session.session_id,
        1,
    )
    assert [s.kind for s in child.steps] == ["model", "tool", "model", "model"]

    # The untouched graph after the replay: its own model and tools, no cache.
    fresh_model.turns.extend([("read_note", {"path": str(note)}), "after"])
    out = fresh.invoke({"messages": [("user", "again")]})
    assert out["messages"][-1].content == "after"
    assert out["messages"][-2].content == "changed since"
    assert len(fresh_model.requests) == 4
    assert get_llm_cache() is None


def test_a_fork_with_an_override_gives_the_model_the_overridden_tool_result(
    tmp_path: Path,
) -> None:
    """until=2 with an override: the tool step returns the override, then the model is live."""
    session = _record(tmp_path / "note.txt")
    fresh_model = ScriptedChatModel(turns=["live one", "live two"])
    fresh = react_graph(fresh_model, tools=MUST_NOT_RUN)
    result = session.replay(fresh, until=2, override="what if ☕", record=False)
    assert (result.steps_replayed, result.divergence) == (2, None)
    assert fresh_model.requests[0].messages[-1]["data"]["content"] == "what if ☕"
    assert result.agent_result == "live two"


def test_a_tool_called_outside_a_tool_node_is_a_clear_error_before_it_runs(
    tmp_path: Path,
) -> None:
    """A node that invokes a tool itself: replay cannot serve it, and says so."""
    note = tmp_path / "note.txt"
    note.write_text("direct", encoding="utf-8")

    def reader(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", read_note.invoke({"path": str(note)}))]}

    def build() -> Any:
        builder = StateGraph(MessagesState)
        builder.add_node("reader", reader)
        builder.add_edge(START, "reader")
        return builder.compile()

    graph = build()
    devduck_otel.instrument(graph)
    graph.invoke({"messages": [("user", "read")]})
    path = devduck_otel.stop_recording()
    assert path is not None
    note.unlink()  # it would raise FileNotFoundError if it ran
    with pytest.raises(ValueError, match=r"step 1 \(tool read_note\).*outside a ToolNode"):
        devduck_otel.load_session(path).replay(build(), record=False)
    assert get_llm_cache() is None


def test_a_chat_model_that_bypasses_the_cache_is_a_clear_error(tmp_path: Path) -> None:
    """cache=False: LangChain never asks the LLM cache, so replay says why it cannot serve."""
    session = _record(tmp_path / "note.txt")
    fresh = react_graph(ScriptedChatModel(turns=["live"], cache=False), tools=MUST_NOT_RUN)
    with pytest.raises(ValueError, match=r"step 1 \(model scripted-chat-1\).*cache=False"):
        session.replay(fresh, record=False)
    assert get_llm_cache() is None


def test_a_model_step_without_an_ai_message_is_a_clear_error() -> None:
    """A broken record names the step; an override text becomes the AI message."""
    broken = Step(3, "model", "m", {}, {"message": {"type": "human", "data": {}}}, None, None)
    with pytest.raises(ValueError, match=r"step 3 \(model m\) holds no AI message"):
        response_message(broken)
    with pytest.raises(ValueError, match="holds no AI message"):
        response_message(Step(1, "model", "m", {}, None, None, None))
    assert response_message(Step(1, "model", "m", {}, "hi", None, None)).content == "hi"
    assert TOOLS  # the kit's real tools are the ones recorded
