"""Fidelity corpus for the OpenAI Agents SDK: run items survive snapshot -> ZIP -> resume exactly.

Each case runs a real ``agents.Agent`` (scripted model) on a history, loads the session
ZIP, checks that the snapshots hold the run's input items and ``to_input_list()``
exactly, then resumes a fresh agent from the after-snapshot: its next model request
must equal the one the original agent sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from agents import Runner
from pydantic import BaseModel

import devduck_otel
from devduck_otel.integrations import adapter_for
from tests.support.openai_agents_kit import (
    close_sdk_loop,  # noqa: F401
    make_agent,
    user,
)
from tests.support.openai_agents_model import ScriptedAgentsModel

pytestmark = pytest.mark.usefixtures("close_sdk_loop")


class Verdict(BaseModel):
    """A structured output."""

    label: str
    score: float
    tags: list[str]


def _assistant(text: str, number: int) -> dict[str, Any]:
    return {
        "id": f"msg_h{number}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _tool_pairs() -> list[Any]:
    return [
        user("Read a.txt and fetch the weather."),
        {
            "type": "function_call",
            "call_id": "call_a",
            "name": "read_note",
            "arguments": '{"path": "a.txt"}',
            "id": "fc_a",
            "status": "completed",
        },
        {
            "type": "function_call",
            "call_id": "call_b",
            "name": "fetch",
            "arguments": '{"url": "http://127.0.0.1:9/w"}',
            "id": "fc_b",
            "status": "completed",
        },
        {"type": "function_call_output", "call_id": "call_a", "output": "contents of a"},
        {"type": "function_call_output", "call_id": "call_b", "output": '{"sunny": true}'},
        _assistant("It is sunny.", 1),
    ]


def _non_ascii() -> list[Any]:
    return [
        user("Grüße, 日本語, مرحبا, emoji 🦆🧪, combining e\u0301, zero-width \u200b, tab\t"),
        _assistant("Ça va ? Ελληνικά — «quotes» \u2018single\u2019 \u2028 line sep", 1),
        user('\U0001f600 astral, \\ backslash, " quote, NUL-free'),
    ]


def _thousand() -> list[Any]:
    items: list[Any] = []
    for n in range(500):
        items.append(user(f"question {n} ünïcödé"))
        items.append(_assistant(f"answer {n}", n))
    return items


CASES: dict[str, Callable[[], list[Any]]] = {
    "tool_pairs": _tool_pairs,
    "non_ascii": _non_ascii,
    "thousand_messages": _thousand,
}


def _run_and_resume(history: list[Any], reply: str, **agent_options: Any) -> Any:
    original_model = ScriptedAgentsModel([reply, reply])
    original = make_agent(original_model, **agent_options)
    devduck_otel.instrument(original)
    run_input = [*history, user("go on")]
    result = Runner.run_sync(original, run_input)
    path = devduck_otel.stop_recording()
    assert path is not None
    session = devduck_otel.load_session(path)
    assert [s.description for s in session.snapshots] == [
        "before invocation 1",
        "after invocation 1",
    ]
    assert session.get_snapshot(1).agent_messages == run_input
    assert session.get_snapshot(2).agent_messages == result.to_input_list()
    assert session.get_snapshot(2).agent_messages_count == len(run_input) + 1

    adapter_for(original).invoke("next")
    fresh_model = ScriptedAgentsModel([reply])
    fresh = make_agent(fresh_model, instructions="something else", **agent_options)
    devduck_otel.load_session(path).resume_and_continue(2, "next", agent=fresh)
    assert fresh_model.requests[-1] == original_model.requests[-1]
    assert len(fresh_model.requests[-1].items) == len(run_input) + 2
    return result.final_output


@pytest.mark.parametrize("case", sorted(CASES))
def test_history_round_trips_and_resumes_to_the_same_request(case: str) -> None:
    """Tool-use pairs, non-ASCII text, 1,000 messages: exact items, exact next request."""
    assert _run_and_resume(CASES[case](), "noted ✓") == "noted ✓"


def test_structured_output_round_trips_and_resumes_to_the_same_request() -> None:
    """An ``output_type`` agent: its JSON reply is kept exactly and resumes to the same request."""
    verdict = Verdict(label="ok — ünïcödé", score=0.5, tags=["a", "β"])
    output = _run_and_resume(_tool_pairs(), verdict.model_dump_json(), output_type=Verdict)
    assert output == verdict
