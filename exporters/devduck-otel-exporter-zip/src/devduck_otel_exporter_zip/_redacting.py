"""Redaction on the way to disk: values, never serialized bytes, and cheap when clean.

The exporter takes any redactor with the :class:`SessionRedactor` methods (the
``devduck_otel`` package passes its ``Redactor``). Each batch is first tested as a
whole with ``may_contain_secret``; only what may hold a secret is decoded and
redacted value by value, so JSON types stay as they were and every line stays valid.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

import orjson
from opentelemetry.sdk.trace import Event

from devduck_otel_exporter_zip import schema as F
from devduck_otel_exporter_zip._derive import Line
from devduck_otel_exporter_zip._otlpjson import span_json
from devduck_otel_exporter_zip._records import SpanRecord


class SessionRedactor(Protocol):
    """What the exporter needs of a redactor."""

    def redact_value(self, value: Any) -> Any:
        """Return ``value`` (JSON-like) with secrets replaced; the same object when clean."""
        ...

    def may_contain_secret(self, data: str | bytes) -> bool:
        """Return ``False`` only when ``data`` surely holds no secret (a fast test)."""
        ...

    def redact_attributes(self, attributes: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        """Return OTel attributes with secrets replaced, and how many values changed."""
        ...

    def is_secret_key(self, name: str) -> bool:
        """Return whether values under the key or attribute ``name`` are redacted."""
        ...


_PAYLOAD = frozenset(F.SNAPSHOT_PAYLOAD)
_MAX_KEY_SETS = 1024


def _loads(data: bytes) -> Any:
    return orjson.loads(data)


class Redacting:
    """The exporter's side of redaction: batches, lines, spans, messages."""

    __slots__ = ("_special", "redactor")

    def __init__(self, redactor: SessionRedactor | None) -> None:
        self.redactor = redactor
        self._special: dict[tuple[str, ...], bool] = {}

    def special_keys(self, record: SpanRecord) -> bool:
        """Whether the span has an attribute under a secret key, or a snapshot payload.

        Spans of one kind share their attribute keys: the answer is kept per set of
        keys (event keys are judged each time).
        """
        redactor = self.redactor
        if redactor is None:
            return False
        keys = tuple(record.attributes)
        special = self._special.get(keys)
        if special is None:
            special = any(map(redactor.is_secret_key, keys)) or not _PAYLOAD.isdisjoint(keys)
            if len(self._special) < _MAX_KEY_SETS:
                self._special[keys] = special
        if special or not record.events:
            return special
        keys = tuple(k for e in record.events for k in e.attributes or {})
        return any(map(redactor.is_secret_key, keys)) or not _PAYLOAD.isdisjoint(keys)

    def lines(self, lines: list[Line]) -> list[Line]:
        """Redact the data of event lines (one test for the whole batch when clean)."""
        redactor = self.redactor
        if redactor is None or not redactor.may_contain_secret(b"\n".join(x.data for x in lines)):
            return lines
        out = []
        for line in lines:
            if redactor.may_contain_secret(line.data):
                value = _loads(line.data)
                clean = redactor.redact_value(value)
                if clean is not value:
                    line = line._replace(data=orjson.dumps(clean, option=orjson.OPT_NON_STR_KEYS))
            out.append(line)
        return out

    def json_text(self, text: str) -> str:
        """Redact a JSON document held in a string (a snapshot record, a message)."""
        return self.json_listed(text)[0]

    def json_listed(self, text: str, root: str = "$") -> tuple[str, list[dict[str, str]]]:
        """Redact a JSON document held in a string, and list where (never what).

        Args:
            text: The document.
            root: The JSON path the document has in the record it belongs to.

        Returns:
            The redacted text (``text`` itself when clean) and the ``redactions``:
            ``{"path", "rule"}`` dicts (see ``schema.SNAPSHOT_REDACTIONS``).
        """
        redactor = self.redactor
        if redactor is None or not redactor.may_contain_secret(text):
            return text, []
        value = orjson.loads(text)
        clean = redactor.redact_value(value)
        if clean is value:
            return text, []
        lister = getattr(redactor, "list_redactions", None)
        listed = (
            lister(value, clean, root) if callable(lister) else [{"path": root, "rule": "redacted"}]
        )
        return orjson.dumps(clean, option=orjson.OPT_NON_STR_KEYS).decode(), listed

    def resource(self, data: bytes) -> bytes:
        """Redact an encoded OTLP JSON resource (``OTEL_RESOURCE_ATTRIBUTES`` may hold secrets)."""
        clean = self._json_document(data)
        return data if clean is None else clean

    def _json_document(self, data: str | bytes) -> bytes | None:
        """The redacted encoding of a JSON document, or ``None`` when nothing changed."""
        redactor = self.redactor
        if redactor is None or not redactor.may_contain_secret(data):
            return None
        value = orjson.loads(data)
        clean = redactor.redact_value(value)
        return None if clean is value else orjson.dumps(clean, option=orjson.OPT_NON_STR_KEYS)

    def attributes(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Redact an attribute map."""
        redactor = self.redactor
        if redactor is None:
            return dict(attributes)
        return redactor.redact_attributes(attributes)[0]

    def span_bytes(self, record: SpanRecord) -> bytes:
        """The span as ``spans.otlp.jsonl`` keeps it: OTLP JSON, redacted, no snapshot payload."""
        if any(any(n in (e.attributes or {}) for n in F.SNAPSHOT_PAYLOAD) for e in record.events):
            record = dataclasses.replace(record, events=tuple(_strip(e) for e in record.events))
        data = span_json(record)
        redactor = self.redactor
        if redactor is None:
            return data
        keys = [*record.attributes, *(k for e in record.events for k in e.attributes or {})]
        if not any(map(redactor.is_secret_key, keys)) and not redactor.may_contain_secret(data):
            return data
        events = tuple(
            Event(e.name, self.attributes(e.attributes or {}), e.timestamp) for e in record.events
        )
        return span_json(
            dataclasses.replace(
                record, attributes=self.attributes(record.attributes), events=events
            )
        )


def _strip(event: Event) -> Event:
    attrs = event.attributes or {}
    if not any(name in attrs for name in F.SNAPSHOT_PAYLOAD):
        return event
    kept = {k: v for k, v in attrs.items() if k not in F.SNAPSHOT_PAYLOAD}
    return Event(event.name, kept, event.timestamp)
