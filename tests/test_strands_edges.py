"""``instrument(agent)`` on Strands: side effects, direct calls, streaming, nesting, faults."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from strands import Agent, tool
from strands.hooks import MessageAddedEvent
from strands.types.exceptions import EventLoopException

import devduck_otel
from devduck_otel.testing import ScriptedModel, tool_turn
from tests.support.strands_kit import calc_agent, spans_named, stop_and_load


def test_tool_side_effects_land_in_the_tool_span(
    provider: TracerProvider, exporter: InMemorySpanExporter, tmp_path: Path
) -> None:
    """A file the tool writes is a sys event inside its execute_tool span and trace."""
    target = tmp_path / "note.txt"

    @tool
    def write_note(text: str) -> str:
        """Write a note.

        Args:
            text: The note.
        """
        target.write_text(text)
        return "written"

    agent = Agent(
        model=ScriptedModel([tool_turn("write_note", {"text": "hi"}), "done"]),
        tools=[write_note],
        callback_handler=None,
    )
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent("note it")
    (span,) = spans_named(exporter, "execute_tool")
    session = stop_and_load()
    opens = [e for e in session.get_events_by_type("file.open") if e["data"]["path"] == str(target)]
    assert opens
    assert opens[0]["span_id"] == format(span.context.span_id, "016x")
    assert opens[0]["trace_id"] == format(span.context.trace_id, "032x")


def test_direct_tool_call_is_recorded(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """agent.tool.add(...) runs outside an invocation and is still a recorded tool call."""
    agent = calc_agent(ScriptedModel())
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent.tool.add(a=2, b=5)
    (span,) = spans_named(exporter, "execute_tool")
    assert span.name == "execute_tool add"
    session = stop_and_load()
    (call,) = session.get_events_by_type("tool.call")
    (result,) = session.get_events_by_type("tool.result")
    assert call["data"]["args"] == {"a": 2, "b": 5}
    assert result["data"]["result_preview"] == "7"
    assert len(session.get_events_by_type("message")) == len(agent.messages) == 4


def test_hook_failure_marks_the_invocation(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """An error outside the model (here a user hook) still marks the invoke_agent span."""

    def refuse(event: MessageAddedEvent) -> None:
        if event.message["role"] == "assistant":
            raise PermissionError("not allowed")

    agent = calc_agent(ScriptedModel(["hello"]))
    agent.add_hook(refuse, MessageAddedEvent)
    devduck_otel.instrument(agent, tracer_provider=provider)
    with pytest.raises(EventLoopException):
        agent("hi")
    (span,) = spans_named(exporter, "invoke_agent")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "EventLoopException"


def test_sdk_disabled_records_nothing_and_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under OTEL_SDK_DISABLED=true the agent runs as usual and nothing is written."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    agent = calc_agent(ScriptedModel([tool_turn("add", {"a": 1, "b": 1}), "2"]))
    rec = devduck_otel.instrument(agent)
    assert str(agent("1 + 1?")).strip() == "2"
    assert rec.status()["recording"] is False
    assert devduck_otel.stop_recording() is None


async def test_stream_async_is_recorded(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Streaming an agent from async code records the same span, events and snapshots."""
    agent = calc_agent(ScriptedModel([tool_turn("add", {"a": 2, "b": 2}), "4"]))
    devduck_otel.instrument(agent, tracer_provider=provider)
    chunks = [event async for event in agent.stream_async("2 + 2?")]
    assert chunks
    (invoke,) = spans_named(exporter, "invoke_agent")
    (tool_span,) = spans_named(exporter, "execute_tool")
    assert tool_span.context.trace_id == invoke.context.trace_id
    session = stop_and_load()
    assert len(session.get_events_by_type("message")) == 4
    assert len(session.snapshots) == 2


class _RaisingProcessor(SpanProcessor):
    """An application span processor whose on_end raises."""

    def on_end(self, span: ReadableSpan) -> None:
        """Fail loudly."""
        raise RuntimeError("processor exploded")


class _Unprintable(Exception):
    """An exception whose str() raises."""

    def __str__(self) -> str:
        raise RuntimeError("str refused")


@tool
def unprintable_failure() -> str:
    """Fail with an exception that cannot be shown."""
    raise _Unprintable


def test_telemetry_faults_never_reach_the_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """In production a raising span processor and an unprintable tool error break nothing."""
    monkeypatch.setenv("DEVDUCK_RAISE_INTERNAL_ERRORS", "false")
    provider = TracerProvider()
    provider.add_span_processor(_RaisingProcessor())
    model = ScriptedModel([tool_turn("unprintable_failure", {}), "recovered"])
    agent = Agent(model=model, tools=[unprintable_failure], callback_handler=None)
    devduck_otel.instrument(agent, tracer_provider=provider)
    assert str(agent("try")).strip() == "recovered"
    session = stop_and_load()
    (result,) = session.get_events_by_type("tool.result")
    # Strands turns the failing str() into a RuntimeError of its own.
    assert result["data"]["error"] == "RuntimeError: str refused"
    assert [s["description"] for s in session.snapshots] == [
        "before invocation 1",
        "after invocation 1",
    ]


def test_agent_as_tool_nests_in_the_callers_trace(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """An instrumented sub-agent used as a tool records inside the caller's tool span."""
    inner = Agent(model=ScriptedModel(["inner answer"]), callback_handler=None, name="helper")
    outer = Agent(
        model=ScriptedModel([tool_turn("helper", {"input": "help me"}), "outer answer"]),
        tools=[inner],
        callback_handler=None,
        name="boss",
    )
    devduck_otel.instrument(outer, tracer_provider=provider)
    devduck_otel.instrument(inner)
    outer("delegate")
    (boss,) = [s for s in exporter.get_finished_spans() if s.name == "invoke_agent boss"]
    (helper,) = [s for s in exporter.get_finished_spans() if s.name == "invoke_agent helper"]
    (tool_span,) = spans_named(exporter, "execute_tool")
    assert helper.parent is not None
    assert helper.parent.span_id == tool_span.context.span_id
    assert {helper.context.trace_id, tool_span.context.trace_id} == {boss.context.trace_id}
    session = stop_and_load()
    assert [s["description"] for s in session.snapshots] == [
        "before invocation 1",
        "before invocation 1",
        "after invocation 1",
        "after invocation 1",
    ]
