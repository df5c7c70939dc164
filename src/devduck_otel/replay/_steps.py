"""A recording's steps: its model and tool calls, in time order, numbered from 1.

A model step comes from a ``model.call`` event that holds the whole call (``request``
and ``response``); a tool step from a ``tool.call`` event and its ``tool.result``.

Example:
    >>> steps = steps_of(load_session("session.zip").events)  # doctest: +SKIP
    >>> steps[0].kind, steps[0].name  # doctest: +SKIP
    ('model', 'scripted-model-1')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

StepKind = Literal["model", "tool", "http"]


class MissingStepsError(ValueError):
    """The session holds no whole model calls (recorded before replay existed)."""


@dataclass(frozen=True)
class Step:
    """One recorded step.

    Attributes:
        number: Its place in time order, from 1.
        kind: ``"model"``, ``"tool"`` or ``"http"``.
        name: The model id (or ``@llm`` name), or the tool name.
        request: What was asked: the model request, or the tool's arguments.
        response: What came back: the model response, or the tool's result.
        error: The recorded error text, or ``None``.
        span_id: The span the step was recorded on.
    """

    number: int
    kind: StepKind
    name: str
    request: Any
    response: Any
    error: str | None
    span_id: str | None


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def _tool_key(event: dict[str, Any]) -> tuple[Any, Any]:
    data = _data(event)
    return (data.get("call_id"), event.get("span_id"))


def _is_whole_model_call(data: dict[str, Any]) -> bool:
    return isinstance(data.get("request"), dict) and "response" in data


def steps_of(events: list[dict[str, Any]]) -> list[Step]:
    """Return the steps of a session's events (time order kept, numbered from 1).

    Args:
        events: The session's events, as ``LoadedSession.events``.

    Returns:
        The steps; model calls recorded without request and response are left out.
    """
    results = {_tool_key(e): _data(e) for e in events if e.get("event_type") == "tool.result"}
    found: list[tuple[StepKind, str, Any, Any, str | None, str | None]] = []
    for event in events:
        data, kind = _data(event), event.get("event_type")
        if kind == "model.call" and _is_whole_model_call(data):
            name = str(data.get("name") or data.get("model_id") or "model")
            error = data.get("error")
            found.append(
                ("model", name, data["request"], data["response"], error, event.get("span_id"))
            )
        elif kind == "tool.call":
            result = results.get(_tool_key(event), {})
            error = result.get("error")
            found.append(
                (
                    "tool",
                    str(data.get("name")),
                    data.get("args") if isinstance(data.get("args"), dict) else {},
                    result.get("result"),
                    None if error is None else str(error),
                    event.get("span_id"),
                )
            )
    return [Step(n, *fields) for n, fields in enumerate(found, start=1)]


def require_steps(events: list[dict[str, Any]]) -> list[Step]:
    """Return the steps, or raise when the session cannot be replayed.

    Raises:
        MissingStepsError: The session has model calls, but none recorded whole, or
            no steps at all.
    """
    steps = steps_of(events)
    calls = [e for e in events if e.get("event_type") == "model.call"]
    if calls and not any(s.kind == "model" for s in steps):
        raise MissingStepsError(
            "cannot replay: the session's model.call events hold no request and response "
            "(recorded before replay existed, or by devduck); resume still works"
        )
    if not steps:
        raise MissingStepsError("cannot replay: the session has no model or tool steps")
    return steps
