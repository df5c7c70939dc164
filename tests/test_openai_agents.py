"""The OpenAI Agents SDK integration, against the real SDK and a scripted model."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from agents import Agent, Runner, function_tool
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import devduck_otel
from devduck_otel.integrations import adapter_for
from tests.support.http_server import serve
from tests.support.openai_agents_model import ScriptedAgentsModel


@function_tool
def read_note(path: str) -> str:
    """Read a text file."""
    return Path(path).read_text(encoding="utf-8")


@function_tool
def fetch(url: str) -> str:
    """GET a URL and return the body."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


@function_tool
def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"boom: {reason}")


@pytest.fixture(autouse=True)
def _close_sdk_loop() -> Iterator[None]:
    """Close the default event loop ``Runner.run_sync`` leaves open for reuse."""
    yield
    policy = asyncio.get_event_loop_policy()
    try:
        loop = policy.get_event_loop()
    except RuntimeError:
        return
    loop.close()
    policy.set_event_loop(None)


def _agent(model: ScriptedAgentsModel) -> Agent:
    return Agent(
        name="helper",
        instructions="You are terse.",
        model=model,
        tools=[read_note, fetch, explode],
    )


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
    fresh = Agent(
        name="helper", instructions="changed", model=fresh_model, tools=[read_note, fetch, explode]
    )
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
