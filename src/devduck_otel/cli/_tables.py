"""What ``list``, ``show``, ``snapshots`` and ``snapshot`` print."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from devduck_otel.cli._content import message_text
from devduck_otel.cli._format import offset, short, snapshot_ns, summarize, wall_time
from devduck_otel.cli._output import print_table, progress

_LAYER_STYLE = {"agent": "magenta", "tool": "cyan", "sys": "green"}
SNAPSHOT_MARK = "◆"


def render_list(console: Console, sessions: Sequence[dict[str, Any]]) -> None:
    """Print the sessions of the recordings folder (already newest first).

    Args:
        console: Where to print.
        sessions: Dicts with ``name``, ``size_kb``, ``modified`` and ``path``.
    """
    rows = [
        [
            str(s.get("name", "")),
            f"{float(s.get('size_kb') or 0):.1f}",
            str(s.get("modified", "")),
            str(s.get("path", "")),
        ]
        for s in sessions
    ]
    print_table(
        console, ["NAME", "SIZE_KB", "MODIFIED", "PATH"], rows, styles=["bold", None, None, "dim"]
    )


def timeline_rows(
    events: Sequence[dict[str, Any]], snapshots: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Merge events and the snapshots no event announces into one time-ordered list.

    Args:
        events: Event dicts in time order (already filtered).
        snapshots: Snapshot dicts.

    Returns:
        Rows: the event dicts, plus a ``snapshot.created`` row for each snapshot
        without its own event, each with ``index`` (position in the session, or None).
    """
    announced = {
        e["data"].get("snapshot_id") for e in events if e.get("event_type") == "snapshot.created"
    }
    rows = [dict(e) for e in events]
    for snap in snapshots:
        stamp = snapshot_ns(snap)
        if snap.get("snapshot_id") in announced or stamp is None:
            continue
        rows.append(
            {
                "timestamp_ns": stamp,
                "layer": "agent",
                "event_type": "snapshot.created",
                "data": {
                    "snapshot_id": snap.get("snapshot_id"),
                    "description": snap.get("description", ""),
                },
                "index": None,
            }
        )
    rows.sort(key=lambda r: r.get("timestamp_ns") or 0)
    return rows


def render_show(console: Console, rows: Sequence[dict[str, Any]], start_ns: int) -> None:
    """Print the timeline of events, snapshots marked with ``◆``.

    Args:
        console: Where to print.
        rows: From :func:`timeline_rows`.
        start_ns: The session start, for the offset column.
    """
    cells: list[list[str]] = []
    styles: list[str | None] = []
    with progress(len(rows), "Formatting events") as advance:
        for row in rows:
            is_snap = row.get("event_type") == "snapshot.created"
            index = row.get("index")
            cells.append(
                [
                    "" if index is None else str(index),
                    wall_time(row.get("timestamp_ns")),
                    offset(row.get("timestamp_ns"), start_ns),
                    str(row.get("layer") or ""),
                    (SNAPSHOT_MARK + " " if is_snap else "") + str(row.get("event_type") or ""),
                    summarize(row),
                ]
            )
            styles.append("bold yellow" if is_snap else _LAYER_STYLE.get(str(row.get("layer"))))
            advance(1)
    print_table(
        console,
        ["#", "TIME", "OFFSET", "LAYER", "TYPE", "DETAILS"],
        cells,
        styles=["dim", None, "dim", None, None, None],
        row_styles=styles,
    )


def render_snapshots(console: Console, snapshots: Sequence[dict[str, Any]]) -> None:
    """Print one line per snapshot.

    Args:
        console: Where to print.
        snapshots: Snapshot dicts.
    """
    rows = [
        [
            str(s.get("snapshot_id", "")),
            wall_time(snapshot_ns(s)),
            str(s.get("agent_messages_count", len(s.get("agent_messages") or []))),
            str(s.get("events_since_last", "")),
            str(len(s.get("tools_loaded") or [])),
            short(s.get("description", ""), 80),
        ]
        for s in snapshots
    ]
    headers = ["ID", "TIME", "MESSAGES", "EVENTS_SINCE_LAST", "TOOLS", "DESCRIPTION"]
    print_table(console, headers, rows, styles=["bold yellow"])


_ENV = "env_vars_redacted"
_SKIP = {"agent_messages", "agent_messages_ref", "system_prompt", "agent_state", _ENV}


def render_snapshot(console: Console, snap: dict[str, Any], *, show_env: bool = False) -> None:
    """Print one snapshot in full: fields, system prompt, messages, then the environment.

    Args:
        console: Where to print.
        snap: The snapshot dict.
        show_env: Print every environment variable; by default one folded line says
            how many there are.
    """
    _render_snapshot_body(console, snap)
    env = snap.get(_ENV)
    if not isinstance(env, dict) or not env:
        return
    out = console.file
    if not show_env:
        out.write(f"\nenvironment: {len(env)} variables (--env shows them)\n")
        return
    out.write(f"\nenvironment ({len(env)} variables):\n")
    for name in sorted(env):
        out.write(f"{name}={env[name]}\n")


def _render_snapshot_body(console: Console, snap: dict[str, Any]) -> None:
    fields = [[k, _cell(v)] for k, v in snap.items() if k not in _SKIP]
    print_table(console, ["FIELD", "VALUE"], fields, title=f"Snapshot #{snap.get('snapshot_id')}")
    prompt = snap.get("system_prompt") or ""
    messages = snap.get("agent_messages") or []
    if console.is_terminal:
        if prompt:
            console.print(Panel(Text(str(prompt)), title="system prompt"))
        for i, msg in enumerate(messages):
            console.print(Panel(Text(message_text(msg)), title=f"message {i} ({_role(msg)})"))
        if snap.get("agent_state") is not None:
            console.print(Panel(Text(_pretty(snap["agent_state"])), title="agent state"))
        return
    out = console.file
    out.write(f"\nsystem prompt:\n{prompt}\n" if prompt else "")
    out.write(f"\nmessages ({len(messages)}):\n")
    for i, msg in enumerate(messages):
        body = message_text(msg).replace("\n", "\n    ")
        out.write(f"[{i}] {_role(msg)}: {body}\n")
    if snap.get("agent_state") is not None:
        out.write(f"\nagent state:\n{_pretty(snap['agent_state'])}\n")


def _role(msg: Any) -> str:
    return str(msg.get("role", "?")) if isinstance(msg, dict) else "?"


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
