"""Giving other instrumentations' spans a devduck layer (HTTP clients, GenAI spans).

Spans made by devduck-otel carry ``devduck.layer`` from the start. Spans of other
instrumentations that reach a recording (an application's own requests
instrumentation, Strands' ``invoke_agent`` / ``chat`` / ``execute_tool`` spans on a
joined provider, zero-code HTTP spans) are tagged when they start.
"""

from __future__ import annotations

from devduck_otel_exporter_zip.schema import http_client_method
from opentelemetry.sdk.trace import Span

from devduck_otel._attributes import (
    DEVDUCK_EVENT_TYPE,
    DEVDUCK_LAYER,
    GEN_AI_OPERATION_NAME,
    OP_EXECUTE_TOOL,
)

_GENAI_EVENT_TYPES = {
    OP_EXECUTE_TOOL: "tool.call",
    "invoke_agent": "agent.invoke",
    "chat": "model.call",
}


def tag_layer(span: Span) -> None:
    """Set ``devduck.layer`` / ``devduck.event_type`` on a span that has none yet."""
    attributes = span.attributes or {}
    if DEVDUCK_LAYER in attributes or not span.is_recording():
        return
    method = http_client_method(span.kind, attributes)
    if method is not None:
        span.set_attribute(DEVDUCK_LAYER, "sys")
        span.set_attribute(DEVDUCK_EVENT_TYPE, f"http.{method.lower()}")
        return
    operation = attributes.get(GEN_AI_OPERATION_NAME)
    if isinstance(operation, str) and operation in _GENAI_EVENT_TYPES:
        span.set_attribute(DEVDUCK_LAYER, "tool" if operation == OP_EXECUTE_TOOL else "agent")
        span.set_attribute(DEVDUCK_EVENT_TYPE, _GENAI_EVENT_TYPES[operation])
