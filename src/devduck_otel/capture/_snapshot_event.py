"""A snapshot as OpenTelemetry data: one ``snapshot.created`` span event carrying its state.

Collectors get the id, digest and size (the exporters strip the payload); the session
exporter gets the record, each message as its own JSON document, and a dill blob of
state that is not JSON.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
from opentelemetry.util.types import AttributeValue

from devduck_otel import _attributes as A
from devduck_otel.capture._snapshot import CapturedSnapshot


class MessageTexts:
    """Each message's JSON as text and its sha256, computed once per distinct message."""

    def __init__(self) -> None:
        self._known: dict[bytes, tuple[str, bytes]] = {}

    def texts(self, messages: list[bytes]) -> tuple[list[str], list[bytes]]:
        """Return the messages as text, and their digests."""
        known = self._known
        texts: list[str] = []
        digests: list[bytes] = []
        for message in messages:
            entry = known.get(message)
            if entry is None:
                entry = known[message] = (message.decode(), hashlib.sha256(message).digest())
            texts.append(entry[0])
            digests.append(entry[1])
        return texts, digests


def snapshot_attributes(
    captured: CapturedSnapshot, texts: MessageTexts, description: str
) -> tuple[dict[str, AttributeValue], dict[str, Any]]:
    """Return the ``snapshot.created`` event's attributes and its ``events.jsonl`` data."""
    record = captured.record
    core = orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    message_texts, digests = texts.texts(captured.messages)
    digest = hashlib.sha256(core + b"".join(digests)).hexdigest()
    size = len(core) + sum(len(m) for m in captured.messages)
    snapshot_id = int(record["snapshot_id"])
    data = {
        "snapshot_id": snapshot_id,
        "description": description,
        "messages_captured": len(captured.messages),
        "has_system_prompt": bool(record.get("system_prompt")),
        "sha256": digest,
        "size": size,
    }
    attributes: dict[str, AttributeValue] = {
        A.DEVDUCK_LAYER: "agent",
        A.DEVDUCK_EVENT_TYPE: "snapshot.created",
        A.DEVDUCK_CONTENT: orjson.dumps(data).decode(),
        A.DEVDUCK_SNAPSHOT_ID: snapshot_id,
        A.DEVDUCK_SNAPSHOT_SHA256: digest,
        A.DEVDUCK_SNAPSHOT_SIZE: size,
        A.DEVDUCK_SNAPSHOT_DESCRIPTION: description,
        A.DEVDUCK_SNAPSHOT_RECORD: core.decode(),
        A.DEVDUCK_SNAPSHOT_MESSAGES: tuple(message_texts),
    }
    if captured.state_blob is not None:
        attributes[A.DEVDUCK_SNAPSHOT_BLOB] = base64.b64encode(captured.state_blob).decode()
    return attributes, data
