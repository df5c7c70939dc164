"""A span as the exporter keeps it: frozen when it ends, or read live while it runs.

OpenTelemetry hands the same ``Span`` object to every processor, and some processors
rewrite it after it ended (OpenInference drops ``gen_ai.*`` events and attributes in
place). :meth:`SpanRecord.freeze` copies what can change, so the session keeps the span
as it was when it ended, whatever runs after us.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Status

from devduck_otel_exporter_zip import schema as F


@dataclass(slots=True, eq=False)
class SpanRecord:
    """One span's data; ``ended`` is false for a live span read part-way.

    Attributes:
        span: The SDK span (ids, kind, resource, scope, links, start time).
        name: The span's name when it was read.
        attributes: Its attributes as they were when it was read (never changed after).
        events: Its events as they were when it was read (never changed after).
        dropped_events: Events the SDK dropped before ``events[0]`` (limits).
        status: Its status when it was read.
        end_time: Its end time, or ``None`` while it runs.
    """

    span: ReadableSpan
    name: str
    attributes: Mapping[str, Any]
    events: Sequence[Event]
    dropped_events: int
    status: Status
    end_time: int | None
    _explicit: set[str] | None = field(default=None, repr=False)
    ids: tuple[str | None, str | None, str | None] | None = field(default=None, repr=False)
    """The ids its events are filed under, once worked out (``_derive.span_ids``)."""

    @classmethod
    def freeze(cls, span: ReadableSpan) -> SpanRecord:
        """Keep what a later processor could change, as it is now.

        An ended SDK span is kept by reference, no copy: its attributes are sealed
        (the SDK refuses writes once it ends) and its event list is append-only and
        closed, and a processor that rewrites the span (OpenInference) assigns new
        objects to the ``ReadableSpan`` it was handed, which the record does not read
        again. A live span, or a span of another shape, is copied (shallow).
        """
        attributes = getattr(span, "_attributes", None)
        events = getattr(span, "_events", None)
        ended = span.end_time is not None
        if ended and type(attributes) is BoundedAttributes and attributes._immutable:
            kept: Mapping[str, Any] = attributes._dict
        else:
            kept = dict(span.attributes or {})
        if ended and type(events) is BoundedList:
            frozen: Sequence[Event] = events._dq  # type: ignore[attr-defined]
            dropped = events.dropped
        else:
            frozen, dropped = tuple(span.events), span.dropped_events
        return cls(span, span.name, kept, frozen, dropped, span.status, span.end_time)

    @property
    def ended(self) -> bool:
        """Whether the span had ended when it was read."""
        return self.end_time is not None

    @property
    def operation(self) -> str | None:
        """The GenAI operation name (or an OpenInference span kind mapped to one)."""
        op = self.attributes.get(F.GEN_AI_OPERATION_NAME)
        if isinstance(op, str):
            return op
        kind = self.attributes.get(F.OI_SPAN_KIND)
        return {"TOOL": F.OP_EXECUTE_TOOL, "LLM": "chat", "AGENT": F.OP_INVOKE_AGENT}.get(str(kind))

    @property
    def is_carrier(self) -> bool:
        """Whether this is an event-carrier span whose events belong to its parent."""
        return bool(self.attributes.get(F.DEVDUCK_DETACHED))

    def explicit_types(self) -> set[str]:
        """Event types recorded explicitly on the span (those are never derived again)."""
        if self._explicit is None:
            found = {
                str(t) for e in self.events if (t := (e.attributes or {}).get(F.DEVDUCK_EVENT_TYPE))
            }
            carried = self.attributes.get(F.DEVDUCK_CARRIED_TYPES)
            self._explicit = found.union(map(str, as_list(carried))) if carried else found
        return self._explicit


def hex_id(value: int | None, width: int) -> str | None:
    """Return an OTel id as lowercase hex, or ``None`` for no id."""
    return f"{value:0{width}x}" if value else None


def attribute_text(attributes: Mapping[str, Any], *names: str) -> str | None:
    """Return the first of ``names`` that holds a string."""
    for name in names:
        value = attributes.get(name)
        if isinstance(value, str):
            return value
    return None


def as_list(value: Any) -> list[Any]:
    """Return a sequence attribute as a list (a string is not a sequence here)."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []
