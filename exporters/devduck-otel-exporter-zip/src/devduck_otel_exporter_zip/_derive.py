"""From spans to session events: the one place where ``events.jsonl`` lines are made.

A span event that carries ``devduck.event_type`` becomes a line of that type, its data
the event's ``devduck.content``. Operation spans become lines of their own, from the
OpenTelemetry GenAI conventions (and OpenInference's, and HTTP's), whoever made them:
``execute_tool`` gives ``tool.call`` and ``tool.result``, ``chat`` gives ``model.call``,
an HTTP client span gives ``http.<method>``. A type recorded explicitly on a span (an
integration's own ``tool.call`` event, say) is never derived a second time.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import orjson
from opentelemetry.sdk.trace import Event
from opentelemetry.trace import StatusCode

from devduck_otel_exporter_zip import _genai as G
from devduck_otel_exporter_zip import schema as F
from devduck_otel_exporter_zip._genai import json_value
from devduck_otel_exporter_zip._records import SpanRecord, attribute_text, hex_id

OWN_SCOPE = "devduck_otel"


class Line(NamedTuple):
    """One ``events.jsonl`` line before it is numbered (``seq`` is given in time order)."""

    timestamp_ns: int
    layer: str
    event_type: str
    data: bytes
    trace_id: str | None
    span_id: str | None
    parent_span_id: str | None


@functools.lru_cache(maxsize=1024)
def _json_name(name: str) -> bytes:
    return orjson.dumps(name)


def encode_line(line: Line, seq: int | None = None) -> bytes:
    """Encode a line as the ZIP stores it (keys in the documented order)."""
    tail = b"}" if seq is None else b',"seq":%d}' % seq
    return b'{"timestamp_ns":%d,"layer":%b,"event_type":%b,"data":%b,%b%b' % (
        line.timestamp_ns,
        _json_name(line.layer),
        _json_name(line.event_type),
        line.data,
        _ids_json(line.trace_id, line.span_id, line.parent_span_id),
        tail,
    )


@functools.lru_cache(maxsize=256)
def _ids_json(trace_id: str | None, span_id: str | None, parent_span_id: str | None) -> bytes:
    """The id keys of a line (a span's lines share them: cached)."""
    return b'"trace_id":%b,"span_id":%b,"parent_span_id":%b' % (
        _json_id(trace_id),
        _json_id(span_id),
        _json_id(parent_span_id),
    )


def _json_id(value: str | None) -> bytes:
    return b"null" if value is None else b'"%b"' % value.encode()


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)


def span_ids(record: SpanRecord) -> tuple[str | None, str | None, str | None]:
    """Return the trace, span and parent ids an event of ``record`` is filed under."""
    if record.ids is None:
        record.ids = _span_ids(record)
    return record.ids


def _span_ids(record: SpanRecord) -> tuple[str | None, str | None, str | None]:
    ctx = record.span.get_span_context()
    parent = record.span.parent
    trace_id = hex_id(ctx.trace_id, 32) if ctx else None
    span_id = hex_id(ctx.span_id, 16) if ctx else None
    parent_id = hex_id(parent.span_id, 16) if parent is not None else None
    if record.is_carrier:  # the events belong to the carrier's parent, or to no span
        owner = record.attributes.get(F.DEVDUCK_OWNER_PARENT) or None
        return (trace_id, parent_id, owner) if parent_id else (None, None, None)
    return trace_id, span_id, parent_id


def event_line(record: SpanRecord, event: Event) -> Line | None:
    """The line of one span event that carries ``devduck.event_type`` (else ``None``)."""
    attrs = event.attributes or {}
    event_type = attrs.get(F.DEVDUCK_EVENT_TYPE)
    if not isinstance(event_type, str):
        return None
    layer = attrs.get(F.DEVDUCK_LAYER)
    content = attrs.get(F.DEVDUCK_CONTENT)
    if isinstance(content, str) and content:
        data = content.encode("utf-8", "surrogatepass")
        try:
            orjson.loads(data)  # a producer's truncated or broken content stays readable
        except orjson.JSONDecodeError:
            data = _dumps({"unreadable_content": content})
    else:
        data = b"{}"
    return Line(event.timestamp, str(layer or "agent"), event_type, data, *span_ids(record))


def start_lines(record: SpanRecord) -> list[Line]:
    """Lines known when the span starts: a tool call whose arguments are set at start."""
    if record.operation != F.OP_EXECUTE_TOOL or "tool.call" in record.explicit_types():
        return []
    if F.GEN_AI_TOOL_CALL_ARGUMENTS not in record.attributes:
        return []
    return [_tool_call(record)]


def end_lines(record: SpanRecord, *, started: bool) -> list[Line]:
    """Lines known when the span has ended (``started``: start lines were already made)."""
    explicit = record.explicit_types()
    op = record.operation
    lines: list[Line] = []
    if op == F.OP_EXECUTE_TOOL:
        if not started and "tool.call" not in explicit:
            lines.append(_tool_call(record))
        if "tool.result" not in explicit:
            lines.append(_tool_result(record))
    elif op in F.MODEL_OPERATIONS and "model.call" not in explicit:
        lines.append(_model_call(record))
    elif op == F.OP_INVOKE_AGENT and "message" not in explicit:
        lines.extend(_agent_messages(record))
    elif (http := _http(record)) is not None:
        lines.append(http)
    return lines


def tool_lines(record: SpanRecord, *, started: bool) -> list[Line] | None:
    """The lines of an ended ``execute_tool`` span without events, or ``None``.

    This is most tool calls, and the same lines as ``start_lines`` and ``end_lines``
    give: a span without events records no type explicitly, so the checks for
    explicit types and the operation's other kinds are skipped.
    """
    attrs = record.attributes
    if (
        record.events
        or record.end_time is None
        or attrs.get(F.GEN_AI_OPERATION_NAME) != F.OP_EXECUTE_TOOL
        or F.DEVDUCK_CARRIED_TYPES in attrs
        or attrs.get(F.DEVDUCK_DETACHED)
    ):
        return None
    if started:
        return [_tool_result(record)]
    return [_tool_call(record), _tool_result(record)]


def _layer(record: SpanRecord, default: str) -> str:
    layer = record.attributes.get(F.DEVDUCK_LAYER)
    return layer if isinstance(layer, str) else default


def _tool_name(record: SpanRecord) -> str:
    name = attribute_text(record.attributes, F.GEN_AI_TOOL_NAME, F.OI_TOOL_NAME)
    return name or record.name.removeprefix("execute_tool ").strip()


def _tool_call(record: SpanRecord) -> Line:
    attrs = record.attributes
    raw = G.tool_arguments(record)
    data = {
        "name": _tool_name(record),
        "args": json_value(raw) if raw is not None else {},
        "call_id": attrs.get(F.GEN_AI_TOOL_CALL_ID),
    }
    ts = record.span.start_time or 0
    return Line(ts, _layer(record, "tool"), "tool.call", _dumps(data), *span_ids(record))


def _duration_ms(record: SpanRecord) -> float:
    return round(((record.end_time or 0) - (record.span.start_time or 0)) / 1e6, 3)


def _error(record: SpanRecord) -> str | None:
    if record.status.status_code is not StatusCode.ERROR:
        return None
    return record.status.description or str(record.attributes.get(F.ERROR_TYPE) or "error")


def preview(value: Any) -> str:
    """A short text of a value, as devduck's ``result_preview`` / ``content_preview``."""
    text = value if isinstance(value, str) else _dumps(value).decode("utf-8", "replace")
    return F.cut_preview(text)


def _tool_result(record: SpanRecord) -> Line:
    attrs = record.attributes
    result = json_value(G.tool_result(record))
    error = _error(record)
    data: dict[str, Any] = {
        "name": _tool_name(record),
        "result": result,
        "result_preview": preview(result) if error is None and result is not None else "",
        "duration_ms": _duration_ms(record),
        "call_id": attrs.get(F.GEN_AI_TOOL_CALL_ID),
    }
    if error is not None:
        data["error"] = error
    ts = record.end_time or 0
    return Line(ts, _layer(record, "tool"), "tool.result", _dumps(data), *span_ids(record))


def _model_call(record: SpanRecord) -> Line:
    attrs = record.attributes
    data: dict[str, Any] = {
        "name": attribute_text(attrs, F.GEN_AI_REQUEST_MODEL, F.OI_MODEL_NAME),
        "request": {
            "messages": G.input_messages(record),
            "system_prompt": json_value(G.attribute_or_event(record, F.GEN_AI_SYSTEM_INSTRUCTIONS)),
            "tools": json_value(G.attribute_or_event(record, F.GEN_AI_TOOL_DEFINITIONS)),
            "model": attribute_text(attrs, F.GEN_AI_REQUEST_MODEL, F.OI_MODEL_NAME),
        },
        "response": {
            "content": G.output_messages(record),
            "stop_reason": G.finish_reason(record),
            "usage": {
                "input_tokens": attrs.get(F.GEN_AI_USAGE_INPUT_TOKENS),
                "output_tokens": attrs.get(F.GEN_AI_USAGE_OUTPUT_TOKENS),
            },
        },
        "error": _error(record),
        "duration_ms": _duration_ms(record),
    }
    ts = record.end_time or 0
    return Line(ts, _layer(record, "agent"), "model.call", _dumps(data), *span_ids(record))


def _agent_messages(record: SpanRecord) -> list[Line]:
    """``message`` lines of another producer's ``invoke_agent`` span (its input, its output)."""
    ids = span_ids(record)
    lines: list[Line] = []
    for messages, ts in (
        (G.input_messages(record), record.span.start_time or 0),
        (G.output_messages(record), record.end_time or 0),
    ):
        for message in messages if isinstance(messages, list) else []:
            if not isinstance(message, dict):
                continue
            content = message.get("content", message.get("parts"))
            data = {
                "role": message.get("role"),
                "content_preview": preview(content),
                "content": content,
            }
            lines.append(Line(ts, _layer(record, "agent"), "message", _dumps(data), *ids))
    return lines


def _http(record: SpanRecord) -> Line | None:
    attrs = record.attributes
    method = F.http_client_method(record.span.kind, attrs)
    if method is None:
        return None
    data: dict[str, Any] = {
        "url": attrs.get("url.full") or attrs.get("http.url"),
        "method": method,
        "status_code": attrs.get("http.response.status_code") or attrs.get("http.status_code"),
        "duration_ms": _duration_ms(record),
    }
    if record.status.status_code is StatusCode.ERROR:
        data["error"] = record.status.description or attrs.get(F.ERROR_TYPE)
    for key, attribute in (
        ("request", F.DEVDUCK_HTTP_REQUEST),
        ("response", F.DEVDUCK_HTTP_RESPONSE),
    ):
        value = json_value(attrs.get(attribute))  # recorded with DEVDUCK_CAPTURE_HTTP_BODIES
        if isinstance(value, dict):
            data[key] = value
    ts = record.end_time or 0
    event_type = f"http.{str(method).lower()}"
    return Line(ts, _layer(record, "sys"), event_type, _dumps(data), *span_ids(record))
