"""Resuming an agent from a snapshot of a loaded session.

The agent gets deep copies of the snapshot's messages, system prompt and state through
its framework adapter (``devduck_otel.integrations.adapter_for``), so nothing done to
the resumed agent changes the loaded session. A snapshot taken mid-turn is repaired
first (see :func:`repair_messages`) so that the next model call is valid.

Example:
    >>> session = devduck_otel.load_session("session.zip")  # doctest: +SKIP
    >>> report = session.resume_from_snapshot(2, agent=my_agent)  # doctest: +SKIP
    >>> report["messages_restored"]  # doctest: +SKIP
    12
"""

from __future__ import annotations

import copy
import os
import re
import warnings
from typing import TYPE_CHECKING, Any, Final

from opentelemetry.trace import Link, SpanContext, TraceFlags

from devduck_otel.exceptions import RedactedSnapshotWarning, SessionFormatError
from devduck_otel.resume._repair import repair_messages

if TYPE_CHECKING:
    from devduck_otel.integrations import AgentAdapter
    from devduck_otel.session._loader import LoadedSession, SnapshotRecord

__all__ = ["resume_and_continue", "resume_from_snapshot"]

_HEX32: Final = re.compile("[0-9a-f]{32}")
_HEX16: Final = re.compile("[0-9a-f]{16}")

PROMPT_RESULT_CHARS: Final = 500
"""How much of the last result the continuation prompt quotes."""


def resume_from_snapshot(
    session: LoadedSession, snapshot_id: int, agent: Any = None, *, change_cwd: bool = False
) -> dict[str, Any]:
    """Restore ``agent`` to snapshot ``snapshot_id`` of ``session``.

    The agent's messages are replaced by a deep copy of the snapshot's (an empty list
    when it holds none), repaired if the snapshot was taken mid-turn; its system prompt
    and state are replaced when the snapshot has them.

    Args:
        session: The loaded session.
        snapshot_id: The snapshot to resume from.
        agent: The agent to restore; ``None`` only reports what would be restored.
        change_cwd: Change the process's working directory to the snapshot's ``cwd``.

    Returns:
        ``status``, ``snapshot_id``, ``timestamp``, ``cwd``, ``tools_loaded``,
        ``messages_count``, ``events_before_snapshot``, ``messages_restored``,
        ``continuation_prompt``, ``cwd_changed``, ``missing_tools`` and
        ``extra_tools`` (snapshot tools the agent lacks, and the reverse), ``repairs``
        (what was changed to make the messages valid), ``state_restored``,
        ``framework`` and ``framework_mismatch`` (the agent's framework, and whether
        the snapshot came from another one), ``redactions`` (where the snapshot
        differs from what the agent had: one ``{"path", "rule"}`` per redacted
        string, never its value; empty when nothing was secret, and then messages
        and system prompt are restored byte-identical) and ``notes`` (for example: a
        pickled state left out without ``allow_pickle``).

    Warns:
        RedactedSnapshotWarning: The snapshot has redactions (named in the message);
            the agent is restored with ``[REDACTED]`` in those places.

    Raises:
        ValueError: The session has no such snapshot.
        SessionFormatError: The snapshot's messages are too deeply nested to copy.
    """
    snap = session.get_snapshot(snapshot_id)
    messages, state = _copies(session, snap)
    count = len(messages)
    repairs = repair_messages(messages)
    loaded = snap.get("tools_loaded")
    tools = [t for t in loaded if isinstance(t, str)] if isinstance(loaded, list) else []
    report: dict[str, Any] = {
        "status": "success",
        "snapshot_id": snapshot_id,
        "timestamp": snap.get("timestamp"),
        "cwd": snap.get("cwd"),
        "tools_loaded": tools,
        "messages_count": count,
        "events_before_snapshot": len(session.get_events_until_snapshot(snapshot_id)),
        "messages_restored": 0,
        "continuation_prompt": continuation_prompt(session, snap),
        "cwd_changed": _change_cwd(snap.get("cwd")) if change_cwd else False,
        "missing_tools": [],
        "extra_tools": [],
        "repairs": repairs,
        "state_restored": False,
        "framework": None,
        "framework_mismatch": False,
        "notes": _notes(session, snap),
        "redactions": [dict(r) for r in snap.get("redactions") or []],
    }
    if report["redactions"]:
        _warn_redacted(snapshot_id, report)
    if agent is not None:
        _restore_into(agent, snap, messages, state, report)
    return report


REDACTIONS_NAMED: Final = 20
"""How many redactions the warning names (all are in the report)."""


def _warn_redacted(snapshot_id: int, report: dict[str, Any]) -> None:
    redactions = report["redactions"]
    named = ", ".join(f"{r['path']} ({r['rule']})" for r in redactions[:REDACTIONS_NAMED])
    more = len(redactions) - REDACTIONS_NAMED
    message = (
        f"snapshot {snapshot_id} was redacted before it was stored: the agent resumes "
        f"with [REDACTED] at {named}" + (f" and {more} more" if more > 0 else "")
    )
    report["notes"].append(message)
    warnings.warn(message, RedactedSnapshotWarning, stacklevel=4)


def _restore_into(
    agent: Any, snap: SnapshotRecord, messages: list[Any], state: Any, report: dict[str, Any]
) -> None:
    adapter = _adapter(agent)
    prompt = snap.get("system_prompt")
    adapter.restore(
        messages=messages,
        system_prompt=prompt if isinstance(prompt, str) else None,
        state=state,
    )
    have = adapter.tool_names()
    tools = report["tools_loaded"]
    report["messages_restored"] = len(messages)
    report["state_restored"] = state is not None
    report["missing_tools"] = [t for t in tools if t not in have]
    report["extra_tools"] = [t for t in have if t not in tools]
    taken_from = snap.get("framework")
    report["framework"] = adapter.framework
    if isinstance(taken_from, str) and taken_from != adapter.framework:
        report["framework_mismatch"] = True
        report["notes"].append(
            f"the snapshot was taken from a {taken_from} agent and restored into a "
            f"{adapter.framework} agent: its messages keep the {taken_from} shape"
        )


def _adapter(agent: Any) -> AgentAdapter:
    # Imported here: the integrations import the recorder, which imports much else.
    from devduck_otel.integrations import adapter_for

    return adapter_for(agent)


def _notes(session: LoadedSession, snap: SnapshotRecord) -> list[str]:
    stored = snap.get("notes")
    notes = [n for n in stored if isinstance(n, str)] if isinstance(stored, list) else []
    blob = snap.get("state_blob")
    if isinstance(blob, str) and blob not in session.blobs:
        notes.append(
            f"the agent state is pickled in {blob}: load the session with allow_pickle=True "
            "(trusted files only) to restore it"
        )
    return notes


def _copies(session: LoadedSession, snap: SnapshotRecord) -> tuple[list[Any], Any]:
    blob = snap.get("state_blob")
    state = session.blobs[blob] if isinstance(blob, str) and blob in session.blobs else None
    if state is None:
        state = snap.get("agent_state")
    try:
        return copy.deepcopy(list(snap["agent_messages"])), copy.deepcopy(state)
    except RecursionError as exc:
        raise SessionFormatError(
            f"{session.path}: snapshot {snap['snapshot_id']} is nested too deeply to restore"
        ) from exc


def _change_cwd(cwd: Any) -> bool:
    if not isinstance(cwd, str) or not os.path.isdir(cwd):
        return False
    os.chdir(cwd)
    return True


def continuation_prompt(session: LoadedSession, snap: SnapshotRecord) -> str:
    """Return a prompt that tells an agent where it is resuming from.

    Args:
        session: The loaded session.
        snap: The snapshot being resumed.

    Returns:
        A few sentences: session, snapshot, time, working directory, last query and
        the start of the last result.
    """
    description = snap.get("description") or "no description"
    when = snap.get("time") or snap.get("timestamp") or "an unknown time"
    parts = [
        f"Resuming session {session.session_id} from snapshot {snap['snapshot_id']} "
        f"({description}), taken at {when}.",
        f"The conversation so far has {len(snap.get('agent_messages') or [])} messages.",
    ]
    if snap.get("cwd"):
        parts.append(f"The working directory was {snap['cwd']}.")
    if snap.get("last_query"):
        parts.append(f"The last query was: {snap['last_query']}")
    last = snap.get("last_result")
    if last:
        text = str(last)
        cut = text[:PROMPT_RESULT_CHARS] + ("..." if len(text) > PROMPT_RESULT_CHARS else "")
        parts.append(f"The last result was: {cut}")
    parts.append("Continue from where you left off.")
    return "\n".join(parts)


def resume_and_continue(
    session: LoadedSession, snapshot_id: int, query: str, agent: Any = None
) -> dict[str, Any]:
    """Resume ``agent`` from a snapshot and run one turn with ``query``.

    The turn runs inside a new recording linked to the original (``parent_session``,
    ``parent_snapshot``, and a span link to the span that took the snapshot), started
    here and stopped afterwards, unless a recording is
    already running (then it is recorded there and ``session_path`` is ``None``).

    Args:
        session: The loaded session.
        snapshot_id: The snapshot to resume from.
        query: The prompt for the agent.
        agent: The agent to restore and run.

    Returns:
        The :func:`resume_from_snapshot` report plus ``agent_result`` (the result as
        text) and ``session_path`` (the new recording's ZIP, or ``None``).

    Raises:
        ValueError: No agent was given, or there is no such snapshot.
    """
    if agent is None:
        raise ValueError("resume_and_continue needs agent=: the agent to restore and run")
    report = resume_from_snapshot(session, snapshot_id, agent)
    from devduck_otel import _api  # here: the API module imports the whole recorder

    started = _api.current() is None
    if started:
        _api.start_recording(
            parent_session=session.session_id,
            parent_snapshot=snapshot_id,
            links=snapshot_links(session.get_snapshot(snapshot_id)),
        )
    path: str | None = None
    try:
        result = _adapter(agent).invoke(query)
    finally:
        if started:
            path = _api.stop_recording()
    report["agent_result"] = result if isinstance(result, str) else str(result)
    report["session_path"] = path
    return report


def snapshot_links(snap: SnapshotRecord) -> list[Link]:
    """Return a span link to the span that took ``snap`` (none when its ids are unusable).

    Args:
        snap: The snapshot resumed.

    Returns:
        Zero or one :class:`opentelemetry.trace.Link`, for the resumed turn's agent span.
    """
    trace_id, span_id = snap.get("trace_id"), snap.get("span_id")
    if not (isinstance(trace_id, str) and _HEX32.fullmatch(trace_id)):
        return []
    if not (isinstance(span_id, str) and _HEX16.fullmatch(span_id)):
        return []
    context = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    if not context.is_valid:
        return []
    return [Link(context, {"devduck.snapshot.id": int(snap["snapshot_id"])})]
