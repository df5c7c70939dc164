"""Where two sessions first part ways: messages, tool calls and their arguments.

A session is reduced to its *steps*: the agent's ``message`` events and the
``tool.call`` events, in order. The first step that differs (another role or
content, another tool, other arguments, or one session ending early) is the
divergence; counts of everything else follow as a summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from devduck_otel.cli._format import short, summarize
from devduck_otel.replay._player import plain_messages

_STEP_TYPES = ("message", "tool.call")


def _step_key(event: dict[str, Any]) -> Any:
    data = event.get("data") or {}
    if event.get("event_type") == "tool.call":
        return ("tool.call", data.get("name"), data.get("args"))
    content = data.get("content", data.get("content_preview"))
    return ("message", data.get("role"), content)


def steps(events: Sequence[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Return ``(event index, event)`` for the events that make the conversation.

    Args:
        events: Event dicts in time order.

    Returns:
        The ``message`` and ``tool.call`` events with their positions.
    """
    return [(i, e) for i, e in enumerate(events) if e.get("event_type") in _STEP_TYPES]


def _describe(step: tuple[int, dict[str, Any]] | None) -> dict[str, Any] | None:
    if step is None:
        return None
    index, event = step
    return {
        "event_index": index,
        "event_type": event.get("event_type"),
        "summary": summarize(event),
        "data": event.get("data"),
    }


def _arg_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[Any]] | None:
    da, db = a.get("data") or {}, b.get("data") or {}
    if a.get("event_type") != "tool.call" or b.get("event_type") != "tool.call":
        return None
    if da.get("name") != db.get("name"):
        return None
    args_a, args_b = da.get("args"), db.get("args")
    if not isinstance(args_a, dict) or not isinstance(args_b, dict):
        return {"args": [args_a, args_b]}
    keys = sorted(set(args_a) | set(args_b))
    missing = object()
    diffs = {}
    for key in keys:
        va, vb = args_a.get(key, missing), args_b.get(key, missing)
        if va != vb:
            diffs[key] = [None if va is missing else va, None if vb is missing else vb]
    return diffs


def _counts(values: Sequence[Any], other: Sequence[Any]) -> dict[str, list[int]]:
    ca, cb = Counter(values), Counter(other)
    return {str(k): [ca[k], cb[k]] for k in sorted(set(ca) | set(cb), key=str) if ca[k] != cb[k]}


def _tools(events: Sequence[dict[str, Any]]) -> list[Any]:
    return [(e.get("data") or {}).get("name") for e in events if e.get("event_type") == "tool.call"]


def _final_messages(snapshots: Sequence[dict[str, Any]]) -> list[Any]:
    """The last snapshot's messages (no copies: a reference session shares them)."""
    return list(snapshots[-1].get("agent_messages") or []) if snapshots else []


def _first_message_difference(a: list[Any], b: list[Any]) -> int | None:
    """The first message whose role or content differ, one pair at a time.

    Ids such as Strands' ``tracking_id`` differ in every run and are no difference.
    """
    for i, (ma, mb) in enumerate(zip(a, b, strict=False)):
        if ma is not mb and ma != mb and plain_messages([ma]) != plain_messages([mb]):
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def compare(
    a: tuple[Sequence[dict[str, Any]], Sequence[dict[str, Any]], dict[str, Any]],
    b: tuple[Sequence[dict[str, Any]], Sequence[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """Compare two sessions given as ``(events, snapshots, metadata)``.

    Args:
        a: The first session.
        b: The second session.

    Returns:
        ``identical``, ``common_steps``, ``first_difference`` (the two differing
        steps, and ``args`` differences for calls to the same tool, or None) and
        ``summary`` (counts that differ).
    """
    (ev_a, sn_a, md_a), (ev_b, sn_b, md_b) = a, b
    st_a, st_b = steps(ev_a), steps(ev_b)
    common = 0
    while common < min(len(st_a), len(st_b)) and _step_key(st_a[common][1]) == _step_key(
        st_b[common][1]
    ):
        common += 1
    first = None
    if common < max(len(st_a), len(st_b)):
        sa = st_a[common] if common < len(st_a) else None
        sb = st_b[common] if common < len(st_b) else None
        first = {"step": common, "a": _describe(sa), "b": _describe(sb)}
        if sa is not None and sb is not None:
            first["args"] = _arg_diff(sa[1], sb[1])
    msgs_a, msgs_b = _final_messages(sn_a), _final_messages(sn_b)
    summary = {
        "steps": [len(st_a), len(st_b)],
        "events": [len(ev_a), len(ev_b)],
        "snapshots": [len(sn_a), len(sn_b)],
        "duration_seconds": [md_a.get("duration_seconds"), md_b.get("duration_seconds")],
        "event_types": _counts(
            [e.get("event_type") for e in ev_a], [e.get("event_type") for e in ev_b]
        ),
        "tool_calls": _counts(_tools(ev_a), _tools(ev_b)),
        "final_messages": [len(msgs_a), len(msgs_b)],
        "final_messages_first_difference": _first_message_difference(msgs_a, msgs_b),
    }
    identical = (
        first is None
        and not summary["event_types"]
        and summary["final_messages_first_difference"] is None
    )
    return {
        "identical": identical,
        "common_steps": common,
        "first_difference": first,
        "summary": summary,
    }


def render_diff(console: Console, result: dict[str, Any], names: tuple[str, str]) -> None:
    """Print a comparison made by :func:`compare`.

    Args:
        console: Where to print.
        result: The comparison.
        names: The two sessions' names, for the labels.
    """
    name_a, name_b = names

    def say(text: str, style: str = "") -> None:
        if console.is_terminal:
            console.print(Text(text, style=style), highlight=False)
        else:
            console.file.write(f"{text}\n")

    first = result["first_difference"]
    if result["identical"]:
        say(
            f"The sessions do not differ in messages or tool calls ({result['common_steps']} steps)."
        )
    elif first is None:
        say(f"Same {result['common_steps']} messages and tool calls; other events differ.")
    else:
        say(
            f"Sessions first differ at step {first['step']} (after {result['common_steps']} common steps):",
            "bold",
        )
        for label, side in ((name_a, first["a"]), (name_b, first["b"])):
            text = (
                "(no more steps)"
                if side is None
                else f"event #{side['event_index']} {side['event_type']}: {side['summary']}"
            )
            say(f"  {label}: {text}", "red" if label == name_a else "green")
        for key, (va, vb) in (first.get("args") or {}).items():
            say(f"    argument {key}: {short(va, 60)} != {short(vb, 60)}")
    s = result["summary"]
    say("Summary (A / B):", "bold")
    for label, key in (
        ("steps", "steps"),
        ("events", "events"),
        ("snapshots", "snapshots"),
        ("duration (s)", "duration_seconds"),
        ("final messages", "final_messages"),
    ):
        va, vb = s[key]
        say(f"  {label}: {va} / {vb}")
    if s["final_messages_first_difference"] is not None:
        say(
            f"  final snapshots' messages first differ at message {s['final_messages_first_difference']}"
        )
    for title, key in (("event type", "event_types"), ("tool", "tool_calls")):
        for name, (va, vb) in s[key].items():
            say(f"  {title} {name}: {va} / {vb}")
