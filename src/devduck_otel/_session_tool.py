"""``session_recorder``: the recording API as one tool an agent can call; never raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devduck_otel import _api
from devduck_otel._jsonsafe import safe_repr

ACTIONS = ("start", "snapshot", "status", "export", "stop", "list")


def _ok(text: str) -> dict[str, Any]:
    return {"status": "success", "content": [{"text": text}]}


def _error(text: str) -> dict[str, Any]:
    return {"status": "error", "content": [{"text": text}]}


def session_recorder(
    action: str,
    session_id: str | None = None,
    output_path: str | None = None,
    description: str = "",
    agent: Any = None,
) -> dict[str, Any]:
    """Start, snapshot, inspect, export, stop or list session recordings.

    Args:
        action: One of ``start``, ``snapshot``, ``status``, ``export``, ``stop``, ``list``.
        session_id: For ``start``: the new session's id (optional).
        output_path: For ``export`` and ``stop``: the ZIP path (optional); for
            ``list``: the folder to list (optional).
        description: For ``snapshot``: what the snapshot is of.
        agent: For ``snapshot``: the agent to capture (optional).

    Returns:
        ``{"status": "success" | "error", "content": [{"text": ...}]}``.
    """
    handler = _HANDLERS.get(action) if isinstance(action, str) else None
    if handler is None:
        return _error(f"Unknown action {safe_repr(action, 60)}; use one of: {', '.join(ACTIONS)}.")
    try:
        return handler(session_id, output_path, description, agent)
    except Exception as exc:  # a tool returns errors, it does not raise them
        return _error(f"{action} failed: {type(exc).__name__}: {exc}")


def _start(session_id: str | None, _out: str | None, _desc: str, _agent: Any) -> dict[str, Any]:
    current = _api.current()
    if current is not None:
        return _error(
            f"A recording is already running (session {current.session_id}); stop it first."
        )
    rec = _api.start_recording(session_id=session_id)
    return _ok(f"Recording started: session {rec.session_id}.")


def _snapshot(_sid: str | None, _out: str | None, description: str, agent: Any) -> dict[str, Any]:
    if _api.current() is None:
        return _error("No recording is running; start one with action='start'.")
    snapshot_id = _api.snapshot(agent, description)
    return _ok(f"Snapshot {snapshot_id} taken{': ' + description if description else ''}.")


def _status(_sid: str | None, _out: str | None, _desc: str, _agent: Any) -> dict[str, Any]:
    status = _api.recording_status()
    if not status["recording"]:
        return _ok("Not recording.")
    return _ok(
        f"Recording session {status['session_id']}: {status['events']} events, "
        f"{status['snapshots']} snapshots, {status['duration']:.1f}s."
    )


def _export(_sid: str | None, output_path: str | None, _desc: str, _agent: Any) -> dict[str, Any]:
    if _api.current() is None:
        return _error("No recording is running; nothing to export.")
    path = _api.export_recording(output_path)
    return _ok(f"Session exported to {path} (recording goes on).")


def _stop(_sid: str | None, output_path: str | None, _desc: str, _agent: Any) -> dict[str, Any]:
    if _api.current() is None:
        return _error("No recording is running; nothing to stop.")
    path = _api.stop_recording(output_path)
    if path is None:
        return _ok("Recording stopped (OpenTelemetry is disabled: nothing was written).")
    return _ok(f"Recording stopped; session saved to {path}.")


def _list(_sid: str | None, output_path: str | None, _desc: str, _agent: Any) -> dict[str, Any]:
    from devduck_otel._loader import list_sessions

    sessions = list_sessions(Path(output_path) if output_path else None)
    if not sessions:
        return _ok("No recorded sessions.")
    lines = [f"{s['name']}  {s['size_kb']:.1f} KB  {s['modified']}  {s['path']}" for s in sessions]
    return _ok(f"{len(sessions)} sessions:\n" + "\n".join(lines))


_HANDLERS = {
    "start": _start,
    "snapshot": _snapshot,
    "status": _status,
    "export": _export,
    "stop": _stop,
    "list": _list,
}
