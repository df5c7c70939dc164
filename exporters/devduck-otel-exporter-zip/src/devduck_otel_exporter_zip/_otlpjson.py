"""ReadableSpan to OTLP JSON (the encoding the Collector's file exporter writes).

Ids are lowercase hex, keys lowerCamelCase, 64-bit integers as strings, enums as
numbers, as the OTLP/JSON specification says.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

_STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}


def any_value(value: Any) -> dict[str, Any]:
    """Encode one attribute value as an OTLP ``AnyValue``."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (bytes, bytearray)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Encode an attribute mapping as a list of OTLP ``KeyValue``."""
    if not attributes:
        return []
    return [{"key": k, "value": any_value(v)} for k, v in attributes.items()]


def span_to_otlp(span: ReadableSpan) -> dict[str, Any]:
    """Encode one ended span as an OTLP JSON ``Span`` object."""
    ctx = span.get_span_context()
    assert ctx is not None  # an SDK span always has a context
    parent = span.parent
    status = span.status
    out: dict[str, Any] = {
        "traceId": f"{ctx.trace_id:032x}",
        "spanId": f"{ctx.span_id:016x}",
        "parentSpanId": f"{parent.span_id:016x}" if parent is not None else "",
        "name": span.name,
        "kind": span.kind.value + 1,
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or span.start_time or 0),
        "attributes": key_values(span.attributes),
        "status": {"code": _STATUS_CODES.get(status.status_code.name, 0)},
    }
    if status.description:
        out["status"]["message"] = status.description
    if span.events:
        out["events"] = [
            {
                "timeUnixNano": str(e.timestamp),
                "name": e.name,
                "attributes": key_values(e.attributes),
            }
            for e in span.events
        ]
    if span.links:
        out["links"] = [
            {
                "traceId": f"{link.context.trace_id:032x}",
                "spanId": f"{link.context.span_id:016x}",
                "attributes": key_values(link.attributes),
            }
            for link in span.links
        ]
    return out


def resource_to_otlp(span: ReadableSpan) -> dict[str, Any]:
    """Encode the span's resource as OTLP JSON."""
    return {"attributes": key_values(span.resource.attributes)}


def scope_to_otlp(span: ReadableSpan) -> dict[str, Any]:
    """Encode the span's instrumentation scope as OTLP JSON."""
    scope = span.instrumentation_scope
    if scope is None:
        return {"name": ""}
    out: dict[str, Any] = {"name": scope.name}
    if scope.version:
        out["version"] = scope.version
    return out
