"""The OpenAI Agents SDK integration, against the real SDK and a scripted model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agents import Runner
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import devduck_otel
from devduck_otel.integrations import adapter_for
from tests.support.http_server import serve
from tests.support.openai_agents_kit import (
    close_sdk_loop,  # noqa: F401
    make_agent,
    parent_name,
    user,
)
from tests.support.openai_agents_model import ScriptedAgentsModel

pytestmark = pytest.mark.usefixtures("close_sdk_loop")
_agent = make_agent


def test_runs_become_genai_spans_with_tools_snapshots_and_errors(
    provider: TracerProvider, exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    """Two runs: agent, chat and tool spans parented as the SDK parents them; snapshots; a tool error."""
    note = tmp_path / "note.txt"
    note.write_text("café ☕", encoding="utf-8")
    with serve() as base:
        model = ScriptedAgentsModel(
            [
                ("read_note", {"path": str(note)}),
                ("fetch", {"url": f"{base}/weather"}),
                "done",
                ("explode", {"reason": "x"}),
                "recovered",
            ]
        )
        agent = _agent(model)
        devduck_otel.instrument(agent, tracer_provider=provider, capture_content=True)
        first = Runner.run_sync(agent, "read and fetch")
        second = Runner.run_sync(
            agent, [*first.to_input_list(), {"role": "user", "content": "fail"}]
        )
    path = devduck_otel.stop_recording()
    assert path is not None
    assert (first.final_output, second.final_output) == ("done", "recovered")

    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert names.count("invoke_agent helper") == 2
    assert names.count("chat scripted-1") == 5
    tools = {s.name: s for s in spans if s.name.startswith("execute_tool")}
    assert set(tools) == {"execute_tool read_note", "execute_tool fetch", "execute_tool explode"}
    read = tools["execute_tool read_note"]
    assert json.loads(str((read.attributes or {})["gen_ai.tool.call.arguments"])) == {
        "path": str(note)
    }
    assert (read.attributes or {})["gen_ai.tool.call.result"] == "café ☕"
    assert "/weather" in str(
        (tools["execute_tool fetch"].attributes or {})["gen_ai.tool.call.result"]
    )
    assert tools["execute_tool explode"].status.status_code is StatusCode.ERROR
    by_id = {s.context.span_id: s for s in spans}
    for span in [*tools.values(), *(s for s in spans if s.name.startswith("chat"))]:
        assert span.parent is not None
        assert by_id[span.parent.span_id].name == "invoke_agent helper"
    chat = next(s for s in spans if s.name.startswith("chat"))
    assert (chat.attributes or {})["gen_ai.usage.input_tokens"] == 10
    assert (
        json.loads(str((chat.attributes or {})["gen_ai.input.messages"]))[0]["content"]
        == "read and fetch"
    )

    session = devduck_otel.load_session(path)
    assert [s.description for s in session.snapshots] == [
        "before invocation 1",
        "after invocation 1",
        "before invocation 2",
        "after invocation 2",
    ]
    after = session.get_snapshot(4)
    assert after.system_prompt == "You are terse."
    assert after.tools_loaded == ["read_note", "fetch", "explode"]
    assert after.agent_messages[-1]["content"][0]["text"] == "recovered"
    results = session.get_events_by_type("tool.result")
    assert [e["data"]["name"] for e in results] == ["read_note", "fetch", "explode"]
    # The SDK's function span is current while its tool runs, and so is execute_tool.
    http = [s for s in spans if (s.attributes or {}).get("devduck.event_type") == "http.get"]
    assert len(http) == 1
    assert parent_name(http[0], list(spans)) == "execute_tool fetch"
    opens = [e for e in session.get_events_by_type("file.open") if e["data"]["path"] == str(note)]
    assert opens
    assert {e["span_id"] for e in opens} == {f"{read.context.span_id:016x}"}


def test_snapshots_hold_each_runs_input_and_its_items_become_message_events(
    provider: TracerProvider, tmp_path: Path
) -> None:
    """The before-snapshot holds the run's input items, after its exchange; inputs are events."""
    note = tmp_path / "note.txt"
    note.write_text("naïve", encoding="utf-8")
    agent = _agent(ScriptedAgentsModel([("read_note", {"path": str(note)}), "done", "again"]))
    devduck_otel.instrument(agent, tracer_provider=provider)
    first = Runner.run_sync(agent, "read it")
    second_input = [*first.to_input_list(), user("once more")]
    second = Runner.run_sync(agent, second_input)
    path = devduck_otel.stop_recording()
    assert path is not None

    session = devduck_otel.load_session(path)
    snaps = {s.description: s for s in session.snapshots}
    assert snaps["before invocation 1"].agent_messages == [user("read it")]
    assert snaps["before invocation 1"].last_query == "read it"
    assert snaps["after invocation 1"].agent_messages == first.to_input_list()
    assert snaps["after invocation 1"].last_result == "done"
    assert snaps["before invocation 2"].agent_messages == second_input
    assert snaps["after invocation 2"].agent_messages == second.to_input_list()
    messages = [e["data"] for e in session.get_events_by_type("message")]
    # Each item once, in order: input, tool call, tool output, reply; then the new input.
    assert [m["role"] for m in messages] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert messages[0]["content"] == "read it"
    assert messages[2]["content"]["output"] == "naïve"
    assert messages[4]["content"] == "once more"


def test_resume_into_fresh_agent_sends_the_request_the_original_would(
    provider: TracerProvider,
) -> None:
    """A resumed fresh agent sends the model the request the original would have sent."""
    original_model = ScriptedAgentsModel([("read_note", {"path": "/nonexistent"}), "one", "two"])
    original = _agent(original_model)
    devduck_otel.instrument(original, tracer_provider=provider)
    Runner.run_sync(original, "first")
    path = devduck_otel.stop_recording()
    assert path is not None
    # What the original sends next.
    adapter_for(original).invoke("next question")
    expected = original_model.requests[-1]
    assert len(expected.items) == 5  # first, tool call, tool output, "one", next question

    fresh_model = ScriptedAgentsModel(["two"])
    fresh = _agent(fresh_model, instructions="changed")
    outcome = devduck_otel.load_session(path).resume_and_continue(2, "next question", agent=fresh)
    assert outcome["agent_result"] == "two"
    assert fresh_model.requests[-1] == expected
    devduck_otel.stop_recording()


def test_untested_version_warns_and_records(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider
) -> None:
    """Another SDK version: a warning naming both versions, and recording goes on."""
    from devduck_otel.integrations import _openai_agents

    monkeypatch.setattr(_openai_agents, "_warned", set())
    monkeypatch.setattr(_openai_agents, "TESTED_VERSION", "0.0.1")
    model = ScriptedAgentsModel(["hi"])
    agent = _agent(model)
    with pytest.warns(UserWarning, match=r"openai-agents 0\.24\.0 is untested \(tested: 0\.0\.1\)"):
        devduck_otel.instrument(agent, tracer_provider=provider)
    Runner.run_sync(agent, "hello")
    path = devduck_otel.stop_recording()
    assert path is not None
    assert len(devduck_otel.load_session(path).snapshots) == 2


def test_neither_kind_is_a_type_error_naming_the_supported_kinds() -> None:
    """An object of no supported kind: the TypeError names the kinds."""
    with pytest.raises(TypeError, match=r"strands\.Agent, agents\.Agent"):
        devduck_otel.instrument(object())


def test_disabled_sdk_tracing_is_a_warning_and_records_no_spans(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """OPENAI_AGENTS_DISABLE_TRACING: processors see nothing, and instrument() says so."""
    from agents.tracing import get_trace_provider

    sdk = get_trace_provider()
    monkeypatch.setattr(sdk, "_env_disabled", None)
    monkeypatch.setattr(sdk, "_manual_disabled", None)
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "true")
    agent = _agent(ScriptedAgentsModel(["hi"]))
    with pytest.warns(UserWarning, match="tracing is disabled"):
        devduck_otel.instrument(agent, tracer_provider=provider)
    assert Runner.run_sync(agent, "hello").final_output == "hi"
    devduck_otel.stop_recording()
    assert not [s for s in exporter.get_finished_spans() if s.name.startswith("invoke_agent")]
    monkeypatch.setattr(sdk, "_env_disabled", None)
