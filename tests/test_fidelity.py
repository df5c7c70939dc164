"""Fidelity corpus: Strands agent states survive snapshot -> ZIP -> load -> resume exactly.

Each case builds a real ``strands.Agent`` in some state, snapshots it, writes the
session ZIP, loads it, resumes a fresh agent from the snapshot, and compares with
``==``. Then both agents run one more turn on identical scripted models, and the
model requests must be identical too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from strands import Agent, tool

import devduck_otel
from devduck_otel.testing import ScriptedModel, tool_turn
from tests.support.strands_kit import add

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\xff\xfe"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n\x00\x01\x02trailer"


@tool
def lookup(key: str) -> dict[str, Any]:
    """Look a key up.

    Args:
        key: What to look up.
    """
    return {"key": key, "found": True}


def _user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def _assistant(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def _text_history() -> list[dict[str, Any]]:
    return [_user({"text": "Hello"}), _assistant({"text": "Hi! How can I help?"})]


def _tool_pairs() -> list[dict[str, Any]]:
    return [
        _user({"text": "What is 2 + 3, and look up 'x'?"}),
        _assistant(
            {"text": "Let me use tools."},
            {"toolUse": {"toolUseId": "tu-1", "name": "add", "input": {"a": 2, "b": 3}}},
            {"toolUse": {"toolUseId": "tu-2", "name": "lookup", "input": {"key": "x"}}},
        ),
        _user(
            {"toolResult": {"toolUseId": "tu-1", "status": "success", "content": [{"text": "5"}]}},
            {
                "toolResult": {
                    "toolUseId": "tu-2",
                    "status": "success",
                    "content": [{"json": {"key": "x", "found": True, "n": 1.5}}],
                }
            },
        ),
        _assistant({"text": "2 + 3 = 5, and 'x' was found."}),
    ]


def _binary_blocks() -> list[dict[str, Any]]:
    return [
        _user(
            {"text": "Describe the picture and the report."},
            {"image": {"format": "png", "source": {"bytes": PNG}}},
            {"document": {"format": "pdf", "name": "report", "source": {"bytes": PDF}}},
        ),
        _assistant({"text": "A one-pixel image and a tiny PDF."}),
    ]


def _reasoning() -> list[dict[str, Any]]:
    return [
        _user({"text": "Think first."}),
        _assistant(
            {"reasoningContent": {"reasoningText": {"text": "Let me think…", "signature": "c2ln"}}},
            {"reasoningContent": {"redactedContent": b"\x00\xffsecret\x80"}},
            {"text": "Done thinking."},
        ),
    ]


def _non_ascii() -> list[dict[str, Any]]:
    return [
        _user(
            {"text": "Grüße aus Köln! 日本語のテキスト 🦆🦆 — שלום \u200b zero-width, \u00a0nbsp"}
        ),
        _assistant({"text": "Привет! Ελληνικά • emoji 👩‍💻 • \t tab \n newline \\ backslash"}),
    ]


def _long_history() -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for i in range(500):
        messages.append(_user({"text": f"question {i}"}))
        messages.append(_assistant({"text": f"answer {i} " + "x" * (i % 7)}))
    return messages


NESTED_STATE: dict[str, Any] = {
    "profile": {"name": "Ada", "langs": ["py", "ocaml"], "ключ": "значение"},
    "scores": {"a": 1, "b": 2.5, "c": None, "d": True, "e": [1, [2, [3, {"f": "g"}]]]},
    "deep": {"l1": {"l2": {"l3": {"l4": {"l5": [{"x": 0}, {"y": -1}]}}}}},
}

CASES: dict[str, tuple[Callable[[], list[dict[str, Any]]], dict[str, Any]]] = {
    "text": (_text_history, {}),
    "tool_pairs": (_tool_pairs, {"calls": 1}),
    "image_and_document_bytes": (_binary_blocks, {}),
    "reasoning": (_reasoning, {}),
    "non_ascii": (_non_ascii, {"greeting": "¡hola! 🦆"}),
    "nested_state": (_text_history, NESTED_STATE),
    "history_1000": (_long_history, {"turns": 500}),
}


def _agent(model: ScriptedModel, messages: list[Any] | None = None, **kw: Any) -> Agent:
    return Agent(
        model=model,
        messages=messages,
        tools=[add, lookup],
        callback_handler=None,
        **kw,
    )


def _snapshot_and_load(agent: Agent) -> tuple[devduck_otel.LoadedSession, int]:
    devduck_otel.start_recording()
    snapshot_id = devduck_otel.snapshot(agent, "fidelity", last_query="q")
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path), snapshot_id


@pytest.mark.parametrize("case", list(CASES))
def test_state_round_trips_exactly(case: str) -> None:
    """Messages, system prompt and agent.state come back == the original."""
    build, state = CASES[case]
    original = _agent(
        ScriptedModel(["next"]),
        copy.deepcopy(build()),
        system_prompt="Be exact. Sé exacto. 正確に。",
        state=copy.deepcopy(state),
    )
    session, snapshot_id = _snapshot_and_load(original)
    fresh = _agent(ScriptedModel(["next"]))
    report = session.resume_from_snapshot(snapshot_id, agent=fresh)
    assert report["messages_restored"] == len(original.messages)
    assert fresh.messages == original.messages
    assert fresh.system_prompt == original.system_prompt
    assert fresh.state.get() == original.state.get()
    assert report["missing_tools"] == []
    assert report["extra_tools"] == []


@pytest.mark.parametrize("case", list(CASES))
def test_restored_agent_sends_the_same_next_request(case: str) -> None:
    """Continuing the restored agent gives the model the same request as the original."""
    build, state = CASES[case]
    original_model, fresh_model = ScriptedModel(["next"]), ScriptedModel(["next"])
    original = _agent(original_model, copy.deepcopy(build()), system_prompt="S", state=state)
    session, snapshot_id = _snapshot_and_load(original)
    fresh = _agent(fresh_model)
    session.resume_from_snapshot(snapshot_id, agent=fresh)
    original("and now?")
    fresh("and now?")
    assert fresh_model.requests == original_model.requests
    assert len(fresh_model.requests[-1].messages) == len(build()) + 1


def test_live_run_state_round_trips() -> None:
    """A history made by Strands itself (tool round, usage metadata, ids) round-trips."""
    model = ScriptedModel([tool_turn("add", {"a": 4, "b": 5}), "9"])
    original = _agent(model, system_prompt="Add.", state={"k": [1, 2]})
    original("4 + 5?")
    original.state.set("after", {"done": True})
    session, snapshot_id = _snapshot_and_load(original)
    fresh_model = ScriptedModel(["again"])
    fresh = _agent(fresh_model)
    session.resume_from_snapshot(snapshot_id, agent=fresh)
    assert fresh.messages == original.messages
    assert fresh.state.get() == {"k": [1, 2], "after": {"done": True}}
    original.model = ScriptedModel(["again"])
    original("more")
    fresh("more")
    assert isinstance(original.model, ScriptedModel)
    assert fresh_model.requests == original.model.requests


def test_resumed_messages_are_copies() -> None:
    """Changing the resumed agent never changes the loaded session."""
    original = _agent(ScriptedModel(), _tool_pairs())
    session, snapshot_id = _snapshot_and_load(original)
    fresh = _agent(ScriptedModel())
    session.resume_from_snapshot(snapshot_id, agent=fresh)
    fresh.messages[0]["content"][0]["text"] = "changed"
    again = _agent(ScriptedModel())
    session.resume_from_snapshot(snapshot_id, agent=again)
    assert again.messages == original.messages
