"""Deciding which entries of a session may restore pickles, and unpickling them.

With ``DEVDUCK_SIGNING_KEY`` set, an entry holding pickled values must be signed; if
it is not, the session still loads but those values stay tags (with a warning).
``messages.jsonl`` is checked as it streams past the bounded reader: its HMAC is
updated chunk by chunk and its lines are scanned for pickle tags, so no copy of the
whole entry is held.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from devduck_otel.exceptions import SessionFormatError, UnsafeSessionError
from devduck_otel.session._bounded import MAX_DOCUMENT_BYTES
from devduck_otel.session._loadparse import warn
from devduck_otel.session._messages import MessageTable
from devduck_otel.session._signatures import (
    PICKLE_TAG,
    Signatures,
    holds_pickle_tags,
    unpickle,
)
from devduck_otel.session._zipsafe import EntrySource

MESSAGES = "messages.jsonl"


def json_entry(
    source: EntrySource, name: str, signatures: Signatures, allow_pickle: bool
) -> tuple[bytes | None, bool]:
    """Read a JSON document entry (at most MAX_DOCUMENT_BYTES); say whether its pickles may load."""
    data = source.read(name, MAX_DOCUMENT_BYTES)
    if data is None or not allow_pickle or not signatures.required:
        return data, allow_pickle
    if not holds_pickle_tags(data):
        return data, True
    try:
        signatures.verify(name, data)
    except UnsafeSessionError as exc:
        warn(f"{exc}; its pickled values are left as tags")
        return data, False
    return data, True


def _hashed(chunks: Iterable[bytes], mac: Any) -> Iterator[bytes]:
    for chunk in chunks:
        mac.update(chunk)
        yield chunk


def message_table(source: EntrySource, signatures: Signatures, allow_pickle: bool) -> MessageTable:
    """Stream ``messages.jsonl`` into its table, checking its signature on the way."""
    where = f"{source.label}: {MESSAGES}"
    chunks = source.chunks(MESSAGES)
    if chunks is None or not allow_pickle or not signatures.required:
        return MessageTable(chunks, where, allow_pickle=allow_pickle)
    mac = signatures.hasher(MESSAGES)
    table = MessageTable(_hashed(chunks, mac), where, allow_pickle=False, scan=PICKLE_TAG)
    if not table.matched:
        table.allow_pickle = True
        return table
    try:
        signatures.check(MESSAGES, mac)
    except UnsafeSessionError as exc:
        warn(f"{exc}; its pickled values are left as tags")
        return table
    table.allow_pickle = True
    return table


def unpickle_all(
    source: EntrySource, snapshots: list[Any], signatures: Signatures
) -> tuple[Any, dict[str, Any]]:
    """Unpickle ``session.pkl`` and the snapshots' state blobs (``allow_pickle=True`` only).

    Returns:
        The unpickled ``session.pkl`` (or ``None``) and the blobs by entry name.
    """
    names = set(source.names())
    blobs = {s["state_blob"] for s in snapshots if isinstance(s.get("state_blob"), str)}
    wanted = ["session.pkl", *sorted(blobs)]
    state: Any = None
    out: dict[str, Any] = {}
    for name in wanted:
        if name not in names:
            if name != "session.pkl":
                warn(f"{source.label}: state blob {name} is missing")
            continue
        data = source.read(name)
        if data is None:
            continue
        try:
            value = unpickle(source.label, name, data, signatures)
        except UnsafeSessionError:
            raise
        except SessionFormatError as exc:
            warn(f"{exc}; skipped")
            continue
        if name == "session.pkl":
            state = value
        else:
            out[name] = value
    return state, out
