"""Environment variables read by the devduck-otel session exporter."""

from __future__ import annotations

from typing import Final

__all__ = ["DEVDUCK_FLUSH_INTERVAL", "DEVDUCK_RECORDINGS_DIR", "DEVDUCK_SIGNING_KEY"]

DEVDUCK_RECORDINGS_DIR: Final = "DEVDUCK_RECORDINGS_DIR"
"""
Folder for session ZIPs and live journals. Default: ``<tempdir>/devduck/recordings``
(``/tmp/devduck/recordings`` on Linux).
"""

DEVDUCK_FLUSH_INTERVAL: Final = "DEVDUCK_FLUSH_INTERVAL"
"""
Seconds between journal flushes while recording (a float > 0). Events are also
flushed before ``snapshot()`` returns and at export. Default: ``0.2``.
"""

DEVDUCK_SIGNING_KEY: Final = "DEVDUCK_SIGNING_KEY"
"""
Secret used to sign pickled entries (``session.pkl``, ``blobs/*``) with HMAC-SHA256
at export and to verify them before ``load_session(..., allow_pickle=True)``
unpickles anything. Default: unset (no signatures written; unsigned pickles load only
with ``allow_pickle=True`` and no key set).
"""
