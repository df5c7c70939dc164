"""Where a devduck event goes: onto its span, or onto a short carrier span.

Events are span events: the one record, read by the session exporter and by every
collector. Two things keep that record whole and memory flat:

* devduck's own spans hold up to :data:`CHUNK` events; past that, and for spans
  made by other tracers (whose limits, 128 events by default, would drop events),
  events go onto a ``devduck.events`` carrier span, a child of the span they belong
  to, marked ``devduck.detached`` so the exporter files them under that span;
* events outside any span go onto a root carrier, filed under no span.

Carriers end when full and at every journal flush, so their events reach disk within
one flush interval and no span grows without bound.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import SpanLimits
from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from devduck_otel._attributes import DEVDUCK_CARRIED_TYPES, DEVDUCK_DETACHED, DEVDUCK_OWNER_PARENT
from devduck_otel._guard import guard

_END_GUARD = guard("ending an event carrier span")

CHUNK: Final = 1024
"""Most events one span holds before its events go onto carriers."""
CARRIER_NAME: Final = "devduck.events"
DERIVED_TYPES: Final = frozenset({"tool.call", "tool.result", "model.call", "message"})
"""Event types the exporter also derives from a span; carried ones are marked on it."""

SPAN_LIMITS: Final = SpanLimits(
    max_span_attributes=SpanLimits.UNSET,
    max_events=CHUNK,
    max_event_attributes=SpanLimits.UNSET,
    max_attribute_length=SpanLimits.UNSET,
)
"""The limits of devduck's tracer: no content is cut, no event dropped."""


def _count(span: Span) -> int:
    events = getattr(span, "_events", None)
    return len(events) if events is not None else 0


def _capacity(span: Span) -> int:
    limits = getattr(span, "_limits", None)
    most = getattr(limits, "max_events", None)
    return CHUNK if most is None or most < 0 else min(CHUNK, most)


class EventSink:
    """Adds devduck events to spans for one recording (thread-safe)."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer
        self._lock = threading.Lock()
        self._carriers: dict[int, Span] = {}

    def add(
        self,
        span: Span,
        name: str,
        attributes: Mapping[str, AttributeValue],
        timestamp: int,
    ) -> None:
        """Add one event to ``span``, or to the carrier that stands in for it."""
        if (
            span.is_recording()
            and getattr(span, "_limits", None) is SPAN_LIMITS
            and _count(span) < CHUNK
        ):
            span.add_event(name, attributes, timestamp)
            return
        full: Span | None = None
        if name in DERIVED_TYPES and span.is_recording():
            _mark_carried(span, name)
        with self._lock:
            context = span.get_span_context()
            key = context.span_id if context.is_valid else 0
            carrier = self._carriers.get(key)
            if carrier is None:
                carrier = self._carriers[key] = self._new_carrier(span if key else None)
            carrier.add_event(name, attributes, timestamp)
            if _count(carrier) >= _capacity(carrier):
                full = self._carriers.pop(key)
        if full is not None:
            _end(full)

    def _new_carrier(self, owner: Span | None) -> Span:
        attributes: dict[str, AttributeValue] = {DEVDUCK_DETACHED: True}
        if owner is None:
            return self._tracer.start_span(CARRIER_NAME, context=Context(), attributes=attributes)
        parent = getattr(owner, "parent", None)
        attributes[DEVDUCK_OWNER_PARENT] = f"{parent.span_id:016x}" if parent else ""
        context = trace.set_span_in_context(owner)
        return self._tracer.start_span(CARRIER_NAME, context=context, attributes=attributes)

    def rotate(self) -> None:
        """End every carrier, so its events reach the exporter now."""
        with self._lock:
            carriers, self._carriers = list(self._carriers.values()), {}
        for carrier in carriers:
            _end(carrier)


def _mark_carried(span: Span, event_type: str) -> None:
    """Tell the exporter not to derive ``event_type`` from ``span`` a second time."""
    current = (getattr(span, "attributes", None) or {}).get(DEVDUCK_CARRIED_TYPES) or ()
    if event_type not in current:
        span.set_attribute(DEVDUCK_CARRIED_TYPES, (*current, event_type))


def _end(carrier: Span) -> None:
    with _END_GUARD:  # an application's span processor may raise on end
        carrier.end()


def own_limits(tracer: Any) -> Any:
    """Give an SDK tracer devduck's span limits (other tracers are left as they are)."""
    if hasattr(tracer, "_span_limits"):
        tracer._span_limits = SPAN_LIMITS
    return tracer
