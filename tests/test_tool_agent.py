"""The tool and agent decorators: spans, GenAI attributes, events, errors, async, generators."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import devduck_otel
from tests.support.recording import joined_memory_exporter


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """An application provider with an in-memory exporter that the recorder joins."""
    return joined_memory_exporter()


class ToolFailed(Exception):
    """The error a failing tool raises."""


@devduck_otel.tool
def multiply(a: int, b: int = 2) -> int:
    """Multiply."""
    return a * b


@devduck_otel.tool(name="fetch_weather")
def weather(city: str) -> dict[str, Any]:
    """A renamed tool returning an object."""
    return {"city": city, "temp": 21.5, "ok": True, "tags": ["sun"]}


@devduck_otel.tool
def explode(reason: str) -> None:
    """A tool that fails."""
    raise ToolFailed(reason)


@devduck_otel.tool
async def slow_add(a: int, b: int) -> int:
    """An async tool."""
    await asyncio.sleep(0)
    return a + b


@devduck_otel.tool
def count_to(n: int) -> Iterator[int]:
    """A generator tool."""
    yield from range(n)


@devduck_otel.tool
async def acount_to(n: int) -> AsyncIterator[int]:
    """An async generator tool."""
    for i in range(n):
        yield i


@devduck_otel.agent
def planner(query: str) -> str:
    """An agent that calls a tool."""
    return f"{query}: {multiply(3)}"


@devduck_otel.agent(name="broken-agent")
def broken(query: str) -> str:
    """An agent that fails."""
    raise RuntimeError("agent broke")


def _session() -> devduck_otel.LoadedSession:
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)


def test_tool_span_name_and_genai_attributes(spans: InMemorySpanExporter) -> None:
    """A bare @tool names the span execute_tool {fn} with the GenAI attributes."""
    assert multiply(4) == 8
    span = next(s for s in spans.get_finished_spans() if s.name == "execute_tool multiply")
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "execute_tool"
    assert attrs["gen_ai.tool.name"] == "multiply" and attrs["gen_ai.tool.call.id"]
    assert attrs["devduck.layer"] == "tool"
    # one record: the call is the span; its events.jsonl lines are derived from it
    assert span.events == ()
    lines = _session().events
    call = next(e for e in lines if e["event_type"] == "tool.call")
    result = next(e for e in lines if e["event_type"] == "tool.result")
    assert call["data"]["args"] == {"a": 4} and result["data"]["result"] == 8
    assert call["span_id"] == result["span_id"] == format(span.context.span_id, "016x")


def test_name_override_and_json_types_kept(spans: InMemorySpanExporter) -> None:
    """@tool(name=...) renames the span; the result keeps its JSON types in the ZIP."""
    weather("Oslo")
    assert any(s.name == "execute_tool fetch_weather" for s in spans.get_finished_spans())
    result = _session().get_events_by_type("tool.result")[0]["data"]
    assert result["result"] == {"city": "Oslo", "temp": 21.5, "ok": True, "tags": ["sun"]}
    assert result["name"] == "fetch_weather" and "Oslo" in result["result_preview"]


def test_failing_tool_raises_unchanged_and_records_error(spans: InMemorySpanExporter) -> None:
    """The tool's own exception reaches the caller; the span and event record it."""
    with pytest.raises(ToolFailed, match="boom") as info:
        explode("boom")
    assert type(info.value) is ToolFailed
    span = next(s for s in spans.get_finished_spans() if s.name == "execute_tool explode")
    assert span.attributes and span.attributes["error.type"] == "ToolFailed"
    assert not span.status.is_ok
    result = _session().get_events_by_type("tool.result")[0]["data"]
    assert result["error"] == "ToolFailed: boom"


def test_async_tool(spans: InMemorySpanExporter) -> None:
    """An async tool is recorded with its result."""
    assert asyncio.run(slow_add(2, 5)) == 7
    assert _session().get_events_by_type("tool.result")[0]["data"]["result"] == 7


def test_generator_tools_record_all_items(spans: InMemorySpanExporter) -> None:
    """Sync and async generator tools record the yielded items as the result."""

    async def consume() -> list[int]:
        return [i async for i in acount_to(2)]

    assert list(count_to(3)) == [0, 1, 2]
    assert asyncio.run(consume()) == [0, 1]
    results = [e["data"]["result"] for e in _session().get_events_by_type("tool.result")]
    assert results == [[0, 1, 2], [0, 1]]


def test_tool_outside_recording_runs_untouched() -> None:
    """Without a recording the tool just runs."""
    assert multiply(5) == 10


def test_agent_span_messages_and_tool_nested(spans: InMemorySpanExporter) -> None:
    """@agent makes invoke_agent spans with user/assistant messages; tools nest under it."""
    assert planner("plan") == "plan: 6"
    finished = {s.name: s for s in spans.get_finished_spans()}
    agent_span = finished["invoke_agent planner"]
    tool_span = finished["execute_tool multiply"]
    assert tool_span.parent is not None and tool_span.parent.span_id == agent_span.context.span_id
    attrs = dict(agent_span.attributes or {})
    assert (
        attrs["gen_ai.operation.name"] == "invoke_agent" and attrs["gen_ai.agent.name"] == "planner"
    )
    session = _session()
    assert attrs["gen_ai.conversation.id"] == session.session_id
    roles = [e["data"]["role"] for e in session.get_events_by_type("message")]
    assert roles == ["user", "assistant"]


def test_agent_error_is_recorded_and_reraised(spans: InMemorySpanExporter) -> None:
    """A failing agent records an error message and re-raises the same exception."""
    with pytest.raises(RuntimeError, match="agent broke"):
        broken("x")
    roles = [e["data"]["role"] for e in _session().get_events_by_type("message")]
    assert roles == ["user", "error"]


def test_agent_decorator_takes_no_snapshot(spans: InMemorySpanExporter) -> None:
    """@agent on its own takes no snapshot."""
    planner("q")
    assert _session().snapshots == []


def test_snapshot_event_carries_digest_not_blob(spans: InMemorySpanExporter) -> None:
    """A snapshot.created span event has id, sha256 and size, and no state bytes."""

    class Agent:
        messages = [{"role": "user", "content": [{"text": "secret plan"}]}]

    devduck_otel.snapshot(Agent(), "one")
    event = next(
        e for s in spans.get_finished_spans() for e in s.events if e.name == "snapshot.created"
    )
    attrs = dict(event.attributes or {})
    assert attrs["devduck.snapshot.id"] == 1 and len(str(attrs["devduck.snapshot.sha256"])) == 64
    size = attrs["devduck.snapshot.size"]
    assert isinstance(size, int) and size > 0
    assert "secret plan" not in repr(attrs)
