"""OpenAI Agents SDK runs: streamed, handed off, process-wide, into a Session, hooks kept."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agents import Agent, AgentHooks, RunConfig, Runner, SQLiteSession
from agents.models.openai_responses import OpenAIResponsesModel
from openai import AsyncOpenAI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import devduck_otel
from tests.support.openai_agents_kit import (
    close_sdk_loop,  # noqa: F401
    make_agent,
    parent_name,
    process_wide_off,  # noqa: F401
    run_streamed,
    user,
)
from tests.support.openai_agents_model import ScriptedAgentsModel, serve_responses

pytestmark = pytest.mark.usefixtures("close_sdk_loop", "process_wide_off")


def _descriptions(path: str) -> list[str]:
    return [s.description for s in devduck_otel.load_session(path).snapshots]


def test_run_streamed_is_recorded_with_its_snapshots(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """``Runner.run_streamed``: spans, and a snapshot before and after holding the run's items."""
    agent = make_agent(ScriptedAgentsModel([("explode", {"reason": "s"}), "streamed"]))
    devduck_otel.instrument(agent, tracer_provider=provider)
    result = run_streamed(agent, "stream it")
    path = devduck_otel.stop_recording()
    assert path is not None
    assert result.final_output == "streamed"
    names = [s.name for s in exporter.get_finished_spans()]
    assert names.count("chat scripted-1") == 2
    assert "execute_tool explode" in names
    session = devduck_otel.load_session(path)
    assert _descriptions(path) == ["before invocation 1", "after invocation 1"]
    assert session.get_snapshot(1).agent_messages == [user("stream it")]
    assert session.get_snapshot(2).agent_messages == result.to_input_list()


def test_a_handoff_stays_in_one_run_with_one_snapshot_pair(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A hands off to B: handoff span, B's spans under B, one before/after pair per run."""
    specialist = Agent(
        name="specialist",
        instructions="You know things.",
        model=ScriptedAgentsModel(["the answer", "second answer"]),
    )
    triage = make_agent(
        ScriptedAgentsModel([("transfer_to_specialist", {}), ("transfer_to_specialist", {})]),
        name="triage",
        handoffs=[specialist],
    )
    devduck_otel.instrument(triage, tracer_provider=provider)
    first = Runner.run_sync(triage, "ask")
    Runner.run_sync(triage, [*first.to_input_list(), user("again")])
    path = devduck_otel.stop_recording()
    assert path is not None
    assert first.final_output == "the answer"
    assert _descriptions(path) == [
        "before invocation 1",
        "after invocation 1",
        "before invocation 2",
        "after invocation 2",
    ]
    session = devduck_otel.load_session(path)
    after = session.get_snapshot(2)
    assert after.agent_messages == first.to_input_list()
    assert after.system_prompt == "You are terse."  # the run's agent: the one instrumented
    assert "handoff:specialist" in after.tools_loaded
    spans = list(exporter.get_finished_spans())
    handoffs = [s for s in spans if s.name == "handoff triage -> specialist"]
    assert len(handoffs) == 2
    specialist_chats = [s for s in spans if s.name == "chat scripted-1"][1::2]
    assert {parent_name(s, spans) for s in specialist_chats} == {"invoke_agent specialist"}


def test_instrument_openai_agents_alone_records_every_run_with_snapshots_from_spans(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """``instrument("openai-agents")``: any agent's spans, messages and a snapshot pair."""
    devduck_otel.instrument("openai-agents", tracer_provider=provider)
    agent = make_agent(ScriptedAgentsModel([("explode", {"reason": "p"}), "fine"]))
    assert Runner.run_sync(agent, "anyone").final_output == "fine"
    path = devduck_otel.stop_recording()
    assert path is not None
    names = [s.name for s in exporter.get_finished_spans()]
    assert names.count("invoke_agent helper") == 1
    assert "execute_tool explode" in names
    session = devduck_otel.load_session(path)
    assert _descriptions(path) == ["before invocation 1", "after invocation 1"]
    after = session.get_snapshot(2)
    assert after.agent_messages[0] == user("anyone")
    assert after.tools_loaded == ["read_note", "fetch", "explode"]
    assert after.last_result == "fine"
    roles = [e["data"]["role"] for e in session.get_events_by_type("message")]
    assert roles == ["user", "assistant", "tool", "assistant"]


def test_two_instrumented_agents_of_one_name_keep_their_own_snapshots(
    provider: TracerProvider,
) -> None:
    """Agents are told apart by object, not name: each snapshot is of the agent that ran."""
    one = make_agent(ScriptedAgentsModel(["from one"]), instructions="I am one.")
    two = make_agent(ScriptedAgentsModel(["from two"]), instructions="I am two.")
    devduck_otel.instrument(one, tracer_provider=provider)
    devduck_otel.instrument(two)
    Runner.run_sync(one, "to one")
    Runner.run_sync(two, "to two")
    path = devduck_otel.stop_recording()
    assert path is not None
    snaps = devduck_otel.load_session(path).snapshots
    assert [(s.description, s.system_prompt) for s in snaps] == [
        ("before invocation 1", "I am one."),
        ("after invocation 1", "I am one."),
        ("before invocation 1", "I am two."),
        ("after invocation 1", "I am two."),
    ]
    assert snaps[3].last_result == "from two"


def test_resume_into_an_sdk_session_sends_the_request_the_original_would(
    provider: TracerProvider,
) -> None:
    """A snapshot's items added to an SQLiteSession: the fresh agent's next request is the original's."""
    original_model = ScriptedAgentsModel([("explode", {"reason": "r"}), "one", "two"])
    original = make_agent(original_model)
    fresh_model = ScriptedAgentsModel(["two"])
    fresh = make_agent(fresh_model, instructions="changed")

    async def scenario() -> Any:
        devduck_otel.instrument(original, tracer_provider=provider)
        first = await Runner.run(original, "first")
        path = devduck_otel.stop_recording()
        assert path is not None
        await Runner.run(original, [*first.to_input_list(), user("next question")])
        session = devduck_otel.load_session(path)
        session.resume_from_snapshot(2, agent=fresh)
        sdk_session = SQLiteSession("resumed")  # in memory
        await sdk_session.add_items(session.get_snapshot(2).agent_messages)
        return await Runner.run(fresh, "next question", session=sdk_session)

    assert asyncio.run(scenario()).final_output == "two"
    assert fresh_model.requests[-1] == original_model.requests[-1]


class _UserHooks(AgentHooks[Any]):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def on_start(self, context: Any, agent: Any) -> None:
        self.calls.append("start")

    async def on_llm_start(self, context: Any, agent: Any, prompt: Any, items: Any) -> None:
        self.calls.append(f"llm_start {len(items)}")

    async def on_end(self, context: Any, agent: Any, output: Any) -> None:
        self.calls.append(f"end {output}")


def test_the_users_agent_hooks_keep_working_and_come_back_on_uninstrument(
    provider: TracerProvider,
) -> None:
    """The hooks devduck adds wrap the agent's own: they are all called, and uninstrument restores them."""
    mine = _UserHooks()
    agent = make_agent(ScriptedAgentsModel(["a", "b"]), hooks=mine)
    devduck_otel.instrument(agent, tracer_provider=provider)
    Runner.run_sync(agent, "x")
    devduck_otel.uninstrument(agent)
    assert agent.hooks is mine
    Runner.run_sync(agent, "y")
    path = devduck_otel.stop_recording()
    assert path is not None
    assert mine.calls == ["start", "llm_start 1", "end a", "start", "llm_start 1", "end b"]
    assert _descriptions(path) == ["before invocation 1", "after invocation 1"]


def test_the_sdks_default_responses_model_records_its_input_and_output_items(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """OpenAIResponsesModel against a scripted Responses API on loopback: chat span content."""
    with serve_responses([("explode", {"reason": "q"}), "über"]) as (base, bodies):

        async def run() -> Any:
            client = AsyncOpenAI(base_url=base, api_key="test-key", max_retries=0)
            agent = make_agent(OpenAIResponsesModel(model="gpt-test", openai_client=client))
            devduck_otel.instrument(agent, tracer_provider=provider, capture_content=True)
            try:
                return await Runner.run(agent, "hallo")
            finally:
                await client.close()

        result = asyncio.run(run())
    path = devduck_otel.stop_recording()
    assert path is not None
    assert result.final_output == "über"
    assert len(bodies) == 2
    chats = [s for s in exporter.get_finished_spans() if s.name.startswith("chat")]
    assert [s.name for s in chats] == ["chat gpt-test", "chat gpt-test"]
    attributes = chats[1].attributes or {}
    inputs = json.loads(str(attributes["gen_ai.input.messages"]))
    assert inputs[0] == user("hallo")
    assert inputs[-1]["type"] == "function_call_output"
    outputs = json.loads(str(attributes["gen_ai.output.messages"]))
    assert outputs[0]["content"][0]["text"] == "über"
    assert attributes["gen_ai.usage.output_tokens"] == 5
    session = devduck_otel.load_session(path)
    roles = [e["data"]["role"] for e in session.get_events_by_type("message")]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert session.get_snapshot(2).agent_messages == result.to_input_list()


def test_without_task_spans_the_sdk_trace_is_the_run(provider: TracerProvider) -> None:
    """``include_task_and_turn_spans=False``: the run's trace bounds it; same snapshots."""
    agent = make_agent(ScriptedAgentsModel(["no task"]))
    devduck_otel.instrument(agent, tracer_provider=provider)
    config = RunConfig(tracing={"include_task_and_turn_spans": False})
    result = Runner.run_sync(agent, "plain", run_config=config)
    path = devduck_otel.stop_recording()
    assert path is not None
    session = devduck_otel.load_session(path)
    assert _descriptions(path) == ["before invocation 1", "after invocation 1"]
    assert session.get_snapshot(2).agent_messages == result.to_input_list()


def test_without_sensitive_trace_data_snapshots_still_hold_the_items(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """``trace_include_sensitive_data=False``: no content on spans, the hooks still give items."""
    agent = make_agent(ScriptedAgentsModel([("explode", {"reason": "secret"}), "quiet"]))
    devduck_otel.instrument(agent, tracer_provider=provider, capture_content=True)
    config = RunConfig(trace_include_sensitive_data=False)
    result = Runner.run_sync(agent, "hush", run_config=config)
    path = devduck_otel.stop_recording()
    assert path is not None
    tool = next(s for s in exporter.get_finished_spans() if s.name == "execute_tool explode")
    assert "secret" not in json.dumps(dict(tool.attributes or {}))
    session = devduck_otel.load_session(path)
    assert session.get_snapshot(2).agent_messages == result.to_input_list()


def test_concurrent_runs_keep_their_own_items(provider: TracerProvider) -> None:
    """Two runs at once on one event loop: each snapshot holds its own run's items."""
    one = make_agent(ScriptedAgentsModel(["one done"]), instructions="I am one.")
    two = make_agent(ScriptedAgentsModel(["two done"]), instructions="I am two.")
    devduck_otel.instrument(one, tracer_provider=provider)
    devduck_otel.instrument(two)

    async def both() -> list[Any]:
        return list(await asyncio.gather(Runner.run(one, "for one"), Runner.run(two, "for two")))

    results = asyncio.run(both())
    path = devduck_otel.stop_recording()
    assert path is not None
    after = {
        s.system_prompt: s.agent_messages
        for s in devduck_otel.load_session(path).snapshots
        if s.description.startswith("after")
    }
    assert after == {
        "I am one.": results[0].to_input_list(),
        "I am two.": results[1].to_input_list(),
    }


class _FailingHooks(AgentHooks[Any]):
    async def on_llm_start(self, context: Any, agent: Any, prompt: Any, items: Any) -> None:
        raise RuntimeError("the user's hook fails")


def test_a_failing_user_hook_fails_the_run_as_without_devduck_and_is_recorded(
    provider: TracerProvider,
) -> None:
    """The user's hook error reaches the caller unchanged; the run still gets its snapshots."""
    agent = make_agent(ScriptedAgentsModel(["never"]), hooks=_FailingHooks())
    devduck_otel.instrument(agent, tracer_provider=provider)
    with pytest.raises(RuntimeError, match="the user's hook fails"):
        Runner.run_sync(agent, "doomed")
    path = devduck_otel.stop_recording()
    assert path is not None
    assert _descriptions(path) == ["before invocation 1", "after invocation 1"]
