"""The devduck-otel demo: record an agent, export, stop, load, and resume from snapshot 2.

Run it with ``make demo``. Everything runs locally: a scripted model, a loopback
HTTP server, files in a temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_agent import DemoAgent, demo_model, loopback_server, make_tools

import devduck_otel


def record(workdir: Path, base_url: str) -> str:
    """Run three turns of the demo agent under a recording; return the ZIP path."""
    agent = DemoAgent(make_tools(workdir, base_url), demo_model())
    rec = devduck_otel.instrument(agent)
    print(f"recording session {rec.session_id}")
    for query in (
        "What's the weather in Lisbon?",
        "Check my notes and remind me.",
        "Split 10 by 0.",
    ):
        print(f"  user: {query}\n  agent: {agent(query)}")
    devduck_otel.snapshot(agent, "after the demo", last_query="Split 10 by 0.")
    partial = devduck_otel.export_recording(str(workdir / "partial.zip"))
    path = devduck_otel.stop_recording()
    assert path is not None
    # partial.zip lives in the demo's temporary folder: say what it held, not where.
    # (Loaded after the stop, so its reading is not recorded in the sys layer.)
    print(f"exported without stopping: {devduck_otel.load_session(partial)}")
    print(f"stopped; session ZIP: {path}")
    return path


def summarize(path: str) -> None:
    """Print the loaded session, per layer and event type, and its snapshots."""
    session = devduck_otel.load_session(path)
    print(f"\nloaded: {session}")
    for layer in ("sys", "tool", "agent"):
        events = session.get_events_by_layer(layer)
        kinds = Counter(e["event_type"] for e in events)
        detail = ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items()))
        print(f"  {layer:5} {len(events):4} events: {detail}")
    failed = [e for e in session.get_events_by_type("tool.result") if e["data"].get("error")]
    for event in failed:
        print(f"  failed tool: {event['data']['name']}: {event['data']['error']}")
    for snap in session.snapshots:
        print(
            f"  snapshot {snap.snapshot_id}: {snap.description!r}, {snap.agent_messages_count} messages"
        )


def resume(path: str, workdir: Path, base_url: str) -> None:
    """Resume a fresh agent from snapshot 2 and show what was restored."""
    session = devduck_otel.load_session(path)
    fresh = DemoAgent(make_tools(workdir, base_url), demo_model())
    result = session.resume_from_snapshot(2, agent=fresh)
    print(
        f"\nresumed a fresh agent from snapshot 2: {result['messages_restored']} messages restored"
    )
    for message in fresh.messages:
        block = message["content"][0]
        if "toolUse" in block:
            text = f"toolUse {block['toolUse']['name']}({block['toolUse']['input']})"
        elif "toolResult" in block:
            text = (
                f"toolResult {block['toolResult']['status']}: {block['toolResult']['content'][0]}"
            )
        else:
            text = block.get("text", "")
        print(f"  {message['role']:9} {text[:100]}")
    print(f"  system prompt: {fresh.system_prompt!r}")


def replay_and_fork(path: str, workdir: Path, base_url: str) -> None:
    """Replay the session on a fresh agent (nothing runs), then fork it at step 1."""
    session = devduck_otel.load_session(path)
    print(f"\nthe session has {len(session.steps)} steps; replaying them:")
    fresh = DemoAgent(make_tools(workdir, base_url), demo_model())
    result = session.replay(fresh, on_step=lambda s: print(f"  served step {s.number} {s.name}"))
    print(f"replay diverged: {result.diverged}; recorded as {result.session_path}")
    forked = DemoAgent(make_tools(workdir, base_url), demo_model())
    fork = session.replay(forked, until=1, override={"city": "Lisbon", "sky": "stormy"})
    print(
        f"fork at step 1 (weather says stormy): {fork.steps_replayed} step served, "
        f"{fork.steps_live} live; parent {session.session_id} -> {fork.session_path}"
    )


def main() -> int:
    """Run the demo end to end."""
    with tempfile.TemporaryDirectory(prefix="devduck-demo-") as tmp, loopback_server() as url:
        workdir = Path(tmp)
        path = record(workdir, url)
        summarize(path)
        resume(path, workdir, url)
        replay_and_fork(path, workdir, url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
