"""Pickles in session files: nothing is unpickled unless allowed, and signed when a key is set.

With ``DEVDUCK_SIGNING_KEY`` set, ``session.pkl`` and ``blobs/*`` (and JSON entries
holding pickled values) are unpickled only when their HMAC-SHA256 in
``signatures.json`` (``{"algorithm": "hmac-sha256", "scheme": 2, "entries": {name:
hex}}``) matches; scheme 2 binds the entry's name, so a signed entry copied under
another name is refused. A blank key is refused, never taken as "unset".

Example:
    >>> signatures = Signatures(source)  # doctest: +SKIP
    >>> state = unpickle(source.label, "session.pkl", data, signatures)  # doctest: +SKIP
"""

from __future__ import annotations

import hmac
import re
from typing import Any, Final

import dill
import orjson
from devduck_otel_exporter_zip import (
    SIGNATURE_SCHEME,
    BlankSigningKeyError,
    entry_mac,
    signing_key,
)

from devduck_otel.exceptions import SessionFormatError, UnsafeSessionError
from devduck_otel.session._zipsafe import MAX_SMALL_JSON_BYTES, EntrySource

__all__ = ["SIGNATURE_ALGORITHM", "Signatures", "holds_pickle_tags", "unpickle"]

SIGNATURE_ALGORITHM: Final = "hmac-sha256"
"""The only algorithm ``signatures.json`` may name."""

_PICKLE_TAG: Final = re.compile(rb'"__devduck__"\s*:\s*"pickle"')


class Signatures:
    """The ``signatures.json`` of one session, checked against ``DEVDUCK_SIGNING_KEY``."""

    def __init__(self, source: EntrySource) -> None:
        self._source = source
        self._label = source.label
        self._blank: str | None = None
        try:
            self._key = signing_key()
        except BlankSigningKeyError as exc:  # refused when a pickle is about to load
            self._key, self._blank = b"", str(exc)
        self._entries: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        """Read ``signatures.json`` on first use, so loads without pickles never need it."""
        if self._entries is not None:
            return self._entries
        self._entries = {}
        raw = self._source.read("signatures.json", MAX_SMALL_JSON_BYTES)
        if raw is None:
            return self._entries
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UnsafeSessionError(f"{self._label}: signatures.json is not JSON") from exc
        if not isinstance(doc, dict) or doc.get("algorithm") != SIGNATURE_ALGORITHM:
            raise UnsafeSessionError(
                f"{self._label}: signatures.json does not use {SIGNATURE_ALGORITHM}"
            )
        if doc.get("scheme") != SIGNATURE_SCHEME:
            raise UnsafeSessionError(
                f"{self._label}: signatures.json uses signature scheme "
                f"{doc.get('scheme', 1)!r}, which does not bind entry names; this version "
                f"verifies scheme {SIGNATURE_SCHEME} only (re-record, or load without "
                "allow_pickle)"
            )
        entries = doc.get("entries")
        self._entries = entries if isinstance(entries, dict) else {}
        return self._entries

    @property
    def required(self) -> bool:
        """Whether a signing key is set, so pickles need a valid signature."""
        return self._key is not None

    def verify(self, name: str, data: bytes) -> None:
        """Check ``data`` against the signature of entry ``name`` (no-op without key).

        Raises:
            UnsafeSessionError: A key is set and the signature is absent or wrong.
        """
        mac = self.hasher(name)
        mac.update(data)
        self.check(name, mac)

    def hasher(self, name: str) -> hmac.HMAC:
        """Return the HMAC for entry ``name``, to update with its bytes as they stream."""
        return entry_mac(self._key or b"", name)

    def check(self, name: str, mac: hmac.HMAC) -> None:
        """Check a :meth:`hasher` fed with the entry's bytes (no-op without key).

        Raises:
            UnsafeSessionError: A key is set and the signature is absent or wrong.
        """
        if self._key is None:
            return
        if self._blank is not None:
            raise UnsafeSessionError(f"{self._label}: {self._blank}; refusing to unpickle {name}")
        expected = self._load().get(name)
        if not isinstance(expected, str) or not expected:
            raise UnsafeSessionError(
                f"{self._label}: {name} is not signed; refusing to unpickle it"
            )
        if not hmac.compare_digest(mac.hexdigest(), expected.lower()):
            raise UnsafeSessionError(
                f"{self._label}: {name} has a bad HMAC-SHA256 signature; refusing to unpickle it"
            )


PICKLE_TAG: Final = _PICKLE_TAG
"""Matches a lossless pickle tag in JSON bytes."""


def holds_pickle_tags(data: bytes) -> bool:
    """Return whether JSON ``data`` holds a lossless pickle tag (fast byte scan)."""
    return _PICKLE_TAG.search(data) is not None


def unpickle(label: str, name: str, data: bytes, signatures: Signatures) -> Any:
    """Unpickle a trusted entry; call only when the caller passed ``allow_pickle=True``.

    Args:
        label: The session file, for messages.
        name: The entry name (``session.pkl`` or ``blobs/...``).
        data: The entry bytes.
        signatures: The session's signatures, verified first when a key is set.

    Returns:
        The unpickled object.

    Raises:
        UnsafeSessionError: A signing key is set and the signature does not match.
        SessionFormatError: The pickle is broken or needs missing classes.
    """
    signatures.verify(name, data)
    try:
        return dill.loads(data)
    except Exception as exc:
        raise SessionFormatError(f"{label}: cannot unpickle {name} ({exc!r})") from exc
