"""Telemetry never breaks the agent: internal errors are logged once, not raised.

Under the test suite (``DEVDUCK_RAISE_INTERNAL_ERRORS=true``) they are re-raised so
that a telemetry bug fails the test.
"""

from __future__ import annotations

import logging
import os
import threading
from types import TracebackType

from devduck_otel.environment_variables import DEVDUCK_RAISE_INTERNAL_ERRORS

logger = logging.getLogger("devduck_otel")

_seen: set[str] = set()
_lock = threading.Lock()


def raise_internal_errors() -> bool:
    """Whether internal errors are re-raised (tests) rather than logged."""
    return os.environ.get(DEVDUCK_RAISE_INTERNAL_ERRORS, "").strip().lower() == "true"


def log_internal_error(where: str, exc: BaseException) -> None:
    """Log an internal failure once per place and error type."""
    key = f"{where}:{type(exc).__name__}"
    with _lock:
        first = key not in _seen
        _seen.add(key)
    if first:
        logger.warning(
            "devduck-otel: %s failed (%s: %s); the agent goes on", where, type(exc).__name__, exc
        )
    else:
        logger.debug("devduck-otel: %s failed again: %r", where, exc)


class guard:
    """Swallow and log an internal error in production; re-raise it under tests.

    A class rather than a generator context manager: it sits on every recorded call,
    and an instance holds no state, so hot paths keep one and reuse it.
    """

    __slots__ = ("where",)

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if not isinstance(exc, Exception) or raise_internal_errors():
            return False
        log_internal_error(self.where, exc)
        return True
