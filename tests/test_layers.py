"""Spans of other instrumentations reaching a recording get their devduck layer."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import devduck_otel


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_foreign_genai_and_http_spans_are_tagged_on_a_joined_provider() -> None:
    """Strands-style GenAI spans and plain HTTP client spans get devduck.layer while recording."""
    provider, exporter = _provider()
    tracer = provider.get_tracer("someone.else")
    devduck_otel.start_recording(tracer_provider=provider)
    with tracer.start_as_current_span(
        "invoke_agent x", attributes={"gen_ai.operation.name": "invoke_agent"}
    ):
        with tracer.start_as_current_span("chat", attributes={"gen_ai.operation.name": "chat"}):
            pass
        with tracer.start_as_current_span(
            "execute_tool t", attributes={"gen_ai.operation.name": "execute_tool"}
        ):
            pass
        with tracer.start_as_current_span(
            "GET", kind=SpanKind.CLIENT, attributes={"http.request.method": "GET"}
        ):
            pass
    layers = {
        s.name: (s.attributes or {}).get("devduck.layer") for s in exporter.get_finished_spans()
    }
    assert layers == {
        "invoke_agent x": "agent",
        "chat": "agent",
        "execute_tool t": "tool",
        "GET": "sys",
    }


def test_nothing_is_tagged_outside_a_recording() -> None:
    """After stop, a joined provider's spans are left as the application made them."""
    provider, exporter = _provider()
    devduck_otel.start_recording(tracer_provider=provider)
    devduck_otel.stop_recording()
    with provider.get_tracer("x").start_as_current_span(
        "chat", attributes={"gen_ai.operation.name": "chat"}
    ):
        pass
    assert "devduck.layer" not in (exporter.get_finished_spans()[0].attributes or {})
