"""Resuming real ``strands.Agent`` objects from recorded sessions."""

from __future__ import annotations

import json
import zipfile
from typing import Any

from strands import Agent, ToolContext, tool

import devduck_otel
from devduck_otel.integrations import adapter_for
from devduck_otel.testing import ScriptedModel, tool_turn
from tests.support.strands_kit import add


@tool
def search(query: str) -> str:
    """Search for something.

    Args:
        query: What to search for.
    """
    return f"results for {query}"


@tool(context=True)
def checkpoint(note: str, tool_context: ToolContext) -> str:
    """Snapshot the calling agent while this tool runs (mid-turn).

    Args:
        note: The snapshot description.
        tool_context: Strands' tool context.
    """
    devduck_otel.snapshot(tool_context.agent, note)
    return "saved"


def _agent(model: ScriptedModel, tools: list[Any] | None = None, **kw: Any) -> Agent:
    return Agent(
        model=model,
        tools=[add, checkpoint] if tools is None else tools,
        callback_handler=None,
        name="resumable",
        **kw,
    )


def _record(agent: Agent, *queries: str) -> devduck_otel.LoadedSession:
    devduck_otel.instrument(agent)
    for query in queries:
        agent(query)
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)


def _spans(path: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with zipfile.ZipFile(path) as zf:
        for line in zf.read("spans.otlp.jsonl").splitlines():
            for resource in json.loads(line)["resourceSpans"]:
                for scope in resource["scopeSpans"]:
                    out.extend(scope["spans"])
    return out


def test_adapter_dispatch_picks_strands_for_an_agent() -> None:
    """adapter_for returns the Strands adapter, with the model id from the model's config."""
    agent = _agent(ScriptedModel(model_id="us.anthropic.claude-x"))
    adapter = adapter_for(agent)
    assert adapter.framework == "strands"
    assert adapter.model_info() == {
        "type": "ScriptedModel",
        "model_id": "us.anthropic.claude-x",
        "provider": None,
    }
    assert sorted(adapter.tool_names()) == ["add", "checkpoint"]


def test_resume_restores_messages_prompt_and_state() -> None:
    """A fresh agent resumed from 'after invocation 1' equals the original at that point."""
    original = _agent(ScriptedModel(["first answer"]), system_prompt="Be brief.", state={"n": 1})
    session = _record(original, "first question")
    fresh = _agent(ScriptedModel())
    report = session.resume_from_snapshot(2, agent=fresh)
    assert report["status"] == "success"
    assert report["messages_restored"] == 2
    assert fresh.messages == original.messages
    assert fresh.system_prompt == "Be brief."
    assert fresh.state.get() == {"n": 1}


def test_mid_turn_snapshot_is_repaired_for_the_next_call() -> None:
    """A snapshot taken inside a tool call resumes into a valid conversation."""
    model = ScriptedModel([tool_turn("checkpoint", {"note": "inside"}, tool_use_id="cp-1"), "ok"])
    original = _agent(model)
    session = _record(original, "save progress")
    (snap,) = [s for s in session.snapshots if s["description"] == "inside"]
    last = snap["agent_messages"][-1]
    assert last["role"] == "assistant"
    assert "toolUse" in last["content"][0]
    fresh_model = ScriptedModel(["continued"])
    fresh = _agent(fresh_model)
    report = session.resume_from_snapshot(snap["snapshot_id"], agent=fresh)
    assert report["repairs"]
    repaired = fresh.messages[-1]
    assert repaired["role"] == "user"
    assert repaired["content"][0]["toolResult"]["toolUseId"] == "cp-1"
    assert repaired["content"][0]["toolResult"]["status"] == "error"
    assert str(fresh("go on")).strip() == "continued"
    request = fresh_model.requests[-1].messages
    assert [m["role"] for m in request] == ["user", "assistant", "user", "user"]


def test_missing_and_extra_tools_are_reported() -> None:
    """Resuming into an agent with other tools names the missing and the extra ones."""
    original = _agent(ScriptedModel(["done"]))
    session = _record(original, "hi")
    fresh = _agent(ScriptedModel(), tools=[add, search])
    report = session.resume_from_snapshot(2, agent=fresh)
    assert report["missing_tools"] == ["checkpoint"]
    assert report["extra_tools"] == ["search"]
    assert fresh.messages == original.messages


def test_resume_and_continue_records_a_linked_session() -> None:
    """The continued turn is recorded as a new session pointing back at the original."""
    original = _agent(ScriptedModel(["first"]))
    session = _record(original, "one")
    fresh_model = ScriptedModel(["second"])
    fresh = _agent(fresh_model)
    report = session.resume_and_continue(2, "two", agent=fresh)
    assert report["agent_result"].strip() == "second"
    assert fresh_model.requests[-1].messages[:2] == [
        {"role": m["role"], "content": m["content"]} for m in original.messages
    ]
    path = report["session_path"]
    assert path is not None
    child = devduck_otel.load_session(path)
    assert child.session_id != session.session_id
    assert child.metadata["parent_session"] == session.session_id
    assert child.metadata["parent_snapshot"] == 2
    messages = child.get_events_by_type("message")
    assert [m["data"]["content_preview"] for m in messages] == ["two", "second"]
    assert [s["description"] for s in child.snapshots] == [
        "before invocation 1",
        "after invocation 1",
    ]


def test_resumed_turn_span_links_to_the_snapshot() -> None:
    """The continued turn's invoke_agent span links to the span of the snapshot resumed."""
    session = _record(_agent(ScriptedModel(["first"])), "one")
    report = session.resume_and_continue(2, "two", agent=_agent(ScriptedModel(["second"])))
    (invoke,) = [s for s in _spans(report["session_path"]) if s["name"] == "invoke_agent resumable"]
    parent_snapshot = session.get_snapshot(2)
    assert [(link["traceId"], link["spanId"]) for link in invoke.get("links", [])] == [
        (parent_snapshot["trace_id"], parent_snapshot["span_id"])
    ]


def test_resume_and_continue_leaves_an_uninstrumented_agent_uninstrumented() -> None:
    """Recording the continued turn does not leave hooks recording the agent afterwards."""
    original = _agent(ScriptedModel(["first"]))
    session = _record(original, "one")
    fresh = _agent(ScriptedModel(["second", "third"]))
    session.resume_and_continue(2, "two", agent=fresh)
    rec = devduck_otel.start_recording()
    fresh("three")
    path = devduck_otel.stop_recording()
    assert path is not None
    later = devduck_otel.load_session(path)
    assert later.session_id == rec.session_id
    assert later.get_events_by_type("message") == []
