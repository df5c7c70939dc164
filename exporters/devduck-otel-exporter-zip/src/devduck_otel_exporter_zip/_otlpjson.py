"""Spans as OTLP JSON (the encoding the Collector's file exporter writes), both ways.

Ids are lowercase hex, keys lowerCamelCase, 64-bit integers as strings, enums as
numbers, as the OTLP/JSON specification says; NaN and the infinities are the strings
``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, as protobuf's JSON mapping writes doubles.
This is the package's one OTLP JSON codec: the journal, the ZIP, the CLI and ``push``
all go through it.
"""

from __future__ import annotations

import base64
import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, Status, StatusCode

from devduck_otel_exporter_zip._records import SpanRecord

_STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}
_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


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
        if math.isfinite(value):
            return {"doubleValue": value}
        return {
            "doubleValue": "NaN"
            if math.isnan(value)
            else ("Infinity" if value > 0 else "-Infinity")
        }
    if isinstance(value, (bytes, bytearray)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)}}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Encode an attribute map as OTLP ``KeyValue`` objects."""
    return [{"key": str(k), "value": any_value(v)} for k, v in attributes.items()]


def decode_any_value(value: Mapping[str, Any]) -> Any:
    """Decode an OTLP JSON ``AnyValue`` (arrays become tuples, as OTel attributes are)."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        raw = value["doubleValue"]
        return _FLOATS[raw] if isinstance(raw, str) else float(raw)
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"])
    if "arrayValue" in value:
        return tuple(decode_any_value(v) for v in value["arrayValue"].get("values", []))
    if "kvlistValue" in value:
        return decode_key_values(value["kvlistValue"].get("values", []))
    return None


def decode_key_values(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Decode OTLP JSON ``KeyValue`` objects into an attribute map."""
    return {str(item.get("key")): decode_any_value(item.get("value") or {}) for item in items}


def span_json(record: SpanRecord, attributes: Mapping[str, Any] | None = None) -> bytes:
    """Encode an ended span as one OTLP JSON ``Span`` object.

    The bytes are those of ``orjson.dumps`` of the OTLP JSON object, put together
    from pieces (the attribute lists without building a dict per attribute).

    Args:
        record: The span as it ended.
        attributes: Its attributes after redaction (default: ``record.attributes``).
    """
    span = record.span
    ctx = span.get_span_context()
    assert ctx is not None  # an SDK span always has a context
    parent = span.parent
    out = _SPAN_HEAD % (
        ctx.trace_id,
        ctx.span_id,
        b"%016x" % parent.span_id if parent is not None else b"",
        orjson.dumps(record.name),
        _KINDS.get(span.kind) or span.kind.value + 1,
        span.start_time or 0,
        record.end_time or span.start_time or 0,
        key_values_json(record.attributes if attributes is None else attributes),
        _status_json(record.status),
    )
    parts = [out]
    if record.events:
        events = [
            _EVENT % (e.timestamp, orjson.dumps(e.name), key_values_json(e.attributes or {}))
            for e in record.events
        ]
        parts.append(b',"events":[%b]' % b",".join(events))
    links = getattr(span, "_links", None) if isinstance(span, ReadableSpan) else span.links
    if links:
        parts.append(b',"links":%b' % orjson.dumps([_link(link) for link in links]))
    if record.dropped_events:
        parts.append(b',"droppedEventsCount":%d' % record.dropped_events)
    parts.append(b"}")
    return b"".join(parts)


_SPAN_HEAD = (
    b'{"traceId":"%032x","spanId":"%016x","parentSpanId":"%b","name":%b,"kind":%d,'
    b'"startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":%b,"status":%b'
)
_EVENT = b'{"timeUnixNano":"%d","name":%b,"attributes":%b}'
_STRING_KV = b'{"key":%b,"value":{"stringValue":%b}}'


def _link(link: Any) -> dict[str, Any]:
    return {
        "traceId": f"{link.context.trace_id:032x}",
        "spanId": f"{link.context.span_id:016x}",
        "attributes": key_values(link.attributes or {}),
    }


_KINDS: dict[SpanKind, int] = {kind: kind.value + 1 for kind in SpanKind}
_STATUS_CODES_OF: dict[StatusCode, int] = {code: _STATUS_CODES[code.name] for code in StatusCode}
_UNSET_STATUS = b'{"code":0}'


def _status_json(status: Status) -> bytes:
    if status.status_code is StatusCode.UNSET and not status.description:
        return _UNSET_STATUS
    out: dict[str, Any] = {"code": _STATUS_CODES_OF.get(status.status_code, 0)}
    if status.description:
        out["message"] = status.description
    return orjson.dumps(out)


@functools.lru_cache(maxsize=4096)
def _json_key(key: str) -> bytes:
    return orjson.dumps(key)


_TEMPLATES: dict[tuple[str, ...], bytes] = {}
_MAX_TEMPLATES = 1024
_STR = frozenset({str})


def _template(keys: tuple[str, ...]) -> bytes:
    """The encoding of string attributes under ``keys``, values left as ``%b``."""
    template = _TEMPLATES.get(keys)
    if template is None:
        text = b",".join(_STRING_KV % (_json_key(k).replace(b"%", b"%%"), b"%b") for k in keys)
        template = b"[%b]" % text
        if len(_TEMPLATES) < _MAX_TEMPLATES:
            _TEMPLATES[keys] = template
    return template


def key_values_json(attributes: Mapping[str, Any]) -> bytes:
    """``orjson.dumps(key_values(attributes))``, without the dict per attribute.

    Attribute maps whose values are all strings (most spans) share one template per
    set of keys; each value is then one ``orjson.dumps``.
    """
    values = tuple(attributes.values())
    if set(map(type, values)) <= _STR:
        keys = tuple(attributes)
        if set(map(type, keys)) <= _STR:
            return _template(keys) % tuple(map(orjson.dumps, values))
    parts = []
    dumps = orjson.dumps
    for key, value in attributes.items():
        if type(value) is str and type(key) is str:
            parts.append(_STRING_KV % (_json_key(key), dumps(value)))
        else:
            parts.append(dumps({"key": str(key), "value": any_value(value)}))
    return b"[%b]" % b",".join(parts)


def resource_json(span: ReadableSpan) -> bytes:
    """Encode a span's resource as an OTLP JSON ``Resource``."""
    return orjson.dumps({"attributes": key_values(span.resource.attributes)})


def scope_json(span: ReadableSpan) -> bytes:
    """Encode a span's instrumentation scope as an OTLP JSON ``InstrumentationScope``."""
    scope = span.instrumentation_scope
    out: dict[str, Any] = {"name": scope.name if scope else ""}
    if scope is not None and scope.version:
        out["version"] = scope.version
    return orjson.dumps(out)


def request_head(resource: bytes, scope: bytes) -> bytes:
    """The start of an ``ExportTraceServiceRequest``: its spans follow, ``,`` between them."""
    return b'{"resourceSpans":[{"resource":%b,"scopeSpans":[{"scope":%b,"spans":[' % (
        resource,
        scope,
    )


REQUEST_TAIL = b"]}]}]}"
"""What closes a request begun with :func:`request_head`."""


def request_json(resource: bytes, scope: bytes, spans: list[bytes]) -> bytes:
    """Join encoded spans of one resource and scope into an ``ExportTraceServiceRequest``."""
    return request_head(resource, scope) + b",".join(spans) + REQUEST_TAIL


def iter_request_spans(
    request: Mapping[str, Any],
) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield ``(resource, span)`` pairs of a decoded ``ExportTraceServiceRequest``."""
    for resource_spans in request.get("resourceSpans") or []:
        resource = resource_spans.get("resource") or {}
        for scope_spans in resource_spans.get("scopeSpans") or []:
            for span in scope_spans.get("spans") or []:
                yield resource, span
