"""The module-level recording API: start, snapshot, export, status, stop."""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link

from devduck_otel import _state
from devduck_otel._config import RecorderConfig, sdk_disabled
from devduck_otel._recorder import Recorder
from devduck_otel.capture import _syslayer
from devduck_otel.exceptions import RecordingStateError

logger = logging.getLogger("devduck_otel")

_lock = threading.RLock()
_current: Recorder | DisabledRecording | None = None
_atexit_registered = False


class DisabledRecording:
    """What ``start_recording`` returns under ``OTEL_SDK_DISABLED=true``: records nothing."""

    capture_content = False
    links: tuple[Link, ...] = ()
    stopped = False

    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id or "disabled"
        self.tracer: trace.Tracer = trace.NoOpTracer()
        self._ids = itertools.count(1)
        self._start = time.monotonic()

    def take_snapshot(self, agent: Any = None, description: str = "", **_: Any) -> int:
        """Count the snapshot; nothing is captured."""
        return next(self._ids)

    def status(self) -> dict[str, Any]:
        """Return the status of a recording that records nothing."""
        return {
            "session_id": self.session_id,
            "recording": False,
            "disabled": True,
            "events": 0,
            "snapshots": 0,
            "duration": round(time.monotonic() - self._start, 3),
        }


def start_recording(
    session_id: str | None = None,
    *,
    directory: str | Path | None = None,
    capture_content: bool | None = None,
    sys_layer: bool | None = None,
    tracer_provider: Any = None,
    parent_session: str | None = None,
    parent_snapshot: int | None = None,
    links: Sequence[Link] = (),
    parent_step: int | None = None,
) -> Recorder | DisabledRecording:
    """Start recording this process's agent activity into a new session.

    Args:
        session_id: The session's id. Defaults to a unique ``session-YYYYMMDD-HHMMSS-xxxxxx``.
        directory: Recordings folder. Defaults to ``DEVDUCK_RECORDINGS_DIR``, then
            ``<tempdir>/devduck/recordings``.
        capture_content: Send message and tool content to collectors. Defaults to
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, then false.
        sys_layer: Capture file opens, processes and HTTP. Defaults to
            ``DEVDUCK_SYS_LAYER``, then true.
        tracer_provider: An SDK TracerProvider to join. Defaults to the global one
            when the application set an SDK provider, else a private provider built
            from the ``OTEL_*`` variables.
        parent_session: The session this one continues (set by resume).
        parent_snapshot: The snapshot of ``parent_session`` it continues from.
        links: Span links added to agent spans (set by resume).
        parent_step: The step of ``parent_session`` this one forked at (set by replay).

    Returns:
        The running recording.

    Raises:
        RecordingStateError: A recording is already running.
    """
    global _current, _atexit_registered
    config = RecorderConfig.resolve(capture_content=capture_content, sys_layer=sys_layer)
    with _lock:
        if _current is not None:
            raise RecordingStateError(
                f"a recording is already running (session {_current.session_id}); "
                "stop it with stop_recording() before starting another"
            )
        if sdk_disabled():
            _current = DisabledRecording(session_id)
            return _current
        rec = Recorder(
            session_id=session_id,
            directory=directory,
            capture_content=config.capture_content,
            tracer_provider=tracer_provider,
            parent_session=parent_session,
            parent_snapshot=parent_snapshot,
            links=links,
            metadata={"parent_step": parent_step} if parent_session is not None else None,
        )
        _activate(rec, config.sys_layer)
        if not _atexit_registered:
            atexit.register(_stop_at_exit)
            _atexit_registered = True
        return rec


def _activate(rec: Recorder, sys_layer: bool) -> None:
    global _current
    _current = rec
    _state.set_active(rec)
    if sys_layer:
        provider = rec.tracing.tracer_provider if rec.tracing is not None else None
        _syslayer.install(rec, provider)


def adopt_recording(rec: Recorder, *, sys_layer: bool = True) -> None:
    """Make an already built recorder the running one (zero-code set-up)."""
    with _lock:
        if _current is not None:
            raise RecordingStateError(
                f"a recording is already running (session {_current.session_id})"
            )
        _activate(rec, sys_layer)


def current() -> Recorder | DisabledRecording | None:
    """Return the running recording (also a disabled one), or ``None``."""
    return _current


def _require() -> Recorder | DisabledRecording:
    rec = _current
    if rec is None:
        raise RecordingStateError("no recording is running; start one with start_recording()")
    return rec


def snapshot(
    agent: Any = None, description: str = "", *, last_query: Any = "", last_result: Any = ""
) -> int:
    """Snapshot the agent's full state (and the process context) and return its id.

    Args:
        agent: Any object with a ``messages`` list (and, where present,
            ``system_prompt``, ``tool_names``, ``model``, ``state``); ``None`` captures
            only the process context.
        description: Free text shown beside the snapshot.
        last_query: The last query given to the agent.
        last_result: The agent's last result.

    Returns:
        The snapshot's id, counting from 1. Events recorded so far are flushed to the
        journal before it returns.

    Raises:
        RecordingStateError: No recording is running.
    """
    return _require().take_snapshot(
        agent, description, last_query=last_query, last_result=last_result
    )


def export_recording(output_path: str | Path | None = None) -> str:
    """Write a complete, loadable ZIP of everything recorded so far; recording goes on.

    Args:
        output_path: Where to write it. Defaults to ``<recordings>/<session_id>.zip``.

    Returns:
        The ZIP's path ("" under ``OTEL_SDK_DISABLED``).

    Raises:
        RecordingStateError: No recording is running.
    """
    rec = _require()
    if isinstance(rec, DisabledRecording):
        return ""
    with _syslayer.suppressed():
        return str(rec.export(output_path))


def recording_status() -> dict[str, Any]:
    """Return ``session_id``, ``recording``, ``events``, ``snapshots`` and ``duration``."""
    rec = _current
    if rec is None:
        return {
            "session_id": None,
            "recording": False,
            "events": 0,
            "snapshots": 0,
            "duration": 0.0,
        }
    return rec.status()


def stop_recording(output_path: str | Path | None = None) -> str | None:
    """Stop the recording, remove its hooks, and write its ZIP.

    Args:
        output_path: Where to write the ZIP. Defaults to ``<recordings>/<session_id>.zip``.

    Returns:
        The ZIP's path, or ``None`` when nothing was recording (or under ``OTEL_SDK_DISABLED``).
    """
    global _current
    with _lock:
        rec, _current = _current, None
        if rec is None or isinstance(rec, DisabledRecording):
            return None
        _syslayer.uninstall()
        _state.set_active(None)
        with _syslayer.suppressed():
            return str(rec.stop(output_path))


def _forget_in_child() -> None:
    """A forked child records nothing and never writes or removes the parent's session.

    The parent's recording goes on; a child that wants its own session calls
    ``start_recording()`` (with another session id) after the fork.
    """
    global _current, _lock
    _current = None
    _lock = threading.RLock()  # another thread may have held it at the fork
    _state.forget_after_fork()


os.register_at_fork(after_in_child=_forget_in_child)


def _stop_at_exit() -> None:
    if _current is None:
        return
    try:
        path = stop_recording()
    except Exception:  # at exit the journal stays for `devduck-otel recover`
        logger.exception("devduck-otel: could not write the session ZIP at exit")
        return
    if path:
        logger.info("devduck-otel: session written to %s", path)


def reset_for_tests() -> None:
    """Stop any running recording quietly (used by the test suite between tests)."""
    global _current
    with _lock:
        rec = _current
        if rec is None:
            return
        try:
            stop_recording()
        finally:
            _current = None
            _state.set_active(None)
            _syslayer.uninstall()
