r"""HMAC signatures of pickled entries, bound to the entry's name.

Scheme 2 (``signatures.json`` ``{"algorithm": "hmac-sha256", "scheme": 2,
"entries": {name: hex}}``) signs ``b"devduck-otel/2\\0" + name + b"\\0" + bytes``, so a
signed blob copied under another name (``session.pkl``) no longer verifies.

Example:
    >>> mac = entry_mac(b"key", "session.pkl")
    >>> mac.update(b"data")
    >>> len(mac.hexdigest())
    64
"""

from __future__ import annotations

import hmac
import os
from typing import Final

from devduck_otel_exporter_zip.environment_variables import DEVDUCK_SIGNING_KEY

__all__ = ["SIGNATURE_SCHEME", "BlankSigningKeyError", "entry_mac", "signing_key"]

SIGNATURE_SCHEME: Final = 2
"""The signature scheme written and the only one verified (1 did not bind names)."""


class BlankSigningKeyError(ValueError):
    """``DEVDUCK_SIGNING_KEY`` is set but empty or whitespace: signing would be off."""


def signing_key() -> bytes | None:
    """Return ``DEVDUCK_SIGNING_KEY`` as bytes, or ``None`` when unset.

    Raises:
        BlankSigningKeyError: The variable is set but empty or only whitespace; a
            blank key must not silently switch signature checks off.
    """
    raw = os.environ.get(DEVDUCK_SIGNING_KEY)
    if raw is None:
        return None
    if not raw.strip():
        raise BlankSigningKeyError(
            f"{DEVDUCK_SIGNING_KEY} is set but blank; set a real secret or unset it"
        )
    return raw.encode("utf-8", "surrogateescape")


def entry_mac(key: bytes, name: str) -> hmac.HMAC:
    """Return an HMAC-SHA256 for entry ``name``, to be updated with its bytes."""
    mac = hmac.new(key, digestmod="sha256")
    mac.update(b"devduck-otel/%d\0" % SIGNATURE_SCHEME)
    mac.update(name.encode("utf-8", "surrogateescape") + b"\0")
    return mac
