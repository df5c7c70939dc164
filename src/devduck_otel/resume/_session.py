"""``resume_session``: load a session ZIP and resume an agent from one of its snapshots."""

from __future__ import annotations

import os
from typing import Any

from devduck_otel.exceptions import SessionFormatError
from devduck_otel.resume import _resume
from devduck_otel.session._loader import load_session

__all__ = ["resume_session"]


def resume_session(
    path: str | os.PathLike[str],
    snapshot_id: int | None = None,
    new_query: str | None = None,
    *,
    agent: Any = None,
) -> dict[str, Any]:
    """Load a session and resume from a snapshot (the latest when none is named).

    Args:
        path: The session ZIP or journal directory.
        snapshot_id: The snapshot to resume from; default: the latest.
        new_query: When given, also run the agent on it (see :func:`resume_and_continue`).
        agent: The agent to restore (required with ``new_query``).

    Returns:
        The resume report (with ``agent_result`` after a query).

    Raises:
        SessionNotFoundError: Nothing is at ``path``.
        SessionFormatError: The file is broken, or has no snapshot to resume from.
        ValueError: No such snapshot, or ``new_query`` without an agent.
    """
    session = load_session(path)
    if not session.snapshots:
        raise SessionFormatError(f"{session.path}: the session has no snapshot to resume from")
    if snapshot_id is None:
        snapshot_id = int(session.snapshots[-1]["snapshot_id"])
    if new_query is not None:
        return _resume.resume_and_continue(session, snapshot_id, new_query, agent)
    return _resume.resume_from_snapshot(session, snapshot_id, agent)
