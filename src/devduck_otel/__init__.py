"""devduck-otel: a time-travel debugger for AI agents, built on OpenTelemetry.

Record what an agent does in three layers (sys, tool, agent), write a session ZIP,
load it back, and resume the agent from any snapshot.

Example:
    >>> import devduck_otel
    >>> devduck_otel.start_recording()  # doctest: +SKIP
    >>> @devduck_otel.tool
    ... def add(a: int, b: int) -> int:
    ...     return a + b
    >>> add(1, 2)
    3
    >>> path = devduck_otel.stop_recording()  # doctest: +SKIP
    >>> session = devduck_otel.load_session(path)  # doctest: +SKIP
"""

from __future__ import annotations

from devduck_otel import exceptions
from devduck_otel._api import (
    export_recording,
    recording_status,
    snapshot,
    start_recording,
    stop_recording,
)
from devduck_otel._instrument import instrument, uninstrument
from devduck_otel._recorder import Recorder
from devduck_otel._session_tool import session_recorder
from devduck_otel.capture._agent import agent
from devduck_otel.capture._llm import llm
from devduck_otel.capture._threads import ContextThreadPoolExecutor, wrap_context
from devduck_otel.capture._tool import tool
from devduck_otel.resume._session import resume_session
from devduck_otel.session._loader import LoadedSession, list_sessions, load_session
from devduck_otel.version import __version__

__all__ = [
    "agent",
    "ContextThreadPoolExecutor",
    "exceptions",
    "export_recording",
    "instrument",
    "list_sessions",
    "llm",
    "LoadedSession",
    "load_session",
    "Recorder",
    "recording_status",
    "resume_session",
    "session_recorder",
    "snapshot",
    "start_recording",
    "stop_recording",
    "tool",
    "uninstrument",
    "wrap_context",
    "__version__",
]
