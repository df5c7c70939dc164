"""Fidelity corpus for LangGraph: graph states survive snapshot -> ZIP -> load -> resume exactly.

Each case runs a real compiled graph on a history, loads the session, restores a fresh
graph from a snapshot and compares with ``==``; then both graphs take one more turn on
identical scripted models, and the model requests must be the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import START, StateGraph
from pydantic import BaseModel

import devduck_otel
from devduck_otel.integrations._langgraph import record_for
from devduck_otel.testing import ScriptedChatModel
from tests.support.langgraph_kit import TOOLS, NotesState, without_ids
from tests.support.strands_kit import stop_and_load


class Report(BaseModel):
    """A structured output."""

    title: str
    scores: list[float]


class ReportState(NotesState):
    """The notes state, and a structured output in a channel of its own."""

    structured: Report | None


def _chat_graph(model: ScriptedChatModel) -> Any:
    bound = model.bind_tools(TOOLS)
    builder = StateGraph(NotesState)
    builder.add_node("agent", lambda state: {"messages": [bound.invoke(state["messages"])]})
    builder.add_edge(START, "agent")
    return builder.compile()


def _tool_pairs() -> list[BaseMessage]:
    return [
        SystemMessage("You read notes.", id="s0"),
        HumanMessage("Read a and b.", id="h1"),
        AIMessage(
            "Reading both.",
            id="a1",
            tool_calls=[
                {"name": "read_note", "args": {"path": "a"}, "id": "c1", "type": "tool_call"},
                {"name": "read_note", "args": {"path": "b"}, "id": "c2", "type": "tool_call"},
            ],
            usage_metadata={"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
        ),
        ToolMessage("note a", tool_call_id="c1", name="read_note", id="t1"),
        ToolMessage("Error: missing", tool_call_id="c2", name="read_note", status="error", id="t2"),
        AIMessage("a says 'note a'; b is missing.", id="a2"),
    ]


def _non_ascii() -> list[BaseMessage]:
    return [
        HumanMessage("Grüße aus Köln! 日本語 🦆🦆 — שלום \u200b zero-width, \u00a0nbsp", id="h1"),
        AIMessage("Привет! Ελληνικά • 👩‍💻 • \t tab \n newline \\ backslash", id="a1"),
    ]


def _content_blocks() -> list[BaseMessage]:
    return [
        HumanMessage(
            content=[
                {"type": "text", "text": "What is in the picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
            id="h1",
        ),
        AIMessage(content=[{"type": "text", "text": "A one-pixel image."}], id="a1"),
    ]


def _structured() -> list[BaseMessage]:
    return [
        HumanMessage("Grade it.", id="h1"),
        AIMessage(
            "",
            id="a1",
            additional_kwargs={"parsed": {"title": "Q3", "scores": [1.5, 2.0]}, "refusal": None},
            response_metadata={"finish_reason": "stop", "model_name": "m"},
        ),
    ]


def _long_history() -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    for i in range(500):
        messages.append(HumanMessage(f"question {i}", id=f"h{i}"))
        messages.append(AIMessage(f"answer {i} " + "x" * (i % 7), id=f"a{i}"))
    return messages


CASES: dict[str, tuple[Callable[[], list[BaseMessage]], dict[str, Any]]] = {
    "tool_pairs": (_tool_pairs, {"notes": ["read a", "read b"]}),
    "non_ascii": (_non_ascii, {"notes": ["¡hola! 🦆"], "report": {"ключ": "значение"}}),
    "content_blocks": (_content_blocks, {}),
    "structured_output": (
        _structured,
        {"report": {"title": "Q3", "scores": [1.5, 2.0], "deep": {"l1": [{"l2": None}]}}},
    ),
    "history_1000": (_long_history, {"notes": [str(n) for n in range(100)]}),
}


def _run_original(case: str, turns: list[Any]) -> tuple[Any, ScriptedChatModel, Any]:
    build, channels = CASES[case]
    model = ScriptedChatModel(turns=turns)
    graph = _chat_graph(model)
    devduck_otel.instrument(graph)
    out = graph.invoke({"messages": build(), **channels})
    return graph, model, out


@pytest.mark.parametrize("case", list(CASES))
def test_state_round_trips_exactly(case: str) -> None:
    """Messages (the same LangChain objects) and the other channels come back ==."""
    build, channels = CASES[case]
    _graph, _model, out = _run_original(case, ["next"])
    session = stop_and_load()
    for snapshot_id, expected in ((1, {"messages": build(), **channels}), (3, out)):
        fresh = _chat_graph(ScriptedChatModel())
        report = session.resume_from_snapshot(snapshot_id, agent=fresh)
        values = record_for(fresh).values
        assert report["messages_restored"] == len(expected["messages"])
        assert values == expected
        assert [type(m) for m in values["messages"]] == [type(m) for m in expected["messages"]]


@pytest.mark.parametrize("case", list(CASES))
def test_restored_graph_sends_the_same_next_request(case: str) -> None:
    """Continuing the restored graph gives the model the request the original sends."""
    original, original_model, out = _run_original(case, ["next", "again"])
    session = stop_and_load()
    original.invoke({**out, "messages": [*out["messages"], HumanMessage("and now?")]})
    fresh_model = ScriptedChatModel(turns=["again"])
    fresh = _chat_graph(fresh_model)
    result = session.resume_and_continue(3, "and now?", agent=fresh)
    assert result["agent_result"] == "again"
    expected, got = original_model.requests[-1], fresh_model.requests[-1]
    assert got.messages[:-1] == expected.messages[:-1]
    assert without_ids(got.messages) == without_ids(expected.messages)
    assert got.tools == expected.tools
    assert len(got.messages) == len(CASES[case][0]()) + 2
    devduck_otel.stop_recording()


def test_structured_output_of_a_node_round_trips_through_dill() -> None:
    """A node's ``with_structured_output`` result (a pydantic object) is restored as is."""
    model = ScriptedChatModel(turns=[("Report", {"title": "Q3", "scores": [1.5, 2.0]})])
    structured = model.with_structured_output(Report)

    def grade(state: ReportState) -> dict[str, Any]:
        return {"structured": structured.invoke(state["messages"])}

    builder = StateGraph(ReportState)
    builder.add_node("grade", grade)
    builder.add_edge(START, "grade")
    graph: Any = builder.compile()
    devduck_otel.instrument(graph)
    out = graph.invoke({"messages": [HumanMessage("Grade it.", id="h1")]})
    assert out["structured"] == Report(title="Q3", scores=[1.5, 2.0])
    path = devduck_otel.stop_recording()
    assert path is not None
    session = devduck_otel.load_session(path, allow_pickle=True)
    last = session.snapshots[-1]
    assert last.state_blob is not None  # a pydantic object is no JSON: the dill blob holds it
    fresh: Any = builder.compile()
    session.resume_from_snapshot(last.snapshot_id, agent=fresh)
    assert record_for(fresh).values == out
    steps = session.steps
    assert steps[0].response["message"]["data"]["tool_calls"][0]["args"]["title"] == "Q3"
