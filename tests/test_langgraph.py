"""The LangGraph integration, against the real langgraph and a scripted LangChain chat model."""

from __future__ import annotations

import asyncio
import json
import operator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.callbacks import BaseCallbackHandler, CallbackManager
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command, interrupt
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import devduck_otel
from devduck_otel.integrations._langgraph import record_for
from devduck_otel.testing import ScriptedChatModel
from tests.support.http_server import serve
from tests.support.langgraph_kit import react_graph, without_ids
from tests.support.strands_kit import stop_and_load


def test_runs_become_node_chat_and_tool_spans_with_step_snapshots(
    provider: TracerProvider, exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    """Two invocations: graph, node, chat and tool spans; a snapshot per super-step; a tool error."""
    note = tmp_path / "note.txt"
    note.write_text("café ☕", encoding="utf-8")
    with serve() as base:
        model = ScriptedChatModel(
            turns=[
                [("read_note", {"path": str(note)}), ("fetch", {"url": f"{base}/weather"})],
                "done",
                ("explode", {"reason": "x"}),
                "recovered",
            ]
        )
        graph = react_graph(model)
        devduck_otel.instrument(graph, tracer_provider=provider, capture_content=True)
        first = graph.invoke({"messages": [("user", "read and fetch")]})
        second = graph.invoke({"messages": [*first["messages"], ("user", "fail")]})
    session = stop_and_load()
    assert (first["messages"][-1].content, second["messages"][-1].content) == ("done", "recovered")

    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert names.count("invoke_agent helper") == 2
    assert names.count("chat scripted-chat-1") == 4
    assert names.count("graph_node agent") == 4 and names.count("graph_node tools") == 2
    by_id = {s.context.span_id: s for s in spans}
    tools = {s.name: s for s in spans if s.name.startswith("execute_tool")}
    assert set(tools) == {"execute_tool read_note", "execute_tool fetch", "execute_tool explode"}
    for span in tools.values():
        assert span.parent is not None and by_id[span.parent.span_id].name == "graph_node tools"
    for span in (s for s in spans if s.name.startswith("chat")):
        assert span.parent is not None and by_id[span.parent.span_id].name == "graph_node agent"
        assert (span.attributes or {})["gen_ai.usage.input_tokens"] == 10
    assert tools["execute_tool explode"].status.status_code is StatusCode.ERROR
    http = [s for s in spans if s.name == "GET"]
    assert http and http[0].parent is not None
    assert by_id[http[0].parent.span_id].name == "execute_tool fetch"

    results = {e["data"]["name"]: e["data"] for e in session.get_events_by_type("tool.result")}
    assert results["read_note"]["result"] == "café ☕"
    assert "/weather" in results["fetch"]["result"]
    assert results["explode"]["error"] == "ValueError: boom: x"
    steps = session.steps
    assert [s.kind for s in steps] == ["model", "tool", "tool", "model", "model", "tool", "model"]
    assert steps[0].request["messages"][0]["data"]["content"] == "read and fetch"
    assert [t["function"]["name"] for t in steps[0].request["tools"]] == [
        "read_note",
        "fetch",
        "explode",
    ]
    assert steps[0].response["message"]["data"]["tool_calls"][0]["name"] == "read_note"
    assert [s.description for s in session.snapshots][:5] == [
        "before invocation 1",
        "after step 1 (agent)",
        "after step 2 (tools)",
        "after step 3 (agent)",
        "after invocation 1",
    ]
    after_tools = session.get_snapshot(3)
    assert [m["type"] for m in after_tools.agent_messages] == ["human", "ai", "tool", "tool"]
    assert after_tools.agent_state["langgraph"]["nodes"] == ["tools"]
    last = session.snapshots[-1]
    assert last.agent_messages[-1]["data"]["content"] == "recovered"
    assert last.tools_loaded == ["node:agent", "node:tools"]


def test_checkpointed_graph_snapshots_carry_thread_and_checkpoint_ids(
    provider: TracerProvider,
) -> None:
    """With a checkpointer: thread id on every snapshot, checkpoint ids of the run after it."""
    model = ScriptedChatModel(turns=[("read_note", {"path": "/nonexistent"}), "one", "two"])
    graph = react_graph(model, checkpointer=InMemorySaver())
    devduck_otel.instrument(graph, tracer_provider=provider)
    config: Any = {"configurable": {"thread_id": "thread-7"}}
    graph.invoke({"messages": [("user", "first")]}, config, durability="sync")
    graph.invoke({"messages": [("user", "second")]}, config)
    session = stop_and_load()
    states = [s.agent_state["langgraph"] for s in session.snapshots]
    assert {s["thread_id"] for s in states} == {"thread-7"}
    history = {
        h.metadata["step"]: h.config["configurable"]["checkpoint_id"]
        for h in graph.get_state_history(config)
    }
    after_one = session.snapshots[4]
    assert after_one.description == "after invocation 1"
    assert after_one.agent_state["langgraph"]["checkpoints"] == [
        {"step": n, "checkpoint_id": history[n]} for n in (1, 2, 3)
    ]
    # durability="sync": each step's checkpoint is written before the next step starts.
    assert [states[n]["checkpoint_id"] for n in (1, 2, 3)] == [history[n] for n in (1, 2, 3)]
    before_two = session.snapshots[5]
    assert before_two.description == "before invocation 2"
    assert before_two.last_query == "second"
    assert [m["data"]["content"] for m in before_two.agent_messages][-1] == "one"  # the thread's
    last = session.snapshots[-1]
    assert last.agent_state["langgraph"]["checkpoint_id"] == history[max(history)]
    assert [m["data"]["content"] for m in last.agent_messages][-2:] == ["second", "two"]


def test_resume_into_fresh_graph_sends_the_request_the_original_would(
    provider: TracerProvider,
) -> None:
    """No checkpointer: the snapshot's state is the input of the fresh graph's next run."""
    original_model = ScriptedChatModel(turns=[("read_note", {"path": "/nonexistent"}), "one"])
    original = react_graph(original_model)
    devduck_otel.instrument(original, tracer_provider=provider)
    out = original.invoke({"messages": [("user", "first")], "notes": ["n1"], "report": {"k": 1}})
    session = stop_and_load()
    original_model.turns.append("two")
    original.invoke({**out, "messages": [*out["messages"], HumanMessage("next question")]})
    expected = original_model.requests[-1]

    fresh_model = ScriptedChatModel(turns=["two"])
    fresh = react_graph(fresh_model)
    snapshot = next(s for s in session.snapshots if s.description == "after invocation 1")
    outcome = session.resume_and_continue(snapshot.snapshot_id, "next question", agent=fresh)
    assert outcome["agent_result"] == "two"
    assert outcome["messages_restored"] == 4
    got = fresh_model.requests[-1]
    assert got.messages[:-1] == expected.messages[:-1]  # restored: ids and all
    assert without_ids(got.messages) == without_ids(expected.messages)
    assert got.tools == expected.tools
    assert record_for(fresh).values["notes"] == ["n1"]
    devduck_otel.stop_recording()


def test_resume_mid_run_into_checkpointed_graph_continues_from_that_node(
    provider: TracerProvider,
) -> None:
    """``update_state`` as the snapshot's node: the fresh graph runs the tools, then asks the model."""
    original_model = ScriptedChatModel(turns=[("read_note", {"path": "/nonexistent"}), "one"])
    original = react_graph(original_model, checkpointer=InMemorySaver())
    devduck_otel.instrument(original, tracer_provider=provider)
    config: Any = {"configurable": {"thread_id": "t"}}
    original.invoke({"messages": [("user", "first")]}, config)
    session = stop_and_load()
    after_agent = session.get_snapshot(2)
    assert after_agent.description == "after step 1 (agent)"

    fresh_model = ScriptedChatModel(turns=["one"])
    fresh = react_graph(fresh_model, checkpointer=InMemorySaver())
    report = session.resume_from_snapshot(2, agent=fresh)
    assert report["framework"] == "langgraph" and report["messages_restored"] == 2
    assert fresh.get_state(config).next == ("tools",)
    assert fresh.invoke(None, config)["messages"][-1].content == "one"
    expected = original_model.requests[-1]
    assert without_ids(fresh_model.requests[-1].messages) == without_ids(expected.messages)
    assert fresh_model.requests[-1].messages[:2] == expected.messages[:2]


def test_async_runs_and_user_callbacks_are_kept(provider: TracerProvider) -> None:
    """``ainvoke`` is recorded too; the user's own callbacks still run; uninstrument removes ours."""
    seen: list[str] = []

    class Mine(BaseCallbackHandler):
        def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
            seen.append("model")

    graph = react_graph(ScriptedChatModel(turns=["hi", "again"])).with_config(callbacks=[Mine()])
    devduck_otel.instrument(graph, tracer_provider=provider)
    devduck_otel.instrument(graph)  # twice changes nothing
    asyncio.run(graph.ainvoke({"messages": [("user", "hello")]}))
    devduck_otel.uninstrument(graph)
    graph.invoke({"messages": [("user", "unrecorded")]})
    session = stop_and_load()
    assert seen == ["model", "model"]
    assert len(graph.config["callbacks"]) == 1
    assert [s.name for s in session.steps] == ["scripted-chat-1"]


def test_node_error_is_recorded_and_raised_unchanged(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A failing node: the same exception reaches the caller; node and graph spans are ERROR."""

    def broken(state: MessagesState) -> dict[str, Any]:
        raise KeyError("no such thing")

    builder = StateGraph(MessagesState)
    builder.add_node("broken", broken)
    builder.add_edge(START, "broken")
    graph: Any = builder.compile()
    devduck_otel.instrument(graph, tracer_provider=provider)
    with pytest.raises(KeyError, match="no such thing"):
        graph.invoke({"messages": [("user", "x")]})
    session = stop_and_load()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["graph_node broken"].status.status_code is StatusCode.ERROR
    assert spans["invoke_agent LangGraph"].status.status_code is StatusCode.ERROR
    assert [s.description for s in session.snapshots] == [
        "before invocation 1",
        "after invocation 1",
    ]


def test_bad_input_names_the_supported_kinds() -> None:
    """A builder not compiled, and an object of no kind: clear TypeErrors."""
    with pytest.raises(TypeError, match=r"compile it first"):
        devduck_otel.instrument(StateGraph(MessagesState))
    with pytest.raises(TypeError, match=r"a compiled LangGraph graph"):
        devduck_otel.instrument(object())
    assert devduck_otel._api.current() is None


def test_untested_version_warns_and_records(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider
) -> None:
    """Another langgraph version: a warning naming it and the tested ones; recording goes on."""
    from devduck_otel.integrations import _langgraph_data

    monkeypatch.setattr(_langgraph_data, "_warned", set())
    monkeypatch.setitem(_langgraph_data.TESTED, "langgraph", "0.0.1")
    graph = react_graph(ScriptedChatModel(turns=["hi"]))
    with pytest.warns(
        UserWarning, match=r"langgraph 1\.2\.24 is untested \(tested: langgraph 0\.0\.1, "
    ):
        devduck_otel.instrument(graph, tracer_provider=provider)
    graph.invoke({"messages": [("user", "hello")]})
    session = stop_and_load()
    assert len(session.snapshots) == 3


def test_unserializable_channel_goes_to_a_dill_blob(provider: TracerProvider) -> None:
    """A channel JSON cannot hold: the state is a dill blob, restored with allow_pickle."""
    graph = react_graph(ScriptedChatModel(turns=["hi"]))
    devduck_otel.instrument(graph, tracer_provider=provider)
    graph.invoke({"messages": [("user", "x")], "report": {1, 2, 3}})
    path = devduck_otel.stop_recording()
    assert path is not None
    snap = devduck_otel.load_session(path).snapshots[-1]
    assert snap.agent_state is None and snap.state_blob is not None
    fresh = react_graph(ScriptedChatModel())
    devduck_otel.load_session(path, allow_pickle=True).resume_from_snapshot(
        snap.snapshot_id, agent=fresh
    )
    assert record_for(fresh).values["report"] == {1, 2, 3}
    assert isinstance(record_for(fresh).values["messages"][-1], AIMessage)


def test_snapshot_messages_are_json_documents(provider: TracerProvider) -> None:
    """The snapshot's messages are the plain ``messages_to_dict`` JSON, nothing pickled."""
    graph = react_graph(ScriptedChatModel(turns=["hi"]))
    devduck_otel.instrument(graph, tracer_provider=provider)
    graph.invoke({"messages": [("user", "¡hola! 🦆")]})
    snap = stop_and_load().snapshots[-1]
    text = json.dumps(snap.agent_messages, ensure_ascii=False)
    assert "__devduck__" not in text and "¡hola! 🦆" in text


class _Fan(TypedDict):
    trail: Annotated[list[str], operator.add]
    count: int


def _fan_out_graph() -> Any:
    """``a``, then ``b`` and ``c`` in one super-step; no ``messages`` channel at all."""
    builder = StateGraph(_Fan)
    builder.add_node("a", lambda s: {"trail": ["a"], "count": s["count"] + 1})
    builder.add_node("b", lambda s: {"trail": ["b"]})
    builder.add_node("c", lambda s: {"trail": ["c"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("a", "c")
    return builder.compile()


def test_parallel_nodes_share_one_step_snapshot_and_streams_are_recorded(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """``stream`` is recorded like ``invoke``; two nodes of one super-step make one snapshot."""
    graph = _fan_out_graph()
    devduck_otel.instrument(graph, tracer_provider=provider)
    updates = list(graph.stream({"trail": [], "count": 0}, stream_mode="updates"))
    session = stop_and_load()
    assert len(updates) == 3
    descriptions = [s.description for s in session.snapshots]
    assert descriptions[:2] == ["before invocation 1", "after step 1 (a)"]
    assert descriptions[2] in ("after step 2 (b, c)", "after step 2 (c, b)")
    last = session.snapshots[-1]
    assert last.agent_messages == []
    assert sorted(last.agent_state["channels"]["trail"]) == ["a", "b", "c"]
    assert session.get_snapshot(2).agent_state["channels"] == {"trail": ["a"], "count": 1}
    nodes = [s for s in exporter.get_finished_spans() if s.name.startswith("graph_node")]
    assert sorted(int(str((s.attributes or {})["langgraph.step"])) for s in nodes) == [1, 2, 2]
    updates_seen = [e["data"]["update"] for e in session.get_events_by_type("graph.node")]
    assert {"trail": ["a"], "count": 1} in updates_seen


def test_concurrent_runs_of_one_graph_stay_apart(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Two threads running the same graph at once: two traces, each with its own nodes."""
    graph = _fan_out_graph()
    devduck_otel.instrument(graph, tracer_provider=provider)
    with ThreadPoolExecutor(2) as pool:
        outs = list(pool.map(graph.invoke, [{"trail": [], "count": n} for n in (0, 10)]))
    stop_and_load()
    assert [o["count"] for o in outs] == [1, 11]
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.name == "invoke_agent LangGraph"]
    assert len(roots) == 2
    for root in roots:
        inside = [s for s in spans if s.context.trace_id == root.context.trace_id]
        assert sorted(s.name for s in inside if s.name.startswith("graph_node")) == [
            "graph_node a",
            "graph_node b",
            "graph_node c",
        ]


class _Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("no pickling")

    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


def test_a_channel_nothing_can_hold_never_breaks_the_graph(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider
) -> None:
    """A hostile channel value: the graph's result is untouched; the snapshot notes the loss."""
    monkeypatch.setenv("DEVDUCK_RAISE_INTERNAL_ERRORS", "false")
    graph = react_graph(ScriptedChatModel(turns=["hi"]))
    devduck_otel.instrument(graph, tracer_provider=provider)
    hostile = _Unpicklable()
    out = graph.invoke({"messages": [("user", "x")], "report": hostile})
    session = stop_and_load()
    assert out["report"] is hostile and out["messages"][-1].content == "hi"
    last = session.snapshots[-1]
    assert last.agent_messages[-1]["data"]["content"] == "hi"
    assert any("agent state left out" in note for note in last.notes)


def test_scripted_model_errors_are_recorded_on_the_chat_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A model that fails (a scripted exception, then no turn left): ERROR spans, clear errors."""
    graph = react_graph(ScriptedChatModel(turns=[ConnectionError("provider down")]))
    devduck_otel.instrument(graph, tracer_provider=provider)
    with pytest.raises(ConnectionError, match="provider down"):
        graph.invoke({"messages": [("user", "x")]})
    with pytest.raises(RuntimeError, match="no scripted turn left"):
        graph.invoke({"messages": [("user", "y")]})
    session = stop_and_load()
    chats = [s for s in exporter.get_finished_spans() if s.name.startswith("chat")]
    assert [s.status.status_code for s in chats] == [StatusCode.ERROR, StatusCode.ERROR]
    errors = [s.error for s in session.steps]
    assert errors == [
        "ConnectionError: provider down",
        "RuntimeError: ScriptedChatModel: no scripted turn left",
    ]


def test_an_interrupt_is_no_failure(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """``interrupt()`` pauses a checkpointed run: the run's span is not an error; resuming records on."""

    def ask(state: MessagesState) -> dict[str, Any]:
        answer = interrupt("approve?")
        return {"messages": [AIMessage(f"approved: {answer}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph: Any = builder.compile(checkpointer=InMemorySaver())
    devduck_otel.instrument(graph, tracer_provider=provider)
    config: Any = {"configurable": {"thread_id": "t"}}
    paused = graph.invoke({"messages": [("user", "go")]}, config)
    assert "__interrupt__" in paused
    done = graph.invoke(Command(resume="yes"), config)
    session = stop_and_load()
    assert done["messages"][-1].content == "approved: yes"
    roots = [s for s in exporter.get_finished_spans() if s.name.startswith("invoke_agent")]
    assert [s.status.status_code for s in roots] == [StatusCode.UNSET, StatusCode.UNSET]
    assert session.snapshots[-1].agent_messages[-1]["data"]["content"] == "approved: yes"


def test_a_callback_manager_in_the_graph_config_is_kept(provider: TracerProvider) -> None:
    """``with_config(callbacks=CallbackManager)``: ours joins a copy; the user's handler still runs."""
    seen: list[str] = []

    class Mine(BaseCallbackHandler):
        def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
            seen.append("model")

    manager = CallbackManager(handlers=[Mine()], inheritable_handlers=[Mine()])
    graph = react_graph(ScriptedChatModel(turns=["hi"])).with_config(callbacks=manager)
    devduck_otel.instrument(graph, tracer_provider=provider)
    graph.invoke({"messages": [("user", "hello")]})
    session = stop_and_load()
    assert seen == ["model"]
    assert len(manager.handlers) == 1  # the user's manager itself is unchanged
    assert [s.name for s in session.steps] == ["scripted-chat-1"]


def test_a_stream_closed_early_leaves_no_span_open(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Closing ``stream`` early ends the run as no failure; its node updates are recorded.

    The state after the last step is then unknown (no next step read it, no output
    came), so no step snapshot claims it.
    """
    graph = _fan_out_graph()
    devduck_otel.instrument(graph, tracer_provider=provider)
    stream = graph.stream({"trail": [], "count": 0}, stream_mode="updates")
    assert next(iter(stream)) == {"a": {"trail": ["a"], "count": 1}}
    stream.close()
    graph.invoke({"trail": [], "count": 5})
    session = stop_and_load()
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.name == "invoke_agent LangGraph"]
    assert [s.status.status_code for s in roots] == [StatusCode.UNSET, StatusCode.UNSET]
    assert [s.name for s in spans].count("graph_node a") == 2
    assert [s.description for s in session.snapshots][:2] == [
        "before invocation 1",
        "after invocation 1",
    ]
    first_update = session.get_events_by_type("graph.node")[0]["data"]
    assert first_update["update"] == {"trail": ["a"], "count": 1}
