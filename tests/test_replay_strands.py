"""Replaying real ``strands.Agent`` runs: zero model calls, zero tool runs, divergence, forks."""

from __future__ import annotations

from typing import Any

import pytest
from strands import Agent, tool
from strands.models import Model

import devduck_otel
from devduck_otel.replay._steps import MissingStepsError
from devduck_otel.testing import ScriptedModel, tool_turn

RUNS: list[str] = []


@tool
def weather(city: str) -> str:
    """Look up the weather.

    Args:
        city: The city.
    """
    RUNS.append(city)
    return f"rainy in {city}"


@tool(name="weather")
def raising_weather(city: str) -> str:
    """Look up the weather (must not run during a replay).

    Args:
        city: The city.
    """
    raise AssertionError(f"the tool ran during a replay: {city}")


class NoModel(ScriptedModel):
    """A model that fails the test if it is called."""

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        """Fail."""
        raise AssertionError("the model was called during a replay")
        yield  # pragma: no cover


def _record(prompt: str = "You help with weather.") -> devduck_otel.LoadedSession:
    model = ScriptedModel([tool_turn("weather", {"city": "Oslo"}), "It is rainy in Oslo."])
    agent = Agent(model=model, tools=[weather], system_prompt=prompt, callback_handler=None)
    devduck_otel.instrument(agent)
    agent("Weather in Oslo?")
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)


def _fresh(
    model: Model | None = None, prompt: str = "You help with weather.", tools: Any = None
) -> Agent:
    return Agent(
        model=model or NoModel(),
        tools=[raising_weather] if tools is None else tools,
        system_prompt=prompt,
        callback_handler=None,
    )


def test_steps_hold_whole_model_calls_and_tool_calls() -> None:
    """A recorded Strands run has steps model, tool, model with request and response."""
    steps = _record().steps
    assert [(s.number, s.kind, s.name) for s in steps] == [
        (1, "model", "scripted-model-1"),
        (2, "tool", "weather"),
        (3, "model", "scripted-model-1"),
    ]
    first = steps[0]
    assert first.request["system_prompt"] == "You help with weather."
    assert first.request["messages"][0]["content"] == [{"text": "Weather in Oslo?"}]
    assert [t["name"] for t in first.request["tools"]] == ["weather"]
    assert first.response["stop_reason"] == "tool_use"
    assert first.response["message"]["content"][0]["toolUse"]["input"] == {"city": "Oslo"}
    assert first.response["usage"]["inputTokens"] == 11
    assert steps[1].request == {"city": "Oslo"}
    assert steps[1].response == [{"text": "rainy in Oslo"}]
    assert all(s.span_id for s in steps)


def test_full_replay_calls_no_model_and_runs_no_tool() -> None:
    """Every step comes from the record; the model and the tool raise if called."""
    session = _record()
    result = session.replay(_fresh())
    assert result.divergence is None
    assert result.diverged is False
    assert result.steps_replayed == 3 and result.steps_live == 0
    assert str(result.agent_result).strip() == "It is rainy in Oslo."
    child = devduck_otel.load_session(result.session_path or "")
    assert child.metadata["parent_session"] == session.session_id
    assert child.metadata["parent_step"] is None
    assert [s.kind for s in child.steps] == ["model", "tool", "model"]


def test_changed_system_prompt_diverges_at_step_1() -> None:
    """A new system prompt is found before the first model step is served."""
    result = _record().replay(_fresh(prompt="You are a pirate."))
    assert result.diverged
    d = result.divergence
    assert d is not None
    assert (d.step, d.kind, d.field) == (1, "model", "system_prompt")
    assert (d.expected, d.actual) == ("You help with weather.", "You are a pirate.")
    assert '-"You help with weather."' in d.diff and '+"You are a pirate."' in d.diff


def test_changed_tool_diverges_at_the_model_step() -> None:
    """A different tool set shows in the first model request's tool names."""

    @tool
    def forecast(city: str) -> str:
        """Forecast.

        Args:
            city: The city.
        """
        raise AssertionError("ran")

    result = _record().replay(_fresh(tools=[forecast]))
    d = result.divergence
    assert d is not None
    assert (d.step, d.field, d.expected, d.actual) == (1, "tools", ["weather"], ["forecast"])


def test_fork_with_override_continues_live_and_links_the_session() -> None:
    """until=2 with an override: the tool returns "sunny", then the model runs live."""
    session = _record()
    live = ScriptedModel(["Sunny in Oslo, then."])
    RUNS.clear()
    result = session.replay(_fresh(model=live, tools=[weather]), until=2, override="sunny")
    assert RUNS == []
    assert result.steps_replayed == 2 and result.steps_live == 1
    assert str(result.agent_result).strip() == "Sunny in Oslo, then."
    assert len(live.requests) == 1
    last = live.requests[0].messages[-1]["content"][0]["toolResult"]
    assert last["content"] == [{"text": "sunny"}]
    child = devduck_otel.load_session(result.session_path or "")
    assert (child.metadata["parent_session"], child.metadata["parent_step"]) == (
        session.session_id,
        2,
    )


def test_bad_until_and_override_name_the_step() -> None:
    """An until out of range and a non-text model override are ValueErrors naming the step."""
    session = _record()
    for until in (0, 4, -1, True):
        with pytest.raises(
            ValueError, match=r"until=.* out of range: the session has steps 1\.\.3"
        ):
            session.replay(_fresh(), until=until)
    with pytest.raises(ValueError, match=r"override for step 1 \(model scripted-model-1\) must be"):
        session.replay(_fresh(), until=1, override=42)
    with pytest.raises(ValueError, match="override= needs until=N"):
        session.replay(_fresh(), override="x")


def test_unknown_agent_is_a_type_error() -> None:
    """An object replay does not know is a TypeError."""
    with pytest.raises(TypeError, match="cannot record int"):
        _record().replay(42)


def test_session_without_whole_model_calls_says_what_is_missing() -> None:
    """A model.call without request/response (an older recording) is one clear error."""
    session = _record()
    for event in session.events:
        if event["event_type"] == "model.call":
            event["data"].pop("request")
    with pytest.raises(
        MissingStepsError, match=r"hold no request and response.*resume still works"
    ):
        session.replay(_fresh())


def test_diff_of_a_fork_shows_where_it_parts(capsys: pytest.CaptureFixture[str]) -> None:
    """``devduck-otel diff`` of a session and its fork names the overridden tool result."""
    from tests.test_cli import run

    session = _record()
    live = ScriptedModel(["Sunny in Oslo, then."])
    result = session.replay(_fresh(model=live, tools=[weather]), until=2, override="sunny")
    code, out, _ = run(capsys, "diff", str(session.path), str(result.session_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Sessions first differ at step 3")
    assert lines[1].endswith("tool_result success: rainy in Oslo"), lines[1]
    assert lines[2].endswith("tool_result success: sunny"), lines[2]
    assert "first differ at message 2" in out  # the tool result; not 0 (message ids differ)


def test_diff_of_a_session_and_its_full_replay_finds_no_difference(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A full replay has the same messages: Strands' per-run message ids are no difference."""
    from tests.test_cli import run

    session = _record()
    result = session.replay(_fresh())
    code, out, _ = run(capsys, "diff", str(session.path), str(result.session_path))
    assert code == 0
    assert out.startswith("The sessions do not differ in messages or tool calls")
    assert "first differ at message" not in out


def test_viewer_payload_numbers_the_steps_and_names_the_parent() -> None:
    """The timeline's data holds each step's number by span, and a fork's parent and step."""
    from devduck_otel.cli._viewer import build_payload

    session = _record()
    result = session.replay(_fresh(model=ScriptedModel(["ok"]), tools=[weather]), until=2)
    child = devduck_otel.load_session(result.session_path or "")
    payload = build_payload(child.events, [], [], child.metadata)
    assert [(s["n"], s["k"]) for s in payload["steps"]] == [(1, "model"), (2, "tool"), (3, "model")]
    assert all(s["span"] for s in payload["steps"])
    assert (payload["meta"]["parent_session"], payload["meta"]["parent_step"]) == (
        session.session_id,
        2,
    )
