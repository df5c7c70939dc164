"""A recording's steps: its model calls, tool calls and HTTP exchanges, in time order.

A model step comes from a ``model.call`` event that holds the whole call (``request``
and ``response``); a tool step from a ``tool.call`` event and its ``tool.result``; an
HTTP step from an ``http.<method>`` event recorded with its bodies
(``DEVDUCK_CAPTURE_HTTP_BODIES=true``).

A step made inside another step (the HTTP exchange of a tool, an ``@llm`` call inside
an ``@tool``, a sub-agent run by a tool) is part of that step, not a step of its own:
when the outer step is served from the record, the inner ones never run.

Example:
    >>> steps = steps_of(load_session("session.zip").events)  # doctest: +SKIP
    >>> steps[0].kind, steps[0].name  # doctest: +SKIP
    ('model', 'scripted-model-1')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from devduck_otel.capture._httpbody import step_name

StepKind = Literal["model", "tool", "http"]


class MissingStepsError(ValueError):
    """The session holds no whole model calls (recorded before replay existed)."""


@dataclass(frozen=True)
class Step:
    """One recorded step.

    Attributes:
        number: Its place in time order, from 1.
        kind: ``"model"``, ``"tool"`` or ``"http"``.
        name: The model id (or ``@llm`` name), the tool name, or ``"GET http://host/path"``.
        request: What was asked: the model request, the tool's arguments, or the HTTP
            request (``method``, ``url``, ``headers``, ``body`` and its form).
        response: What came back: the model response, the tool's result, or the HTTP
            response (``status``, ``headers``, ``body``).
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


def _is_http(event: dict[str, Any]) -> bool:
    return str(event.get("event_type") or "").startswith("http.")


def _is_whole_exchange(data: dict[str, Any]) -> bool:
    return isinstance(data.get("request"), dict) and (
        isinstance(data.get("response"), dict) or data.get("error") is not None
    )


def _step_spans(events: list[dict[str, Any]]) -> set[str]:
    """The spans of the events that can be steps (nested ones included)."""
    kinds = ("model.call", "tool.call")
    return {
        str(e["span_id"])
        for e in events
        if e.get("span_id") and (e.get("event_type") in kinds or _is_http(e))
    }


def _nested(events: list[dict[str, Any]]) -> set[int]:
    """Indexes of the events made inside another step's span."""
    parents = {e.get("span_id"): e.get("parent_span_id") for e in events if e.get("span_id")}
    steps = _step_spans(events)
    found: set[int] = set()
    for index, event in enumerate(events):
        here, seen = event.get("parent_span_id"), {event.get("span_id")}
        while here and here not in seen:  # a hostile ZIP may hold a cycle
            if here in steps:
                found.add(index)
                break
            seen.add(here)
            here = parents.get(here)
    return found


def unrecorded_http(events: list[dict[str, Any]]) -> list[str]:
    """The HTTP exchanges outside any step recorded without their bodies ("GET url")."""
    nested = _nested(events)
    return [
        f"{_data(e).get('method')} {_data(e).get('url')}"
        for i, e in enumerate(events)
        if _is_http(e) and i not in nested and not _is_whole_exchange(_data(e))
    ]


def _http_step(event: dict[str, Any]) -> tuple[StepKind, str, Any, Any, str | None, str | None]:
    data = _data(event)
    request = data["request"]
    name = step_name(request)
    error = data.get("error")
    return (
        "http",
        name,
        request,
        data.get("response"),
        None if error is None else str(error),
        event.get("span_id"),
    )


def steps_of(events: list[dict[str, Any]]) -> list[Step]:
    """Return the steps of a session's events (time order kept, numbered from 1).

    Args:
        events: The session's events, as ``LoadedSession.events``.

    Returns:
        The steps; model calls recorded without request and response are left out.
    """
    results = {_tool_key(e): _data(e) for e in events if e.get("event_type") == "tool.result"}
    found: list[tuple[StepKind, str, Any, Any, str | None, str | None]] = []
    nested = _nested(events)
    for index, event in enumerate(events):
        data, kind = _data(event), event.get("event_type")
        if index in nested:
            continue
        if _is_http(event) and _is_whole_exchange(data):
            found.append(_http_step(event))
        elif kind == "model.call" and _is_whole_model_call(data):
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
        bare = unrecorded_http(events)
        if bare:
            raise MissingStepsError(
                f"cannot replay: the session's {len(bare)} HTTP exchange(s) (first: {bare[0]}) "
                "were recorded without their bodies; record with "
                "DEVDUCK_CAPTURE_HTTP_BODIES=true to replay them"
            )
        raise MissingStepsError("cannot replay: the session has no model, tool or HTTP steps")
    return steps
