"""Reading GenAI content off any producer's spans, in each convention it may use.

The OpenTelemetry GenAI conventions have moved: content is a span attribute
(``gen_ai.tool.call.arguments``, ``gen_ai.input.messages``), an attribute of a
``gen_ai.client.inference.operation.details`` event (the latest experimental
conventions, as Strands writes them), or one event per message in the older
conventions (``gen_ai.user.message``, ``gen_ai.tool.message``, ``gen_ai.choice``).
OpenInference writes ``input.value`` / ``output.value``. These readers return the
first that is there, decoded from JSON where it is JSON.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from devduck_otel_exporter_zip import schema as F
from devduck_otel_exporter_zip._records import SpanRecord

_MISSING: Final = object()

LEGACY_ROLES: Final = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
"""Message events of the older GenAI conventions, and the role each stands for."""
LEGACY_CHOICE: Final = "gen_ai.choice"


def json_value(text: Any) -> Any:
    """A JSON-string attribute as its value; a string that is not JSON stays a string."""
    if not isinstance(text, str):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def attribute_or_event(record: SpanRecord, name: str) -> Any:
    """The value of ``name`` on the span, else on the first of its events that has it."""
    value = record.attributes.get(name, _MISSING)
    if value is not _MISSING:
        return value
    for event in record.events:
        attrs = event.attributes or {}
        if name in attrs:
            return attrs[name]
    return None


def _legacy(record: SpanRecord, event_name: str, key: str) -> Any:
    for event in record.events:
        if event.name == event_name:
            return (event.attributes or {}).get(key)
    return None


def tool_arguments(record: SpanRecord) -> Any:
    """A tool call's arguments (raw attribute value), or ``None``."""
    for raw in (
        record.attributes.get(F.GEN_AI_TOOL_CALL_ARGUMENTS),
        record.attributes.get(F.OI_INPUT_VALUE),
        _legacy(record, "gen_ai.tool.message", "content"),
    ):
        if raw is not None:
            return raw
    return None


def tool_result(record: SpanRecord) -> Any:
    """A tool call's result (raw attribute value), or ``None``."""
    for raw in (
        record.attributes.get(F.GEN_AI_TOOL_CALL_RESULT),
        record.attributes.get(F.OI_OUTPUT_VALUE),
        _legacy(record, LEGACY_CHOICE, "message"),
    ):
        if raw is not None:
            return raw
    return None


def input_messages(record: SpanRecord) -> Any:
    """The messages sent (decoded), in whichever convention the producer used."""
    value = attribute_or_event(record, F.GEN_AI_INPUT_MESSAGES)
    if value is not None:
        return json_value(value)
    legacy = [
        {"role": LEGACY_ROLES[e.name], "content": json_value((e.attributes or {}).get("content"))}
        for e in record.events
        if e.name in LEGACY_ROLES
    ]
    if legacy:
        return legacy
    oi = record.attributes.get(F.OI_INPUT_VALUE)
    return None if oi is None else [{"role": "user", "content": json_value(oi)}]


def output_messages(record: SpanRecord) -> Any:
    """The messages received (decoded), in whichever convention the producer used."""
    value = attribute_or_event(record, F.GEN_AI_OUTPUT_MESSAGES)
    if value is not None:
        return json_value(value)
    choice = _legacy(record, LEGACY_CHOICE, "message")
    if choice is not None:
        return [{"role": "assistant", "content": json_value(choice)}]
    oi = record.attributes.get(F.OI_OUTPUT_VALUE)
    return None if oi is None else [{"role": "assistant", "content": json_value(oi)}]


def finish_reason(record: SpanRecord) -> Any:
    """The first finish reason (span attribute or legacy choice event), or ``None``."""
    reasons = record.attributes.get(F.GEN_AI_RESPONSE_FINISH_REASONS)
    if isinstance(reasons, (list, tuple)) and reasons:
        return reasons[0]
    return _legacy(record, LEGACY_CHOICE, "finish_reason")
