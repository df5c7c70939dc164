"""``instrument("openai-agents")``: every SDK run in the process, with snapshots from its spans."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner
from agents.models.openai_responses import OpenAIResponsesModel
from openai import AsyncOpenAI
from opentelemetry.sdk.trace import TracerProvider

import devduck_otel
from devduck_otel.integrations import adapter_for
from devduck_otel.integrations._openai_agents_observed import ObservedAgent
from tests.support.openai_agents_kit import (
    close_sdk_loop,  # noqa: F401
    make_agent,
    process_wide_off,  # noqa: F401
    run_streamed,
    user,
)
from tests.support.openai_agents_model import ScriptedAgentsModel, Turn, serve_responses

pytestmark = pytest.mark.usefixtures("close_sdk_loop", "process_wide_off")

TOOL_NAMES = ["read_note", "fetch", "explode"]


def _model(base: str) -> OpenAIResponsesModel:
    """The SDK's own Responses model, talking to the scripted API at ``base``."""
    client = AsyncOpenAI(base_url=base, api_key="test-key", max_retries=0)
    return OpenAIResponsesModel(model="gpt-test", openai_client=client)


def _descriptions(path: str) -> list[str]:
    return [s.description for s in devduck_otel.load_session(path).snapshots]


def _two_runs(base: str, provider: TracerProvider) -> tuple[Agent, Any, Any, str]:
    """Two runs of a never-instrumented agent under ``instrument("openai-agents")``."""
    agent = make_agent(_model(base))
    devduck_otel.instrument("openai-agents", tracer_provider=provider)

    async def runs() -> tuple[Any, Any]:
        first = await Runner.run(agent, "first")
        return first, await Runner.run(agent, [*first.to_input_list(), user("second")])

    first, second = asyncio.run(runs())
    path = devduck_otel.stop_recording()
    assert path is not None
    return agent, first, second, path


def test_every_run_gets_a_snapshot_before_and_after_from_its_spans(
    provider: TracerProvider,
) -> None:
    """Two runs, no agent instrumented: each pair holds the run's items, instructions, tools."""
    turns: list[Turn] = [("explode", {"reason": "g"}), "one", "two"]
    with serve_responses(turns) as (base, _):
        _, first, second, path = _two_runs(base, provider)
    assert _descriptions(path) == [
        "before invocation 1",
        "after invocation 1",
        "before invocation 2",
        "after invocation 2",
    ]
    snaps = devduck_otel.load_session(path).snapshots
    assert snaps[0].agent_messages == [user("first")]
    assert snaps[1].agent_messages == first.to_input_list()
    assert snaps[2].agent_messages == [*first.to_input_list(), user("second")]
    assert snaps[3].agent_messages == second.to_input_list()
    for snap in snaps:
        assert snap.system_prompt == "You are terse."
        assert snap.tools_loaded == TOOL_NAMES
        assert snap.framework == "openai-agents"
        assert snap.model_info["model_id"] == "gpt-test"
    assert snaps[1].last_query == "first"
    assert snaps[3].last_result == "two"


def test_resume_from_a_process_wide_snapshot_sends_the_request_the_original_would(
    provider: TracerProvider,
) -> None:
    """Snapshot 2 into a fresh agent with other instructions: its next request is the original's."""
    turns: list[Turn] = [("explode", {"reason": "r"}), "one", "two", "two"]
    with serve_responses(turns) as (base, bodies):
        original, _, _, path = _two_runs(base, provider)
        original_second = bodies[2]
        fresh = make_agent(_model(base), instructions="changed")
        session = devduck_otel.load_session(path)
        report = session.resume_from_snapshot(2, agent=fresh)
        assert (report["framework"], report["framework_mismatch"]) == ("openai-agents", False)
        assert report["missing_tools"] == []
        assert fresh.instructions == "You are terse."
        items = adapter_for(fresh).messages()
        result = asyncio.run(Runner.run(fresh, [*items, user("second")]))
        assert result.final_output == "two"
    assert bodies[3] == original_second
    assert original.instructions == "You are terse."


def test_resume_and_continue_runs_a_fresh_agent_from_a_process_wide_snapshot(
    provider: TracerProvider,
) -> None:
    """``resume_and_continue`` with the agent passed: the original's next request, recorded."""
    turns: list[Turn] = ["one", "two", "two"]
    with serve_responses(turns) as (base, bodies):
        _, _, _, path = _two_runs(base, provider)
        fresh = make_agent(_model(base), instructions="")
        result = devduck_otel.load_session(path).resume_and_continue(2, "second", agent=fresh)
    assert result["agent_result"] == "two"
    assert bodies[2] == bodies[1]


def _scripted_two_runs(provider: TracerProvider, note: Path) -> tuple[Any, Any, str]:
    """Two runs of a scripted-model agent (generation spans) under ``instrument("openai-agents")``."""
    note.write_text("noted ☕", encoding="utf-8")
    model = ScriptedAgentsModel([("read_note", {"path": str(note)}), "read it", "second"])
    agent = make_agent(model)
    devduck_otel.instrument("openai-agents", tracer_provider=provider)
    first = Runner.run_sync(agent, "read the note")
    Runner.run_sync(agent, [*first.to_input_list(), user("more")])
    path = devduck_otel.stop_recording()
    assert path is not None
    return model, first, path


def test_a_custom_models_generation_spans_resume_to_the_original_request(
    provider: TracerProvider, tmp_path: Path
) -> None:
    """Generation spans (full reply dumps): the items are the SDK's, so a resume sends the same."""
    model, first, path = _scripted_two_runs(provider, tmp_path / "note.txt")
    session = devduck_otel.load_session(path)
    assert session.get_snapshot(2).agent_messages == first.to_input_list()
    fresh_model = ScriptedAgentsModel(["second"])
    fresh = make_agent(fresh_model)
    session.resume_from_snapshot(2, agent=fresh)
    Runner.run_sync(fresh, [*adapter_for(fresh).messages(), user("more")])
    assert fresh_model.requests == [model.requests[-1]]


def test_a_process_wide_recording_replays_into_a_fresh_agent(
    provider: TracerProvider, tmp_path: Path
) -> None:
    """``session.replay(fresh)``: both runs served from the record, ending on the recorded items."""
    _, _, path = _scripted_two_runs(provider, tmp_path / "note.txt")
    fresh_model = ScriptedAgentsModel([])
    result = devduck_otel.load_session(path).replay(make_agent(fresh_model), record=False)
    assert (result.diverged, result.divergence) == (False, None)
    assert (result.steps_replayed, result.steps_live, result.agent_result) == (4, 0, "second")
    assert fresh_model.requests == []


def test_a_streamed_run_with_a_handoff_gets_one_pair_of_the_starting_agent(
    provider: TracerProvider,
) -> None:
    """``run_streamed`` handing off: one pair, of the agent the run started with, its handoffs named."""
    specialist = Agent(name="specialist", model=ScriptedAgentsModel(["answered"]))
    triage = make_agent(
        ScriptedAgentsModel([("transfer_to_specialist", {})]), name="triage", handoffs=[specialist]
    )
    devduck_otel.instrument("openai-agents", tracer_provider=provider)
    result = run_streamed(triage, "stream it")
    path = devduck_otel.stop_recording()
    assert path is not None
    assert result.final_output == "answered"
    snaps = devduck_otel.load_session(path).snapshots
    assert [s.description for s in snaps] == ["before invocation 1", "after invocation 1"]
    assert snaps[0].agent_messages == [user("stream it")]
    assert snaps[1].agent_messages == result.to_input_list()
    assert snaps[0].tools_loaded == [*TOOL_NAMES, "handoff:specialist"]


def test_uninstrument_openai_agents_stops_the_snapshots(provider: TracerProvider) -> None:
    """After ``uninstrument("openai-agents")`` a run of the same agent gets no snapshot."""
    agent = make_agent(ScriptedAgentsModel(["a", "b"]))
    devduck_otel.instrument("openai-agents", tracer_provider=provider)
    Runner.run_sync(agent, "x")
    devduck_otel.uninstrument("openai-agents")
    Runner.run_sync(agent, "y")
    path = devduck_otel.stop_recording()
    assert path is not None
    assert _descriptions(path) == ["before invocation 1", "after invocation 1"]


def test_an_agent_also_instrumented_gets_one_snapshot_pair_of_itself(
    provider: TracerProvider,
) -> None:
    """``instrument(agent)`` beside ``instrument("openai-agents")``: the hooks' snapshots only."""
    hooked = make_agent(ScriptedAgentsModel(["h"]), instructions="I am hooked.")
    devduck_otel.instrument("openai-agents", tracer_provider=provider)
    devduck_otel.instrument(hooked)
    other = make_agent(ScriptedAgentsModel(["o"]), name="other", tools=[])
    for agent, text in ((hooked, "to hooked"), (other, "to other")):
        Runner.run_sync(agent, text)
    path = devduck_otel.stop_recording()
    assert path is not None
    snaps = devduck_otel.load_session(path).snapshots
    # The scripted model's generation span carries no system message: no instructions seen.
    assert [(s.description, s.system_prompt, s.tools_loaded) for s in snaps] == [
        ("before invocation 1", "I am hooked.", TOOL_NAMES),
        ("after invocation 1", "I am hooked.", TOOL_NAMES),
        ("before invocation 1", None, []),
        ("after invocation 1", None, []),
    ]
    assert snaps[2].agent_messages == [user("to other")]
    assert snaps[3].last_result == "o"


def test_a_generation_span_gives_its_system_message_as_instructions(
    provider: TracerProvider,
) -> None:
    """A chat-completions style span (system message first, model_config): read as the agent."""
    from agents.tracing import agent_span, generation_span, trace

    devduck_otel.instrument("openai-agents", tracer_provider=provider)
    with (
        trace("hand-made"),
        agent_span(name="chatty", tools=["t"], handoffs=["b"]),
        generation_span(
            model="chat-1",
            model_config={"temperature": 0.25, "base_url": "http://x"},
            input=[{"role": "system", "content": "Be brief."}, user("hi")],
        ) as span,
    ):
        span.span_data.output = [{"role": "assistant", "content": "hello"}]
    path = devduck_otel.stop_recording()
    assert path is not None
    snaps = devduck_otel.load_session(path).snapshots
    assert [s.description for s in snaps] == ["before invocation 1", "after invocation 1"]
    assert snaps[0].agent_messages == [user("hi")]
    assert snaps[1].agent_messages == [user("hi"), {"role": "assistant", "content": "hello"}]
    assert snaps[0].system_prompt == "Be brief."
    assert snaps[0].tools_loaded == ["t", "handoff:b"]
    assert snaps[0].agent_state["model_settings"]["temperature"] == 0.25


def test_without_sensitive_trace_data_a_process_wide_run_has_no_snapshot(
    provider: TracerProvider,
) -> None:
    """``trace_include_sensitive_data=False``: the spans hold no items, so no snapshot; the next run has."""
    agent = make_agent(ScriptedAgentsModel(["quiet", "loud"]))
    devduck_otel.instrument("openai-agents", tracer_provider=provider)
    config = RunConfig(trace_include_sensitive_data=False)
    assert Runner.run_sync(agent, "hush", run_config=config).final_output == "quiet"
    assert Runner.run_sync(agent, "speak").final_output == "loud"
    path = devduck_otel.stop_recording()
    assert path is not None
    snaps = devduck_otel.load_session(path).snapshots
    assert [s.description for s in snaps] == ["before invocation 1", "after invocation 1"]
    assert snaps[0].agent_messages == [user("speak")]


def test_an_observed_agent_cannot_be_run_or_instrumented() -> None:
    """The snapshot subject of a process-wide run is no runnable agent: a clear TypeError."""
    observed = ObservedAgent(name="seen", tools=["t"])
    with pytest.raises(TypeError, match=r"resume the snapshot into an agents\.Agent"):
        devduck_otel.instrument(observed)
    with pytest.raises(TypeError, match="cannot be run"):
        adapter_for(observed).invoke("hi")
    devduck_otel.uninstrument(observed)  # nothing was installed: nothing to remove


class _Hostile:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("do not compare me")

    __hash__ = object.__hash__


@pytest.mark.parametrize("bad", ["", "openai_agents", "langgraph", "x" * 10_000])
def test_another_string_is_a_clear_type_error_naming_the_one_string(bad: str) -> None:
    """Only ``"openai-agents"`` is a string ``instrument``/``uninstrument`` take."""
    with pytest.raises(TypeError, match="the one string instrument\\(\\) and uninstrument\\(\\)"):
        devduck_otel.instrument(bad)
    with pytest.raises(TypeError, match="'openai-agents'"):
        devduck_otel.uninstrument(bad)


@pytest.mark.parametrize("bad", [42, _Hostile(), object()])
def test_a_non_agent_type_error_says_the_string_is_accepted(bad: Any) -> None:
    """The TypeError for an object that is no agent also names ``"openai-agents"``."""
    with pytest.raises(TypeError, match='instrument\\(\\) also takes the string "openai-agents"'):
        devduck_otel.instrument(bad)
