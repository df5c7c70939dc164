"""Recording a function in a fresh session and loading what it recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import devduck_otel


def record(fn: Callable[[], Any]) -> devduck_otel.LoadedSession:
    """Run ``fn`` inside a recording (sys layer on) and return the loaded session."""
    devduck_otel.start_recording()
    try:
        fn()
    finally:
        path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)
