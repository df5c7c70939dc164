"""``instrument(agent)`` on a real ``strands.Agent`` (scripted model, real tools)."""

from __future__ import annotations

import zipfile
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import devduck_otel
from devduck_otel._instrument import uninstrument
from devduck_otel.testing import ScriptedModel, tool_turn
from tests.support.strands_kit import calc_agent, spans_named, stop_and_load


def test_instrument_returns_recorder_and_makes_invoke_agent_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """One line starts a recording and each invocation is an invoke_agent span."""
    agent = calc_agent(ScriptedModel(["hello"]))
    rec = devduck_otel.instrument(agent, tracer_provider=provider, session_id="s-one-line")
    assert isinstance(rec, devduck_otel.Recorder)
    assert rec.session_id == "s-one-line"
    assert devduck_otel.recording_status()["recording"] is True
    agent("hi")
    (span,) = spans_named(exporter, "invoke_agent")
    assert span.name == "invoke_agent calc"
    assert span.attributes is not None
    assert span.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert span.attributes["gen_ai.agent.name"] == "calc"
    assert span.attributes["gen_ai.conversation.id"] == "s-one-line"
    assert span.attributes["devduck.layer"] == "agent"


def test_every_message_is_a_message_event(provider: TracerProvider) -> None:
    """User, assistant and tool-result messages each become a message event."""
    agent = calc_agent(ScriptedModel([tool_turn("add", {"a": 1, "b": 2}), "3"]))
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent("1 + 2?")
    session = stop_and_load()
    events = session.get_events_by_type("message")
    assert [e["data"]["role"] for e in events] == ["user", "assistant", "user", "assistant"]
    assert [e["data"]["content"] for e in events] == [m["content"] for m in agent.messages]
    assert events[0]["data"]["content_preview"] == "1 + 2?"
    assert events[3]["data"]["content_preview"] == "3"


class _EditingModel(ScriptedModel):
    """A model that edits the conversation in place while it answers.

    As a conversation manager that trims, or a provider adapter, may.
    """

    agent: Any = None

    async def stream(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        async for chunk in super().stream(messages, *args, **kwargs):
            yield chunk
        self.agent.messages[0]["content"][0]["text"] = "edited during the call"


def test_each_model_call_keeps_its_request_as_it_was_sent(provider: TracerProvider) -> None:
    """A model.call's request holds the conversation as it was sent, not as it became.

    The request is encoded when the call starts, so what changes ``agent.messages``
    in place during the call does not reach it.
    """
    model = _EditingModel([tool_turn("add", {"a": 1, "b": 2}), "3"])
    agent = model.agent = calc_agent(model)
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent("1 + 2?")
    assert agent.messages[0]["content"][0]["text"] == "edited during the call"
    session = stop_and_load()
    requests = [e["data"]["request"] for e in session.get_events_by_type("model.call")]
    assert [len(r["messages"]) for r in requests] == [1, 3]
    assert requests[0]["messages"][0]["content"] == [{"text": "1 + 2?"}]
    assert requests[1]["messages"][0]["content"] == [{"text": "edited during the call"}]
    assert requests[1]["messages"][1]["role"] == "assistant"
    assert requests[0]["tools"][0]["name"] == "add"


def test_tool_calls_are_tool_events_and_spans(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A Strands tool call gives one execute_tool span and tool.call/tool.result events."""
    model = ScriptedModel([tool_turn("add", {"a": 1, "b": 2}, tool_use_id="t-1"), "3"])
    agent = calc_agent(model)
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent("1 + 2?")
    (span,) = spans_named(exporter, "execute_tool")
    assert span.name == "execute_tool add"
    assert span.attributes is not None
    assert span.attributes["gen_ai.tool.name"] == "add"
    assert span.attributes["gen_ai.tool.call.id"] == "t-1"
    assert span.attributes["devduck.layer"] == "tool"
    session = stop_and_load()
    (call,) = session.get_events_by_type("tool.call")
    (result,) = session.get_events_by_type("tool.result")
    assert call["layer"] == "tool"
    assert result["layer"] == "tool"
    assert call["data"] == {"name": "add", "args": {"a": 1, "b": 2}, "call_id": "t-1"}
    assert result["data"]["name"] == "add"
    assert result["data"]["result"] == [{"text": "3"}]
    assert result["data"]["result_preview"] == "3"
    assert result["data"]["duration_ms"] >= 0
    assert "error" not in result["data"]
    assert call["span_id"] == result["span_id"] == format(span.context.span_id, "016x")


def test_failing_tool_records_error(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A tool that raises gives a tool.result with error and an ERROR span."""
    agent = calc_agent(ScriptedModel([tool_turn("explode", {"reason": "test"}), "sorry"]))
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent("break it")
    (span,) = spans_named(exporter, "execute_tool")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "ValueError"
    session = stop_and_load()
    (result,) = session.get_events_by_type("tool.result")
    assert "boom: test" in result["data"]["error"]


def test_each_model_call_is_a_chat_span_with_usage(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Every model call is a chat span with the model id from the config and token usage."""
    model = ScriptedModel(
        [tool_turn("add", {"a": 1, "b": 2}), "3"], model_id="claude-x", input_tokens=21
    )
    agent = calc_agent(model)
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent("1 + 2?")
    chats = spans_named(exporter, "chat")
    assert len(chats) == 2 == len(model.requests)
    for span in chats:
        assert span.attributes is not None
        assert span.attributes["gen_ai.operation.name"] == "chat"
        assert span.attributes["gen_ai.request.model"] == "claude-x"
        assert span.attributes["gen_ai.usage.input_tokens"] == 21
        assert span.attributes["gen_ai.usage.output_tokens"] == 7
    session = stop_and_load()
    calls = session.get_events_by_type("model.call")
    assert [c["data"]["stop_reason"] for c in calls] == ["tool_use", "end_turn"]
    assert calls[0]["data"]["model_id"] == "claude-x"


def test_one_trace_per_invocation(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    """Each invocation's spans share one trace, rooted at its invoke_agent span."""
    agent = calc_agent(ScriptedModel([tool_turn("add", {"a": 1, "b": 2}), "3", "again"]))
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent("1 + 2?")
    agent("and again?")
    invocations = spans_named(exporter, "invoke_agent")
    assert len(invocations) == 2
    first, second = invocations
    assert first.parent is None
    assert second.parent is None
    assert first.context.trace_id != second.context.trace_id
    by_trace = {first.context.trace_id: 0, second.context.trace_id: 0}
    for span in exporter.get_finished_spans():
        if span.name.startswith(("chat", "execute_tool")):
            by_trace[span.context.trace_id] += 1
            assert span.parent is not None
            assert span.parent.span_id in {first.context.span_id, second.context.span_id}
    assert by_trace == {first.context.trace_id: 3, second.context.trace_id: 1}


def test_snapshots_before_and_after_each_invocation(provider: TracerProvider) -> None:
    """Two invocations give four snapshots: before/after invocation 1 and 2."""
    agent = calc_agent(ScriptedModel(["one", "two"]), state={"user": {"name": "Ada"}})
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent("first")
    agent.state.set("turns", 1)
    agent("second")
    session = stop_and_load()
    snaps = session.snapshots
    assert [s["description"] for s in snaps] == [
        "before invocation 1",
        "after invocation 1",
        "before invocation 2",
        "after invocation 2",
    ]
    assert [s["agent_messages_count"] for s in snaps] == [0, 2, 2, 4]
    assert snaps[1]["last_query"] == "first"
    assert snaps[1]["last_result"].strip() == "one"
    assert snaps[3]["agent_state"] == {"user": {"name": "Ada"}, "turns": 1}
    assert snaps[3]["model_info"]["model_id"] == "scripted-model-1"
    assert snaps[3]["system_prompt"] == "You add numbers."
    assert sorted(snaps[3]["tools_loaded"]) == ["add", "explode"]
    created = session.get_events_by_type("snapshot.created")
    assert [e["data"]["snapshot_id"] for e in created] == [1, 2, 3, 4]


def test_instrument_twice_records_once(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Instrumenting an agent again does not double its spans or events."""
    agent = calc_agent(ScriptedModel(["hello"]))
    first = devduck_otel.instrument(agent, tracer_provider=provider)
    assert devduck_otel.instrument(agent) is first
    agent("hi")
    assert len(spans_named(exporter, "invoke_agent")) == 1
    session = stop_and_load()
    assert len(session.get_events_by_type("message")) == 2
    assert len(session.snapshots) == 2


def test_uninstrument_stops_recording_the_agent(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """After uninstrument the agent runs unrecorded; instrument turns it back on."""
    agent = calc_agent(ScriptedModel(["a", "b", "c"]))
    devduck_otel.instrument(agent, tracer_provider=provider)
    uninstrument(agent)
    agent("quiet")
    assert spans_named(exporter, "invoke_agent") == []
    devduck_otel.instrument(agent)
    agent("loud")
    assert len(spans_named(exporter, "invoke_agent")) == 1


def test_model_error_marks_span_and_reaches_caller(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A model failure reaches the caller unchanged; the span is ERROR, the after-snapshot taken."""
    agent = calc_agent(ScriptedModel([KeyError("model down")]))
    devduck_otel.instrument(agent, tracer_provider=provider)
    with pytest.raises(KeyError, match="model down"):
        agent("hi")
    (span,) = spans_named(exporter, "invoke_agent")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "KeyError"
    (chat,) = spans_named(exporter, "chat")
    assert chat.status.status_code is StatusCode.ERROR
    session = stop_and_load()
    assert [s["description"] for s in session.snapshots] == [
        "before invocation 1",
        "after invocation 1",
    ]


def test_nothing_recorded_after_stop(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Once the recording stops the instrumented agent still runs, and records nothing."""
    agent = calc_agent(ScriptedModel(["a", "b"]))
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent("recorded")
    path = devduck_otel.stop_recording()
    assert str(agent("not recorded")).strip() == "b"
    assert len(spans_named(exporter, "invoke_agent")) == 1
    assert path is not None
    with zipfile.ZipFile(path) as zf:
        assert b"not recorded" not in zf.read("events.jsonl")


def test_instrument_rejects_what_it_cannot_record() -> None:
    """An object with no messages list gets a TypeError that says what is needed."""
    with pytest.raises(TypeError, match="messages"):
        devduck_otel.instrument(object())
    assert devduck_otel.recording_status()["recording"] is False


def test_show_lists_strands_events_in_the_order_they_happened(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """For a Strands agent too: the user's message, the tool call, its result, the answer."""
    from strands import Agent, tool

    from devduck_otel.cli import main

    @tool
    def weather(city: str) -> str:
        """Answer for any city.

        Args:
            city: The city.
        """
        return f"sunny in {city}"

    model = ScriptedModel([tool_turn("weather", {"city": "Lisbon"}), "Sunny."])
    agent = Agent(model=model, tools=[weather], callback_handler=None)
    devduck_otel.instrument(agent)
    agent("What's the weather in Lisbon?")
    path = devduck_otel.stop_recording()
    assert path is not None
    with pytest.raises(SystemExit):
        main(["show", path])
    rows = capsys.readouterr().out.splitlines()

    def row(text: str) -> int:
        return next(i for i, line in enumerate(rows) if text in line)

    order = [
        row("user: What's the weather in Lisbon?"),
        row("tool.call"),
        row("tool.result"),
        row("assistant: Sunny."),
    ]
    assert order == sorted(order), rows
