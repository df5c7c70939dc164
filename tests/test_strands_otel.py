"""Beside Strands' own OpenTelemetry spans: no duplicates, one trace per invocation.

When the application installs a global SDK TracerProvider, Strands records its own
``invoke_agent``, ``chat`` and ``execute_tool`` spans there, and the recording joins
that provider. The global provider can be set once per process, so the scenario runs
in a child interpreter and reports its spans as JSON.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, TraceFlags
from strands import Agent

import devduck_otel
from devduck_otel.testing import ScriptedModel
from tests.support.recording import run_json_child

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = textwrap.dedent(
    """
    import json, sys
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from strands import Agent, tool
    import devduck_otel
    from devduck_otel.testing import ScriptedModel, tool_turn

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    @tool
    def add(a: int, b: int) -> int:
        '''Add two numbers.

        Args:
            a: The first number.
            b: The second number.
        '''
        return a + b

    model = ScriptedModel([tool_turn("add", {"a": 1, "b": 2}), "3", "bye"])
    agent = Agent(model=model, tools=[add], callback_handler=None, name="calc")
    rec = devduck_otel.instrument(agent)
    agent("1 + 2?")
    agent("bye?")
    path = devduck_otel.stop_recording()
    spans = [
        {
            "name": s.name,
            "trace_id": format(s.context.trace_id, "032x"),
            "span_id": format(s.context.span_id, "016x"),
            "parent": format(s.parent.span_id, "016x") if s.parent else None,
            "attributes": dict(s.attributes or {}),
            "events": [e.name for e in s.events],
        }
        for s in exporter.get_finished_spans()
    ]
    json.dump({"session_id": rec.session_id, "path": path, "spans": spans}, sys.stdout)
    """
)


def _run_scenario() -> dict[str, Any]:
    return run_json_child(SCENARIO)


def test_global_provider_no_duplicate_spans_one_trace_per_invocation() -> None:
    """Strands' spans are enriched, not doubled; each invocation is one trace.

    Devduck's events on a span of another tracer go onto a ``devduck.events`` child
    (the other tracer's event limit would drop them), so nothing is lost.
    """
    result = _run_scenario()
    spans = result["spans"]
    invocations = [s for s in spans if s["name"].startswith("invoke_agent")]
    assert len(invocations) == 2
    assert [s["name"] for s in spans if s["name"].startswith("execute_tool")] == [
        "execute_tool add"
    ]
    assert len([s for s in spans if s["name"].startswith("chat")]) == 3
    for span in invocations:
        assert span["parent"] is None
        assert span["attributes"]["devduck.layer"] == "agent"
        assert span["attributes"]["gen_ai.conversation.id"] == result["session_id"]
        # Strands' tracer keeps 128 events a span: ours ride on a carrier child.
        carried = [e for s in spans if s["parent"] == span["span_id"] for e in s["events"]]
        assert "message" in carried and "snapshot.created" in carried
        assert "message" not in span["events"]
    traces = {s["trace_id"] for s in spans}
    assert traces == {s["trace_id"] for s in invocations}
    first_trace = invocations[0]["trace_id"]
    assert len([s for s in spans if s["trace_id"] == first_trace and "chat" in s["name"]]) == 2
    session = devduck_otel.load_session(result["path"])
    assert len(session.get_events_by_type("tool.call")) == 1
    assert len(session.get_events_by_type("model.call")) == 3
    assert {e["trace_id"] for e in session.get_events_by_type("message")} == traces


def test_invoke_span_links_to_the_recording_links() -> None:
    """A recording started with links (as resume does) puts them on each invoke_agent span."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    parent = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1))
    devduck_otel.start_recording(tracer_provider=provider, links=[Link(parent)])
    agent = Agent(model=ScriptedModel(["hi"]), callback_handler=None, name="linked")
    devduck_otel.instrument(agent)
    agent("hello")
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "invoke_agent linked"]
    assert [link.context.span_id for link in span.links] == [0xDEF]
    assert trace.get_current_span() is trace.INVALID_SPAN
