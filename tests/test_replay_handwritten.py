"""Replaying a hand-written agent whose model and tool calls are ``@llm`` / ``@tool``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import devduck_otel
from devduck_otel.replay._player import ReplayedError

LIVE_CALLS: list[str] = []
ALLOW = {"live": True}


@devduck_otel.llm(name="toy-model")
def complete(messages: list[dict[str, Any]], system: str) -> dict[str, Any]:
    """A stand-in provider call; fails the test when called during a replay."""
    if not ALLOW["live"]:
        raise AssertionError("the model was called during a replay")
    LIVE_CALLS.append("model")
    if messages[-1]["role"] == "user":
        return {"tool": "lookup", "args": {"key": messages[-1]["content"]}}
    return {"text": f"answer: {messages[-1]['content']}"}


@devduck_otel.tool
def lookup(key: str) -> str:
    """A tool with a side effect; fails the test when called during a replay."""
    if not ALLOW["live"]:
        raise AssertionError("the tool ran during a replay")
    LIVE_CALLS.append("tool")
    return f"value of {key}"


class Loop:
    """A hand-written agent loop: model, then tool, then model."""

    def __init__(self, system: str = "be brief", twice: bool = False) -> None:
        self.messages: list[dict[str, Any]] = []
        self.system = system
        self.twice = twice

    def __call__(self, query: str) -> str:
        """Run one turn."""
        self.messages.append({"role": "user", "content": query})
        reply = complete(list(self.messages), self.system)
        while "tool" in reply:
            result = lookup(**reply["args"])
            if self.twice:
                result = lookup(**reply["args"])
            self.messages.append({"role": "tool", "content": result})
            reply = complete(list(self.messages), self.system)
        self.messages.append({"role": "assistant", "content": reply["text"]})
        return str(reply["text"])


def _record() -> devduck_otel.LoadedSession:
    ALLOW["live"] = True
    agent = Loop()
    devduck_otel.instrument(agent)
    agent("alpha")
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)


def test_llm_steps_hold_arguments_and_return_value() -> None:
    """``@llm`` records its arguments as the request and its return value as the response."""
    steps = _record().steps
    assert [(s.kind, s.name) for s in steps] == [
        ("model", "toy-model"),
        ("tool", "lookup"),
        ("model", "toy-model"),
    ]
    assert steps[0].request == {
        "messages": [{"role": "user", "content": "alpha"}],
        "system": "be brief",
    }
    assert steps[0].response == {"tool": "lookup", "args": {"key": "alpha"}}
    assert steps[1].request == {"key": "alpha"} and steps[1].response == "value of alpha"


def test_full_replay_runs_neither_model_nor_tool() -> None:
    """The loop runs again with every result served from the record."""
    session = _record()
    ALLOW["live"] = False
    result = session.replay(Loop())
    assert not result.diverged, result.divergence
    assert result.agent_result == "answer: value of alpha"
    assert result.steps_replayed == 3


def test_changed_loop_diverges_at_the_extra_tool_call() -> None:
    """A loop that calls the tool twice is stopped at step 3, where a model call was recorded."""
    session = _record()
    ALLOW["live"] = False
    result = session.replay(Loop(twice=True))
    d = result.divergence
    assert d is not None
    assert (d.step, d.kind, d.field) == (3, "model", "name")
    assert (d.expected, d.actual) == ("model toy-model", "tool lookup")


def test_changed_argument_diverges_with_field_args() -> None:
    """A changed argument of the ``@llm`` call is reported under ``args``."""
    result = _record().replay(Loop(system="be verbose"), record=False)
    d = result.divergence
    assert d is not None and (d.step, d.field) == (1, "args")
    assert result.session_path is None


def test_fork_overrides_the_tool_and_goes_live() -> None:
    """until=2 override="forty-two": the tool is not run, the last model call is live."""
    session = _record()
    ALLOW["live"] = True
    LIVE_CALLS.clear()
    result = session.replay(Loop(), until=2, override="forty-two")
    assert LIVE_CALLS == ["model"]
    assert result.agent_result == "answer: forty-two"
    assert (result.steps_replayed, result.steps_live) == (2, 1)


def test_on_divergence_live_runs_on() -> None:
    """on_divergence="live" lets the changed loop finish live after the divergence."""
    session = _record()
    ALLOW["live"] = True
    result = session.replay(Loop(twice=True), on_divergence="live")
    assert result.divergence is not None and result.divergence.step == 3
    assert result.agent_result == "answer: value of alpha"


def test_recorded_tool_error_is_raised_again() -> None:
    """A step that recorded an error raises it during the replay, without running the tool."""
    session = _record()
    for event in session.events:
        if event["event_type"] == "tool.result":
            event["data"]["error"] = "KeyError: 'alpha'"
    ALLOW["live"] = False
    with pytest.raises(KeyError, match="'alpha'"):
        session.replay(Loop())
    for event in session.events:
        if event["event_type"] == "tool.result":
            event["data"]["error"] = "ShopClosed: come back later"
    with pytest.raises(ReplayedError, match="ShopClosed: come back later"):
        session.replay(Loop())


def test_pickled_result_needs_allow_pickle() -> None:
    """A step whose result is a pickled object is refused without allow_pickle=True."""
    session = _record()
    for event in session.events:
        if event["event_type"] == "tool.result":
            event["data"]["result"] = {"__devduck__": "pickle", "dill": "AA==", "repr": "x"}
    ALLOW["live"] = False
    with pytest.raises(ValueError, match=r"step 2 \(tool lookup\) returns a pickled object"):
        session.replay(Loop())


def test_outside_a_replay_the_decorators_pass_through() -> None:
    """With no recording and no replay, ``@llm`` functions just run."""
    ALLOW["live"] = True
    assert complete([{"role": "assistant", "content": "x"}], "s") == {"text": "answer: x"}


@devduck_otel.tool
def pages(key: str) -> Iterator[str]:
    """A generator tool; fails the test when run during a replay."""
    if not ALLOW["live"]:
        raise AssertionError("the generator tool ran during a replay")
    LIVE_CALLS.append("tool")
    yield f"page 1 of {key}"
    yield "page 2"


@devduck_otel.tool
async def apages(key: str) -> AsyncIterator[str]:
    """An async generator tool; fails the test when run during a replay."""
    if not ALLOW["live"]:
        raise AssertionError("the async generator tool ran during a replay")
    LIVE_CALLS.append("tool")
    yield f"page 1 of {key}"
    yield "page 2"


@devduck_otel.llm(name="summarizer")
def summarize(text: str) -> str:
    """A model call made inside a tool; fails the test when called during a replay."""
    if not ALLOW["live"]:
        raise AssertionError("the nested model was called during a replay")
    LIVE_CALLS.append("summarizer")
    return f"summary of {text}"


@devduck_otel.tool
def research(key: str) -> str:
    """A tool that calls a model itself: that call is part of the tool's step."""
    return summarize(f"notes on {key}")


async def _drain(items: AsyncIterator[str]) -> list[str]:
    return [item async for item in items]


class ToolLoop(Loop):
    """The loop with another tool: ``pages``, ``apages`` or ``research``."""

    def __init__(self, use: str) -> None:
        super().__init__()
        self.use = use

    def __call__(self, query: str) -> str:
        """Model, the chosen tool, model."""
        self.messages.append({"role": "user", "content": query})
        reply = complete(list(self.messages), self.system)
        key = reply["args"]["key"]
        if self.use == "pages":
            result = " / ".join(pages(key))
        elif self.use == "apages":
            result = " / ".join(asyncio.run(_drain(apages(key))))
        else:
            result = research(key)
        self.messages.append({"role": "tool", "content": result})
        reply = complete(list(self.messages), self.system)
        self.messages.append({"role": "assistant", "content": reply["text"]})
        return str(reply["text"])


def _record_loop(agent: Loop) -> devduck_otel.LoadedSession:
    ALLOW["live"] = True
    devduck_otel.instrument(agent)
    agent("alpha")
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)


@pytest.mark.parametrize("use", ["pages", "apages"])
def test_generator_tool_yields_its_recorded_items(use: str) -> None:
    """A (sync or async) generator tool is served: the recorded items, the tool not run."""
    session = _record_loop(ToolLoop(use))
    assert session.steps[1].response == ["page 1 of alpha", "page 2"]
    ALLOW["live"] = False
    result = session.replay(ToolLoop(use))
    assert not result.diverged, result.divergence
    assert result.agent_result == "answer: page 1 of alpha / page 2"
    assert result.steps_replayed == 3


def test_a_model_call_inside_a_tool_is_part_of_the_tool_step() -> None:
    """research() calls an @llm: three steps, not four; replayed with neither running."""
    session = _record_loop(ToolLoop("research"))
    assert [(s.kind, s.name) for s in session.steps] == [
        ("model", "toy-model"),
        ("tool", "research"),
        ("model", "toy-model"),
    ]
    ALLOW["live"] = False
    result = session.replay(ToolLoop("research"))
    assert not result.diverged, result.divergence
    assert result.agent_result == "answer: summary of notes on alpha"
    ALLOW["live"] = True
    LIVE_CALLS.clear()
    fork = session.replay(ToolLoop("research"), until=1)  # the tool and its model call live
    assert LIVE_CALLS == ["summarizer", "model"]
    assert (fork.steps_replayed, fork.steps_live) == (1, 2)
