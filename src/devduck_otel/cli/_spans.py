"""Spans for the timeline: read from the ZIP's OTLP JSON, or derived from events.

Each span becomes a dict with its layer, start and end (epoch ns), name, ids,
attributes and a ``row``: its place in its layer's waterfall, below its parent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from devduck_otel.cli._format import LAYERS
from devduck_otel.cli._session import iter_otlp_spans

MAX_ROWS = 8
"""Waterfall rows per layer; deeper or more concurrent spans share the last row."""


def _value(any_value: Any) -> Any:
    if not isinstance(any_value, dict):
        return any_value
    for key in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if key in any_value:
            return any_value[key]
    if "intValue" in any_value:
        try:
            return int(any_value["intValue"])
        except (TypeError, ValueError):
            return any_value["intValue"]
    if "arrayValue" in any_value:
        return [_value(v) for v in (any_value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in any_value:
        return attributes((any_value["kvlistValue"] or {}).get("values"))
    return None


def attributes(key_values: Any) -> dict[str, Any]:
    """Decode an OTLP JSON ``KeyValue`` list into a dict (bad items are skipped)."""
    out: dict[str, Any] = {}
    for item in key_values or []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = _value(item.get("value"))
    return out


def _layer_of(name: str, attrs: dict[str, Any]) -> str:
    layer = attrs.get("devduck.layer")
    if layer in LAYERS:
        return str(layer)
    if name.startswith("execute_tool"):
        return "tool"
    if name.startswith(("invoke_agent", "chat", "create_agent")):
        return "agent"
    return "sys"


def _ns(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def from_otlp(path: Path) -> list[dict[str, Any]]:
    """Return the spans stored in the ZIP's ``spans.otlp.jsonl`` (none if absent).

    Args:
        path: The session ZIP.

    Returns:
        Span dicts, unsorted, without rows.
    """
    spans = []
    for raw, _resource in iter_otlp_spans(path):
        start, end = _ns(raw.get("startTimeUnixNano")), _ns(raw.get("endTimeUnixNano"))
        if start is None:
            continue
        name = str(raw.get("name") or "")
        attrs = attributes(raw.get("attributes"))
        if attrs.get("devduck.detached"):  # an event carrier: its events are on the timeline
            continue
        status = raw.get("status")
        if not isinstance(status, dict):
            status = {}
        spans.append(
            {
                "name": name,
                "layer": _layer_of(name, attrs),
                "start_ns": start,
                "end_ns": max(end or start, start),
                "trace_id": str(raw.get("traceId") or ""),
                "span_id": str(raw.get("spanId") or ""),
                "parent_span_id": str(raw.get("parentSpanId") or ""),
                "kind": raw.get("kind"),
                "status": {"code": status.get("code", 0), "message": status.get("message", "")},
                "attributes": attrs,
                "events": len(raw.get("events") or []),
            }
        )
    return spans


def from_events(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Derive spans from events' ``span_id`` / ``parent_span_id`` when no OTLP is stored.

    Args:
        events: Event dicts in time order.

    Returns:
        One span per distinct span id, covering its events.
    """
    spans: dict[str, dict[str, Any]] = {}
    for event in events:
        span_id, stamp = event.get("span_id"), event.get("timestamp_ns")
        if not span_id or not isinstance(stamp, int):
            continue
        span = spans.get(span_id)
        if span is None:
            span = spans[span_id] = _new_span(event, str(span_id), stamp)
        span["start_ns"] = min(span["start_ns"], stamp)
        span["end_ns"] = max(span["end_ns"], stamp)
        span["events"] += 1
        data = event.get("data") or {}
        if event.get("event_type") == "tool.call":
            span["name"] = f"execute_tool {data.get('name', '?')}"
        elif event.get("event_type") == "tool.result" and isinstance(
            data.get("duration_ms"), (int, float)
        ):
            span["start_ns"] = min(span["start_ns"], stamp - int(data["duration_ms"] * 1e6))
    return list(spans.values())


def _new_span(event: dict[str, Any], span_id: str, stamp: int) -> dict[str, Any]:
    layer = str(event.get("layer")) if event.get("layer") in LAYERS else "sys"
    name = "invoke_agent" if layer == "agent" else str(event.get("event_type") or "span")
    return {
        "name": name,
        "layer": layer,
        "start_ns": stamp,
        "end_ns": stamp,
        "trace_id": str(event.get("trace_id") or ""),
        "span_id": span_id,
        "parent_span_id": str(event.get("parent_span_id") or ""),
        "kind": None,
        "status": {"code": 0, "message": ""},
        "attributes": {"derived_from": "events"},
        "events": 0,
    }


def assign_rows(spans: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort spans by start and give each a waterfall ``row`` within its layer.

    A span goes on the first free row below its parent (when the parent is in the
    same layer), so nesting reads top to bottom.

    Args:
        spans: Span dicts.

    Returns:
        The spans, sorted, each with ``row`` set (0 .. MAX_ROWS - 1).
    """
    ordered = sorted(spans, key=lambda s: (s["start_ns"], -s["end_ns"]))
    by_id = {s["span_id"]: s for s in ordered if s["span_id"]}
    row_ends: dict[str, list[int]] = {layer: [] for layer in LAYERS}
    for span in ordered:
        parent = by_id.get(span["parent_span_id"])
        low = (
            parent["row"] + 1
            if parent is not None and "row" in parent and parent["layer"] == span["layer"]
            else 0
        )
        ends = row_ends.setdefault(span["layer"], [])
        row = low
        while row < len(ends) and ends[row] > span["start_ns"]:
            row += 1
        row = min(row, MAX_ROWS - 1)
        while len(ends) <= row:
            ends.append(0)
        ends[row] = max(ends[row], span["end_ns"])
        span["row"] = row
    return ordered


def session_spans(path: Path, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the session's spans with rows: OTLP if stored, else derived from events."""
    return assign_rows(from_otlp(path) or from_events(events))
