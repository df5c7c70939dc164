"""Redacting a finished span before a collector exporter sees it.

The clean path allocates nothing: attributes are scanned in place, and the same span
object comes back when no value changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes

from devduck_otel._spancopy import copy_span, like
from devduck_otel.redaction._rules import REDACTED

__all__ = ["redact_span_with"]

_URL_KEYS = frozenset(
    {"url.full", "http.url", "url.original", "http.target", "url.path", "server.address"}
)


class _Redacts(Protocol):
    def is_secret_key(self, name: str) -> bool: ...
    def redact_text(self, text: str) -> str: ...
    def redact_url(self, url: str) -> str: ...
    def redact_bytes(self, data: bytes) -> bytes: ...


def _text(redactor: _Redacts, key: str, value: str) -> str:
    if not value:
        return value
    if redactor.is_secret_key(key):
        return REDACTED
    if key in _URL_KEYS or key.endswith((".url", "_url")):
        value = redactor.redact_url(value)
    elif key == "url.query" or key.endswith(".query"):
        cleaned = redactor.redact_url("?" + value)
        value = cleaned[1:] if cleaned.startswith("?") else cleaned
    if value[:1] in "{[":
        # JSON in an attribute (devduck.content, gen_ai.tool.call.arguments): redact by key.
        raw = value.encode("utf-8", "surrogatepass")
        clean = redactor.redact_bytes(raw)
        return value if clean is raw else clean.decode("utf-8", "surrogatepass")
    return redactor.redact_text(value)


def _attribute(redactor: _Redacts, key: str, value: Any) -> Any:
    if isinstance(value, str):
        return _text(redactor, key, value)
    if isinstance(value, bytes):
        # Bytes that decode as text are scanned as text, and stay bytes.
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return value
        clean = _text(redactor, key, text)
        return value if clean is text else clean.encode("utf-8")
    if isinstance(value, (tuple, list)) and any(isinstance(v, str) for v in value):
        items = [_text(redactor, key, v) if isinstance(v, str) else v for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return tuple(items)
    return value


def redact_attributes(redactor: _Redacts, attributes: Attributes) -> Attributes:
    """Return ``attributes`` redacted, or the same object when nothing changed."""
    if not attributes:
        return attributes
    changed: dict[str, Any] | None = None
    for key, value in attributes.items():
        new = _attribute(redactor, key, value)
        if new is not value:
            if changed is None:
                changed = {}
            changed[key] = new
    if changed is None:
        return attributes
    merged = {key: changed.get(key, value) for key, value in attributes.items()}
    if isinstance(attributes, BoundedAttributes):
        bounded = BoundedAttributes(maxlen=attributes.maxlen, attributes=merged, immutable=True)
        bounded.dropped = attributes.dropped
        return bounded
    return merged


def _events(redactor: _Redacts, events: Sequence[Event]) -> Sequence[Event]:
    out: list[Event] = []
    changed = False
    for event in events:
        attrs = redact_attributes(redactor, event.attributes)
        if attrs is not event.attributes:
            event = Event(event.name, attrs, event.timestamp)
            changed = True
        out.append(event)
    if not changed:
        return events
    return like(events, out)


def _links(redactor: _Redacts, links: Sequence[Link]) -> Sequence[Link]:
    out: list[Link] = []
    changed = False
    for link in links:
        attrs = redact_attributes(redactor, link.attributes)
        if attrs is not link.attributes:
            link = Link(link.context, attrs)
            changed = True
        out.append(link)
    return like(links, out) if changed else links


_RESOURCES: dict[int, tuple[Resource, Resource]] = {}
"""id(resource) -> (resource, its redacted form): a provider has one resource for all spans."""


def redact_resource(redactor: _Redacts, resource: Resource) -> Resource:
    """Return ``resource`` with secret attributes redacted (``OTEL_RESOURCE_ATTRIBUTES``).

    Args:
        redactor: The rules.
        resource: A span's resource.

    Returns:
        A new Resource, or ``resource`` itself when it is clean.
    """
    known = _RESOURCES.get(id(resource))
    if known is not None and known[0] is resource:
        return known[1]
    attributes = redact_attributes(redactor, resource.attributes)
    clean = (
        resource
        if attributes is resource.attributes
        else Resource(dict(attributes or {}), resource.schema_url)
    )
    if len(_RESOURCES) >= 64:
        _RESOURCES.clear()
    _RESOURCES[id(resource)] = (resource, clean)
    return clean


def redact_span_with(redactor: _Redacts, span: ReadableSpan) -> ReadableSpan:
    """Return ``span`` with secrets redacted, or ``span`` itself when it is clean."""
    # The private fields, not the properties: those copy on every access, and the
    # bounded containers keep the dropped counts a collector reports.
    old_attributes = span._attributes
    old_events: Sequence[Event] = span._events
    old_links: Sequence[Link] = span._links
    attributes = redact_attributes(redactor, old_attributes)
    events = _events(redactor, old_events)
    links = _links(redactor, old_links)
    name = redactor.redact_text(span.name)
    resource = redact_resource(redactor, span.resource)
    status = span.status
    if status.description:
        description = redactor.redact_text(status.description)
        if description is not status.description:
            status = Status(status.status_code, description)
    if (
        attributes is old_attributes
        and events is old_events
        and links is old_links
        and name is span.name
        and status is span.status
        and resource is span.resource
    ):
        return span
    return copy_span(
        span,
        name=name,
        attributes=attributes,
        events=events,
        links=links,
        status=status,
        resource=resource,
    )
