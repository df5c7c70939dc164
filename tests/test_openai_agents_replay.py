"""``session.replay(agent)`` for an OpenAI Agents SDK agent: model and tools from the record."""

from __future__ import annotations

from pathlib import Path

import pytest
from agents import Runner

import devduck_otel
from devduck_otel.replay._openai_agents import output_items
from devduck_otel.replay._steps import Step
from tests.support.openai_agents_kit import (
    close_sdk_loop,  # noqa: F401
    make_agent,
    user,
)
from tests.support.openai_agents_model import ScriptedAgentsModel

pytestmark = pytest.mark.usefixtures("close_sdk_loop")


def _record(note: Path) -> str:
    """Two runs: a file-reading tool, a failing tool, and their replies."""
    note.write_text("recorded ☕", encoding="utf-8")
    model = ScriptedAgentsModel(
        [("read_note", {"path": str(note)}), "read it", ("explode", {"reason": "r"}), "sorry"]
    )
    agent = make_agent(model)
    devduck_otel.instrument(agent)
    first = Runner.run_sync(agent, "read the note")
    Runner.run_sync(agent, [*first.to_input_list(), user("now fail")])
    path = devduck_otel.stop_recording()
    assert path is not None
    devduck_otel.uninstrument(agent)
    return path


def test_a_full_replay_serves_every_model_and_tool_step_from_the_record(tmp_path: Path) -> None:
    """A fresh agent with no scripted turns and the file gone replays both runs exactly."""
    note = tmp_path / "note.txt"
    path = _record(note)
    note.unlink()  # the tool would fail if it ran live
    fresh_model = ScriptedAgentsModel([])  # and so would the model
    fresh = make_agent(fresh_model)
    result = devduck_otel.load_session(path).replay(fresh)
    assert (result.diverged, result.divergence) == (False, None)
    assert (result.steps_replayed, result.steps_live) == (6, 0)
    assert result.agent_result == "sorry"
    assert fresh_model.requests == []
    assert fresh.model is fresh_model  # given back
    assert result.session_path is not None
    replayed = devduck_otel.load_session(result.session_path)
    assert [s.description for s in replayed.snapshots][-1] == "after invocation 2"
    assert len(replayed.get_events_by_type("model.call")) == 4


def test_a_model_step_without_output_items_is_a_clear_error() -> None:
    """A broken record: the step's response holds no items; an override text is a message."""
    broken = Step(1, "model", "m", {}, {"content": "not a list"}, None, None)
    with pytest.raises(ValueError, match="step 1 \\(model m\\) holds no output items"):
        output_items(broken)
    (message,) = output_items(Step(1, "model", "m", {}, "overridden", None, None))
    assert message.content[0].text == "overridden"


def test_a_fork_serves_the_first_steps_and_runs_the_rest_live(tmp_path: Path) -> None:
    """``until=1``: the first model step from the record, then the real tool and model."""
    note = tmp_path / "note.txt"
    path = _record(note)
    note.write_text("live now", encoding="utf-8")
    fresh_model = ScriptedAgentsModel(["live reply", ("explode", {"reason": "l"}), "live end"])
    fresh = make_agent(fresh_model)
    result = devduck_otel.load_session(path).replay(fresh, until=1, record=False)
    assert result.steps_replayed == 1
    assert result.steps_live == 5
    assert result.agent_result == "live end"
    tool_output = fresh_model.requests[0].items[-1]
    assert tool_output["output"] == "live now"


def test_a_replay_that_parts_from_the_record_stops_there(tmp_path: Path) -> None:
    """An agent that stops at its first tool sends other items next: a divergence, stopped."""
    note = tmp_path / "note.txt"
    path = _record(note)
    fresh_model = ScriptedAgentsModel([])
    fresh = make_agent(fresh_model, tool_use_behavior="stop_on_first_tool")
    result = devduck_otel.load_session(path).replay(fresh, record=False)
    assert result.diverged
    assert result.divergence is not None
    assert (result.divergence.step, result.divergence.kind) == (3, "model")
    assert result.divergence.field == "messages"
    assert result.agent_result is None
    assert fresh_model.requests == []
