"""The viewer's summary of a session too big to draw event by event.

The page stays fast up to :data:`MAX_VIEWER_EVENTS` events. Beyond that the payload
holds the first :data:`MAX_VIEWER_EVENTS` events in full and, for all of them, counts
per time bucket, layer and event type; the page's title says how many are shown.

Example:
    >>> summary = aggregate([{"timestamp_ns": 5, "layer": "tool", "event_type": "x"}], 0, ["x"])
    >>> summary["total"], summary["counts"]
    (1, [[0, 1, 0, 1]])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

from devduck_otel.cli._format import LAYERS

MAX_VIEWER_EVENTS: Final = 100_000
"""Most events the viewer shows one by one; beyond, it shows these and counts the rest."""

BUCKETS: Final = 200
"""Time buckets of the aggregate, across the session."""


def aggregate(events: Sequence[dict[str, Any]], t0: int, types: list[str]) -> dict[str, Any]:
    """Count events per time bucket, layer and type.

    Args:
        events: All the session's events, in time order.
        t0: The payload's origin (epoch ns).
        types: The payload's event types (indices into it are used).

    Returns:
        ``total``, ``shown``, ``bucket_us`` (bucket width, microseconds from ``t0``)
        and ``counts``: ``[bucket, layer index, type index, count]`` rows.
    """
    stamps = [s for s in (e.get("timestamp_ns") for e in events) if type(s) is int]
    last = max(stamps, default=t0)
    width = max(1, -(-(last - t0) // BUCKETS))
    type_index = {t: i for i, t in enumerate(types)}
    layer_index = {name: i for i, name in enumerate(LAYERS)}
    counts: Counter[tuple[int, int, int]] = Counter()
    for event in events:
        stamp = event.get("timestamp_ns")
        bucket = min(BUCKETS - 1, max(0, (stamp - t0) // width)) if type(stamp) is int else 0
        layer = layer_index.get(str(event.get("layer")), 2)
        counts[(bucket, layer, type_index.get(str(event.get("event_type")), 0))] += 1
    return {
        "total": len(events),
        "shown": min(len(events), MAX_VIEWER_EVENTS),
        "bucket_us": width / 1000.0,
        "counts": [[*key, n] for key, n in sorted(counts.items())],
    }


def shown_title(title: str, total: int) -> str:
    """The page title, saying so when only the first events are shown one by one."""
    if total <= MAX_VIEWER_EVENTS:
        return title
    return (
        f"{title} (first {MAX_VIEWER_EVENTS:,} of {total:,} events shown; "
        "all are counted in the aggregate)"
    )
