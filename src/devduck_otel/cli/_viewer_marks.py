"""What the timeline marks beyond the raw data: failures, and message bytes it can show.

Kept apart from the ZIP reading in ``_viewer`` and ``_spans``: these functions only
look at the events, spans and messages already loaded.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from devduck_otel.cli._content import content_text
from devduck_otel.cli._format import short
from devduck_otel.session._jsonsafe import TAG

_ERROR_CODES = {2, "2", "ERROR", "STATUS_CODE_ERROR"}


def event_error(event: Mapping[str, Any]) -> str | None:
    """Return why an event records a failure, or ``None`` if it does not.

    A failure is an ``error`` field (tool results, model calls, HTTP requests), a
    ``status`` of ``"error"``, an ``error`` message (an agent invocation that
    raised) or an ``exception`` event.

    Args:
        event: An event dict.

    Returns:
        A short text of the failure, or ``None``.
    """
    data = event.get("data")
    data = data if isinstance(data, Mapping) else {}
    kind = str(event.get("event_type") or "")
    if data.get("error"):
        return short(data["error"], 200)
    if data.get("status") == "error":
        return short(data.get("result_preview") or data.get("result") or "error", 200)
    if kind == "message" and data.get("role") == "error":
        return short(data.get("content_preview") or data.get("content") or "error", 200)
    if kind == "exception" or kind.endswith(".error"):
        return short(data.get("message") or data.get("exception.message") or kind, 200)
    return None


def span_error(span: Mapping[str, Any]) -> str | None:
    """Return the status message of a span whose status is ERROR, else ``None``."""
    status = span.get("status")
    if not isinstance(status, Mapping) or status.get("code") not in _ERROR_CODES:
        return None
    attrs = span.get("attributes")
    kind = attrs.get("error.type") if isinstance(attrs, Mapping) else None
    return short(status.get("message") or kind or "error", 200)


def errors_payload(
    events: Sequence[Mapping[str, Any]],
    spans: Sequence[Mapping[str, Any]],
    times: Sequence[float],
    span_times: Sequence[float | None],
) -> list[dict[str, Any]]:
    """Return the session's failures in time order, for the page's error marks.

    An errored event and the errored span it belongs to are one failure. A message
    reporting a failed tool result (a Strands ``toolResult`` with status ``"error"``)
    belongs to the failure of that tool's ``tool.result`` (same call id), listed in
    its ``also``; without such a result it is a failure of its own.

    Args:
        events: Event dicts, as in the payload's event columns.
        spans: Span dicts, in the payload's span order.
        times: Each event's offset (µs), as in the payload.
        span_times: Each span's start offset (µs), as in the payload.

    Returns:
        Dicts with ``t`` (offset, µs), ``ev`` (event index or ``None``), ``sp`` (span
        index or ``None``), ``m`` (what failed) and, when other events report the same
        failure, ``also`` (their indexes).
    """
    failed_spans = {
        str(s.get("span_id")): k
        for k, s in enumerate(spans)
        if span_error(s) is not None and s.get("span_id")
    }
    out: list[dict[str, Any]] = []
    by_call: dict[str, dict[str, Any]] = {}
    claimed: set[int] = set()
    for i, event in enumerate(events):
        why = event_error(event)
        if why is None:
            continue
        span = failed_spans.get(str(event.get("span_id")))
        if span is not None and span in claimed:
            span = None  # a second failed event in one span: its own entry
        if span is not None:
            claimed.add(span)
        out.append({"t": times[i], "ev": i, "sp": span, "m": why})
        call_id = _call_id(event)
        if call_id is not None:
            by_call.setdefault(call_id, out[-1])
    for i, event in enumerate(events):
        for call_id, why in failed_tool_results(event):
            entry = None if call_id is None else by_call.get(call_id)
            if entry is None:
                entry = {"t": times[i], "ev": i, "sp": None, "m": why}
                out.append(entry)
                if call_id is not None:
                    by_call[call_id] = entry
            elif entry["ev"] != i and i not in entry.get("also", ()):
                entry.setdefault("also", []).append(i)
    for k in sorted(set(failed_spans.values()) - claimed):
        out.append({"t": span_times[k] or 0.0, "ev": None, "sp": k, "m": span_error(spans[k])})
    out.sort(key=lambda e: (e["t"], e["ev"] if e["ev"] is not None else -1))
    return out


def _call_id(event: Mapping[str, Any]) -> str | None:
    data = event.get("data")
    if event.get("event_type") != "tool.result" or not isinstance(data, Mapping):
        return None
    call_id = data.get("call_id")
    return None if call_id in (None, "") else str(call_id)


def failed_tool_results(event: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """Return ``(call id, what failed)`` for each failed tool result a message reports.

    Reads Strands ``{"toolResult": {"status": "error"}}`` blocks and Anthropic-style
    ``{"type": "tool_result", "is_error": true}`` blocks of a ``message`` event.

    Args:
        event: An event dict.

    Returns:
        One pair per failed result, in content order (none for other events); the
        call id is ``None`` when the block has none.
    """
    data = event.get("data")
    if event.get("event_type") != "message" or not isinstance(data, Mapping):
        return []
    content = data.get("content")
    found: list[tuple[str | None, str]] = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, Mapping):
            continue
        result = block.get("toolResult")
        if isinstance(result, Mapping) and result.get("status") == "error":
            call_id, inner = result.get("toolUseId"), result.get("content")
        elif block.get("type") == "tool_result" and block.get("is_error") is True:
            call_id, inner = block.get("tool_use_id"), block.get("content")
        else:
            continue
        call = None if call_id in (None, "") else str(call_id)
        found.append((call, short(content_text(inner) or "tool error", 200)))
    return found


def page_value(value: Any) -> Any:
    """Return ``value`` with bytes as ``{TAG: "bytes", "base64", "size"}``, recursively.

    Images in messages (Strands ``{"image": {"source": {"bytes": b"..."}}}``) reach
    the page as base64 the chat view can check and show.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return {TAG: "bytes", "base64": base64.b64encode(raw).decode("ascii"), "size": len(raw)}
    if isinstance(value, Mapping):
        return {str(k): page_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [page_value(v) for v in value]
    return value
