"""The HTML timeline: one self-contained file, data embedded as escaped JSON.

The page (``viewer.html`` + ``viewer.css`` + the scripts in ``_SCRIPTS``, package
data) draws the timeline on a canvas and lists events in a virtualised list, so it
stays fast and small in the DOM with 100,000 events. All data reaches the page as
JSON inside a ``<script type="application/json">`` element, with ``<``, ``>`` and
``&`` escaped, and the scripts only ever write it with ``textContent``.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from devduck_otel.cli._aggregate import MAX_VIEWER_EVENTS, aggregate, shown_title
from devduck_otel.cli._format import LAYERS, snapshot_ns, summarize
from devduck_otel.cli._output import progress
from devduck_otel.cli._viewer_marks import errors_payload, page_value

_SCRIPTS = ("viewer_chat.js", "viewer_flags.js", "viewer.js")
"""The page's scripts, inlined in this order into one ``<script>``."""
_PLACEHOLDER = re.compile(r"__DEVDUCK_(CSS|JS|TITLE|DATA)__")
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _asset(name: str) -> str:
    return resources.files("devduck_otel.cli").joinpath(name).read_text(encoding="utf-8")


def _finite(value: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) by their names, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def script_json(value: Any) -> str:
    """Serialize ``value`` as JSON that is safe inside an HTML ``<script>`` element.

    Args:
        value: JSON-like data (non-JSON values become their ``str``).

    Returns:
        JSON text with no ``<``, ``>``, ``&`` or line separators left raw.
    """
    try:
        text = json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False
        )
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), default=str)
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group(0)], text)


def _origin(
    events: Sequence[dict[str, Any]],
    spans: Sequence[dict[str, Any]],
    snapshots: Sequence[dict[str, Any]],
) -> int:
    stamps = [e["timestamp_ns"] for e in events[:1] if isinstance(e.get("timestamp_ns"), int)]
    stamps += [s["start_ns"] for s in spans[:1]]
    stamps += [t for t in (snapshot_ns(s) for s in snapshots) if t is not None]
    return min(stamps) if stamps else 0


def _us(stamp: Any, t0: int) -> float | None:
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
        return None
    return round((stamp - t0) / 1000.0, 3)


def _events_payload(
    events: Sequence[dict[str, Any]], t0: int, types: list[str]
) -> dict[str, list[Any]]:
    type_index = {t: i for i, t in enumerate(types)}
    layer_index = {name: i for i, name in enumerate(LAYERS)}
    cols: dict[str, list[Any]] = {"t": [], "l": [], "y": [], "s": [], "d": []}
    with progress(len(events), "Building the timeline") as advance:
        for event in events:
            cols["t"].append(_us(event.get("timestamp_ns"), t0) or 0.0)
            cols["l"].append(layer_index.get(str(event.get("layer")), 2))
            cols["y"].append(type_index[str(event.get("event_type"))])
            cols["s"].append(summarize(event))
            shown = dict(event)
            shown["timestamp_ns"] = str(event.get("timestamp_ns"))
            cols["d"].append(shown)
            advance(1)
    return cols


def _spans_payload(spans: Sequence[dict[str, Any]], t0: int) -> list[dict[str, Any]]:
    layer_index = {name: i for i, name in enumerate(LAYERS)}
    out = []
    for span in spans:
        shown = dict(span)
        shown["start_ns"], shown["end_ns"] = str(span["start_ns"]), str(span["end_ns"])
        shown["duration_ms"] = round((span["end_ns"] - span["start_ns"]) / 1e6, 3)
        out.append(
            {
                "t": _us(span["start_ns"], t0),
                "e": _us(span["end_ns"], t0),
                "l": layer_index[span["layer"]],
                "r": span["row"],
                "n": span["name"],
                "d": shown,
            }
        )
    return out


def _snapshots_payload(snapshots: Sequence[dict[str, Any]], t0: int) -> tuple[list[Any], list[Any]]:
    messages: list[Any] = []
    seen: dict[str, int] = {}
    by_id: dict[int, int] = {}
    kept: list[Any] = []
    out = []
    for snap in snapshots:
        refs = []
        for raw in snap.get("agent_messages") or []:
            index = by_id.get(id(raw))  # the loader shares one object per stored row
            if index is None:
                message = page_value(raw)
                key = script_json(message)
                index = seen.setdefault(key, len(messages))
                if index == len(messages):
                    messages.append(message)
                by_id[id(raw)] = index
                kept.append(raw)  # keeps the id taken above from being reused
            refs.append(index)
        shown = {k: v for k, v in snap.items() if k != "agent_messages"}
        out.append(
            {"t": _us(snapshot_ns(snap), t0), "id": snap.get("snapshot_id"), "m": refs, "d": shown}
        )
    return out, messages


def build_payload(
    events: Sequence[dict[str, Any]],
    snapshots: Sequence[dict[str, Any]],
    spans: Sequence[dict[str, Any]],
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """Return the data the page shows; times are microseconds from the first item.

    Args:
        events: Event dicts in time order.
        snapshots: Snapshot dicts with full ``agent_messages``.
        spans: Span dicts with rows (see ``_spans.assign_rows``).
        metadata: The session metadata.

    Returns:
        A JSON-ready dict: ``meta``, ``t0`` (epoch ns, as a string), ``layers``,
        ``types``, ``events`` (columns, the first MAX_VIEWER_EVENTS), ``aggregate``
        (counts of all events when there are more, else None), ``spans``, ``errors``
        (failures, see ``_viewer_marks.errors_payload``), ``snapshots`` and the
        de-duplicated ``messages`` the snapshots point into (bytes as tagged base64).
    """
    t0 = _origin(events, spans, snapshots)
    types = sorted({str(e.get("event_type")) for e in events})
    snaps, messages = _snapshots_payload(snapshots, t0)
    first = events[:MAX_VIEWER_EVENTS]
    shown_events = _events_payload(first, t0, types)
    shown_spans = _spans_payload(spans, t0)
    big = len(events) > MAX_VIEWER_EVENTS
    return {
        "meta": metadata,
        "title": shown_title(str(metadata.get("session_id") or "session"), len(events)),
        "t0": str(t0),
        "layers": list(LAYERS),
        "types": types,
        "events": shown_events,
        "aggregate": aggregate(events, t0, types) if big else None,
        "spans": shown_spans,
        "errors": errors_payload(first, spans, shown_events["t"], [s["t"] for s in shown_spans]),
        "snapshots": snaps,
        "messages": messages,
        "steps": _steps_payload(events),
    }


def _steps_payload(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replay's step numbers, by span, for the timeline (``#3 tool weather``)."""
    from devduck_otel.replay._steps import steps_of

    steps = steps_of(list(events))
    return [{"n": s.number, "k": s.kind, "name": s.name, "span": s.span_id} for s in steps]


def render_html(payload: dict[str, Any]) -> str:
    """Return the self-contained page for a payload made by :func:`build_payload`.

    Args:
        payload: The data to embed.

    Returns:
        The HTML document.
    """
    parts = {
        "CSS": _asset("viewer.css"),
        "JS": "\n".join(_asset(name) for name in _SCRIPTS),
        "TITLE": html.escape(f"devduck-otel · {payload.get('title', 'session')}"),
        "DATA": script_json(payload),
    }
    return _PLACEHOLDER.sub(lambda m: parts[m.group(1)], _asset("viewer.html"))


def write_html(payload: dict[str, Any], output: Path) -> Path:
    """Write the page for ``payload`` to ``output`` and return its path."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(payload), encoding="utf-8")
    return output
