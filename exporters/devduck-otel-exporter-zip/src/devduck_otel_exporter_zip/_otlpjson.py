"""ReadableSpan to OTLP JSON (the encoding the Collector's file exporter writes).

Ids are lowercase hex, keys lowerCamelCase, 64-bit integers as strings, enums as
numbers, as the OTLP/JSON specification says.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import orjson
from opentelemetry.sdk.trace import ReadableSpan

_STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}


def any_value(value: Any) -> dict[str, Any]:
    """Encode one attribute value as an OTLP ``AnyValue``."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is bool:
        return {"boolValue": value}
    if kind is int:
        return {"intValue": str(value)}
    if kind is float:
        return {"doubleValue": value}
    if isinstance(value, (bytes, bytearray)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)) or (
        isinstance(value, Sequence) and not isinstance(value, str)
    ):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(type(value).__name__)


def compact_span(span: ReadableSpan, resource_index: int) -> bytes:
    """Encode an ended span compactly (orjson, no per-attribute Python work).

    The journal stores this on the hot path; ``compact_to_otlp`` turns it into OTLP
    JSON when the ZIP is written.
    """
    ctx = span.get_span_context()
    assert ctx is not None  # an SDK span always has a context
    parent = span.parent
    scope = span.instrumentation_scope
    return orjson.dumps(
        [
            resource_index,
            scope.name if scope else "",
            scope.version if scope else None,
            f"{ctx.trace_id:032x}",
            f"{ctx.span_id:016x}",
            f"{parent.span_id:016x}" if parent is not None else "",
            span.name,
            span.kind.value + 1,
            span.start_time or 0,
            span.end_time or span.start_time or 0,
            dict(span.attributes or {}),
            [[e.name, e.timestamp, dict(e.attributes or {})] for e in span.events],
            [
                [
                    f"{link.context.trace_id:032x}",
                    f"{link.context.span_id:016x}",
                    dict(link.attributes or {}),
                ]
                for link in span.links
            ],
            _STATUS_CODES.get(span.status.status_code.name, 0),
            span.status.description,
        ],
        default=_plain,
        option=orjson.OPT_PASSTHROUGH_SUBCLASS,
    )


def _attr_value(value: Any) -> Any:
    if isinstance(value, dict) and "__bytes__" in value:
        return base64.b64decode(value["__bytes__"])
    return value


def _kvs(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": any_value(_attr_value(v))} for k, v in attributes.items()]


def compact_to_otlp(row: list[Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Turn a ``compact_span`` row into ``(resource_index, scope, span)`` OTLP JSON."""
    (resource, scope_name, scope_version, trace_id, span_id, parent_id, name, kind, start, end,
     attributes, events, links, status_code, status_message) = row  # fmt: skip
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": parent_id,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": _kvs(attributes),
        "status": {"code": status_code},
    }
    if status_message:
        span["status"]["message"] = status_message
    if events:
        span["events"] = [
            {"timeUnixNano": str(ts), "name": ev_name, "attributes": _kvs(attrs)}
            for ev_name, ts, attrs in events
        ]
    if links:
        span["links"] = [
            {"traceId": tid, "spanId": sid, "attributes": _kvs(attrs)} for tid, sid, attrs in links
        ]
    scope: dict[str, Any] = {"name": scope_name}
    if scope_version:
        scope["version"] = scope_version
    return resource, scope, span


def resource_line(index: int, span: ReadableSpan) -> bytes:
    """Encode the span's resource once, as the journal line that defines ``index``."""
    attrs = {k: _plain_attr(v) for k, v in span.resource.attributes.items()}
    return orjson.dumps({"resource": index, "attributes": _kvs(attrs)})


def _plain_attr(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
