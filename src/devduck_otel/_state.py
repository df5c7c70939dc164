"""The running recording: a leaf module, so nothing needs to import upward to find it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devduck_otel._recorder import Recorder

_active: Recorder | None = None
_lock = threading.Lock()


def active() -> Recorder | None:
    """Return the running recording, or ``None`` when nothing records."""
    return _active


def set_active(recorder: Recorder | None) -> None:
    """Make ``recorder`` the running recording (``None`` clears it)."""
    global _active
    with _lock:
        _active = recorder


def forget_after_fork() -> None:
    """In a forked child: nothing records (the recording and its journal are the parent's)."""
    global _active, _lock
    _active = None
    _lock = threading.Lock()  # another thread may have held it at the fork
