"""One-line summaries of events and times, shared by ``show``, ``diff`` and ``view``."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from devduck_otel.cli._content import message_text

LAYERS = ("agent", "tool", "sys")
_MAX = 160


def short(value: Any, limit: int = _MAX) -> str:
    """Return ``value`` as one line of at most ``limit`` characters.

    Args:
        value: Any JSON-like value; strings are used as they are.
        limit: The maximum length of the result.

    Returns:
        The text, with newlines folded and an ellipsis when cut.
    """
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
        except ValueError:
            text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize(event: dict[str, Any]) -> str:
    """Return a one-line description of an event's data.

    Args:
        event: An event dict (``event_type`` and ``data``).

    Returns:
        A short human summary, e.g. ``add(a=1, b=2)`` for a tool call.
    """
    data = event.get("data") or {}
    kind = str(event.get("event_type") or "")
    if kind == "tool.call":
        args = data.get("args")
        if isinstance(args, dict):
            inner = ", ".join(f"{k}={short(v, 40)}" for k, v in args.items())
        else:
            inner = short(args, 80) if args is not None else ""
        return short(f"{data.get('name', '?')}({inner})")
    if kind == "tool.result":
        preview = data.get("result_preview", data.get("result", ""))
        text = f"{data.get('name', '?')} -> {short(preview, 100)}"
        if data.get("error"):
            text += f" ERROR {short(data['error'], 60)}"
        if isinstance(data.get("duration_ms"), (int, float)):
            text += f" ({data['duration_ms']:.1f} ms)"
        return short(text)
    if kind == "message":
        return short(f"{data.get('role', '?')}: {message_text(data)}")
    if kind == "snapshot.created":
        return short(f"snapshot #{data.get('snapshot_id', '?')} {data.get('description', '')}")
    for key in ("url", "path", "command", "args", "name"):
        if key in data:
            extra = f" ({data['mode']})" if key == "path" and data.get("mode") else ""
            return short(f"{short(data[key], 120)}{extra}")
    return short(data) if data else ""


def wall_time(timestamp_ns: Any) -> str:
    """Return a nanosecond epoch timestamp as local ``HH:MM:SS.mmm`` ("" if unknown)."""
    if not isinstance(timestamp_ns, (int, float)):
        return ""
    moment = datetime.fromtimestamp(timestamp_ns / 1e9, tz=timezone.utc).astimezone()
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def offset(timestamp_ns: Any, start_ns: int) -> str:
    """Return the time since the session start, e.g. ``+1.234s``."""
    if not isinstance(timestamp_ns, (int, float)):
        return ""
    return f"+{(timestamp_ns - start_ns) / 1e9:.3f}s"


def snapshot_ns(snapshot: dict[str, Any]) -> int | None:
    """Return a snapshot's time in epoch nanoseconds, if it has one."""
    stamp = snapshot.get("timestamp")
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        return int(stamp * 1e9)
    return None
