"""The one way devduck copies a finished span with some fields replaced.

Collector-bound spans are redacted and scrubbed as copies, never in place, because the
SDK hands the same object to every processor. The copy keeps what a collector reports
about limits: the dropped counts of attributes, events and links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import AttributeValue


def like(original: Sequence[Any], items: list[Any]) -> Sequence[Any]:
    """``items`` in a container like ``original``, keeping its count of dropped items."""
    if isinstance(original, BoundedList):
        bounded = BoundedList.from_seq(None, items)
        bounded.dropped = original.dropped
        return bounded
    return tuple(items)


def copy_span(
    span: ReadableSpan,
    *,
    name: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    events: Sequence[Event] | None = None,
    links: Sequence[Link] | None = None,
    status: Status | None = None,
    resource: Resource | None = None,
) -> ReadableSpan:
    """Return a copy of ``span`` with the given fields replaced (the rest shared).

    Lists are put in containers like the span's own, so dropped counts survive.
    """
    # The private fields, not the properties: those copy on every access and lose the
    # bounded containers' dropped counts.
    if isinstance(events, list):
        events = like(span._events, events)
    if isinstance(links, list):
        links = like(span._links, links)
    return ReadableSpan(
        name=span.name if name is None else name,
        context=span.context,
        parent=span.parent,
        resource=span.resource if resource is None else resource,
        attributes=span._attributes if attributes is None else attributes,
        events=span._events if events is None else events,
        links=span._links if links is None else links,
        kind=span.kind,
        instrumentation_info=span._instrumentation_info,
        status=span.status if status is None else status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
