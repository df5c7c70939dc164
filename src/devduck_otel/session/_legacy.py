"""Reading ZIPs written by the original devduck recorder (1.15.x) as our own format.

Those ZIPs have no ``format_version``, naive local times, float snapshot timestamps,
inline ``agent_messages``, a running total in ``events_since_last``, the snapshot
description only in the ``snapshot.created`` event, and a ``session.pkl`` of devduck
class instances that is never unpickled (everything needed is in the JSON).

Example:
    >>> from devduck_otel.session._legacy import is_legacy
    >>> is_legacy({"session_id": "session-20250101-120000"})
    True
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Final

LEGACY_FORMAT: Final = "devduck"
"""``metadata["format"]`` given to sessions read from a devduck 1.15.x ZIP."""

LEGACY_FORMAT_VERSION: Final = 0
"""``metadata["format_version"]`` given to sessions read from a devduck 1.15.x ZIP."""

_TIME_KEYS: Final = ("start_time", "end_time", "export_time")


def is_legacy(metadata: dict[str, Any]) -> bool:
    """Return whether ``metadata`` comes from the original devduck recorder.

    Args:
        metadata: The parsed ``metadata.json``.

    Returns:
        ``True`` when it has neither ``format`` nor ``format_version``.
    """
    return "format_version" not in metadata and "format" not in metadata


def aware_iso(value: Any) -> Any:
    """Return an ISO time string with an offset; naive times are taken as local time.

    Args:
        value: An ISO 8601 string (anything else is returned unchanged).

    Returns:
        The same instant, with the local offset added when it had none.
    """
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone().isoformat() if parsed.tzinfo is None else value
    except (ValueError, OverflowError, OSError):
        return value  # not a time, or one at the edge of the calendar: keep it as written


def epoch_iso(timestamp: Any) -> str | None:
    """Return float epoch seconds as a local ISO string with offset, or ``None``."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        return None
    if not math.isfinite(timestamp):
        return None
    try:
        return datetime.fromtimestamp(timestamp, timezone.utc).astimezone().isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def normalize_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Return legacy metadata with aware times and our ``format`` fields.

    Args:
        metadata: The legacy ``metadata.json``.

    Returns:
        A new dict: the same fields, times with offsets, ``format`` ``"devduck"``,
        ``format_version`` 0, and ``recording`` true when it lacks the stop fields.
    """
    out = dict(metadata)
    for key in _TIME_KEYS:
        if key in out:
            out[key] = aware_iso(out[key])
    out["format"] = LEGACY_FORMAT
    out["format_version"] = LEGACY_FORMAT_VERSION
    out.setdefault("recording", "end_time" not in metadata)
    return out


def snapshot_descriptions(events: list[dict[str, Any]]) -> dict[int, str]:
    """Map snapshot ids to the descriptions held in ``snapshot.created`` events."""
    out: dict[int, str] = {}
    for event in events:
        if event.get("event_type") != "snapshot.created":
            continue
        data = event.get("data")
        if isinstance(data, dict) and isinstance(data.get("snapshot_id"), int):
            description = data.get("description")
            out.setdefault(data["snapshot_id"], description if isinstance(description, str) else "")
    return out


def normalize_snapshots(
    records: list[dict[str, Any]], events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return legacy snapshot records shaped like ours.

    Adds ``description`` (from the events), ``time`` (aware ISO), ``notes``,
    ``agent_state`` and ``state_blob``; turns the running total ``events_since_last``
    into a per-snapshot count, keeping the total as ``events_total``.

    Args:
        records: The legacy ``snapshots.json`` records, in order.
        events: The session's events.

    Returns:
        New records (the inputs are not changed).
    """
    descriptions = snapshot_descriptions(events)
    out: list[dict[str, Any]] = []
    previous_total = 0
    for record in records:
        new = dict(record)
        snapshot_id = new.get("snapshot_id")
        if "description" not in new and isinstance(snapshot_id, int):
            new["description"] = descriptions.get(snapshot_id, "")
        new.setdefault("time", epoch_iso(new.get("timestamp")))
        new.setdefault("notes", [])
        new.setdefault("agent_state", None)
        new.setdefault("state_blob", None)
        total = new.get("events_since_last")
        if isinstance(total, int) and not isinstance(total, bool):
            new["events_total"] = total
            new["events_since_last"] = max(total - previous_total, 0)
            previous_total = total
        out.append(new)
    return out


def normalize_events(events: list[dict[str, Any]]) -> None:
    """Give legacy events the id keys ours carry (``span_id``, ``parent_span_id``), in place."""
    for event in events:
        event.setdefault("span_id", None)
        event.setdefault("parent_span_id", None)
