"""``session_recorder``: the recording API as one tool an agent can call; never raises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devduck_otel import _api
from devduck_otel.session._jsonsafe import safe_repr

ACTIONS = ("start", "snapshot", "status", "export", "stop", "list", "resume")


@dataclass(frozen=True)
class _Args:
    session_id: str | None
    output_path: str | None
    description: str
    agent: Any
    snapshot_id: int | None


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
    snapshot_id: int | None = None,
) -> dict[str, Any]:
    """Start, snapshot, inspect, export, stop, list or resume session recordings.

    Args:
        action: One of ``start``, ``snapshot``, ``status``, ``export``, ``stop``,
            ``list``, ``resume``.
        session_id: For ``start``: the new session's id (optional).
        output_path: For ``export`` and ``stop``: the ZIP path (optional); for
            ``list``: the folder to list (optional); for ``resume``: the session ZIP
            (default: the newest in the recordings folder).
        description: For ``snapshot``: what the snapshot is of.
        agent: For ``snapshot``: the agent to capture (optional); for ``resume``: the
            agent to restore.
        snapshot_id: For ``resume``: the snapshot to resume from (default: the latest).

    Returns:
        ``{"status": "success" | "error", "content": [{"text": ...}]}``.
    """
    handler = _HANDLERS.get(action) if isinstance(action, str) else None
    if handler is None:
        return _error(f"Unknown action {safe_repr(action, 60)}; use one of: {', '.join(ACTIONS)}.")
    try:
        return handler(_Args(session_id, output_path, description, agent, snapshot_id))
    except Exception as exc:  # a tool returns errors, it does not raise them
        return _error(f"{action} failed: {type(exc).__name__}: {exc}")


def _start(args: _Args) -> dict[str, Any]:
    current = _api.current()
    if current is not None:
        return _error(
            f"A recording is already running (session {current.session_id}); stop it first."
        )
    rec = _api.start_recording(session_id=args.session_id)
    return _ok(f"Recording started: session {rec.session_id}.")


def _snapshot(args: _Args) -> dict[str, Any]:
    if _api.current() is None:
        return _error("No recording is running; start one with action='start'.")
    snapshot_id = _api.snapshot(args.agent, args.description)
    suffix = f": {args.description}" if args.description else ""
    return _ok(f"Snapshot {snapshot_id} taken{suffix}.")


def _status(_args: _Args) -> dict[str, Any]:
    status = _api.recording_status()
    if not status["recording"]:
        return _ok("Not recording.")
    return _ok(
        f"Recording session {status['session_id']}: {status['events']} events, "
        f"{status['snapshots']} snapshots, {status['duration']:.1f}s."
    )


def _export(args: _Args) -> dict[str, Any]:
    if _api.current() is None:
        return _error("No recording is running; nothing to export.")
    path = _api.export_recording(args.output_path)
    return _ok(f"Session exported to {path} (recording goes on).")


def _stop(args: _Args) -> dict[str, Any]:
    if _api.current() is None:
        return _error("No recording is running; nothing to stop.")
    path = _api.stop_recording(args.output_path)
    if path is None:
        return _ok("Recording stopped (OpenTelemetry is disabled: nothing was written).")
    return _ok(f"Recording stopped; session saved to {path}.")


def _list(args: _Args) -> dict[str, Any]:
    from devduck_otel.session._loader import list_sessions

    sessions = list_sessions(Path(args.output_path) if args.output_path else None)
    if not sessions:
        return _ok("No recorded sessions.")
    lines = [f"{s['name']}  {s['size_kb']:.1f} KB  {s['modified']}  {s['path']}" for s in sessions]
    return _ok(f"{len(sessions)} sessions:\n" + "\n".join(lines))


def _resume(args: _Args) -> dict[str, Any]:
    from devduck_otel.session._loader import list_sessions, load_session

    path = args.output_path
    if path is None:
        sessions = list_sessions()
        if not sessions:
            return _error("No recorded sessions to resume; give output_path=<session.zip>.")
        path = str(sessions[0]["path"])
    session = load_session(path)
    ids = [s.snapshot_id for s in session.snapshots]
    if not ids:
        return _error(f"{path} has no snapshot to resume from.")
    wanted = ids[-1] if args.snapshot_id is None else args.snapshot_id
    if wanted not in ids:
        return _error(
            f"Snapshot {safe_repr(wanted, 40)} is out of range for {path}: "
            f"its snapshots are {ids[0]} to {ids[-1]}."
        )
    report = session.resume_from_snapshot(wanted, agent=args.agent)
    return _ok(
        f"Resumed from snapshot {wanted} of {path}: {report['messages_restored']} messages "
        f"restored ({report['messages_count']} in the snapshot)."
    )


_HANDLERS: dict[str, Callable[[_Args], dict[str, Any]]] = {
    "start": _start,
    "snapshot": _snapshot,
    "status": _status,
    "export": _export,
    "stop": _stop,
    "list": _list,
    "resume": _resume,
}
