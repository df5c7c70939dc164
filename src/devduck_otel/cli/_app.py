"""The ``devduck-otel`` commands (typer).

Each command loads what it needs, then hands the printing to ``_tables``, ``_diff``
or ``_viewer``. Problems the user can fix raise :class:`CliError`; ``main`` turns
them into one line on stderr.
"""

from __future__ import annotations

import importlib
import webbrowser
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from devduck_otel.cli import _tables
from devduck_otel.cli._diff import compare, render_diff
from devduck_otel.cli._output import loading, print_json, stdout_console
from devduck_otel.cli._replay import replay_command, steps_command
from devduck_otel.cli._session import (
    CliError,
    open_session,
    session_events,
    session_metadata,
    session_snapshots,
)
from devduck_otel.cli._spans import session_spans
from devduck_otel.cli._viewer import build_payload, write_html

app = typer.Typer(
    name="devduck-otel",
    help="Inspect, compare and view devduck-otel session recordings.",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


app.command("steps")(steps_command)
app.command("replay")(replay_command)


class Layer(str, Enum):
    """The three recording layers."""

    sys = "sys"
    tool = "tool"
    agent = "agent"


SessionArg = Annotated[
    Path,
    typer.Argument(help="A session ZIP written by devduck-otel (or devduck).", show_default=False),
]
JsonOpt = Annotated[
    bool,
    # A flag: no metavar, or the help shows `--json <bool>` as if it took a value.
    typer.Option("--json", help="Print JSON for programs instead of a table.", metavar=""),
]


def _load(path: Path) -> Any:
    with loading(path):
        return open_session(path)


@app.command("list")
def list_command(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Folder to list. Default: DEVDUCK_RECORDINGS_DIR, else the temp folder."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the session ZIPs in the recordings folder, newest first."""
    from devduck_otel.session._loader import list_sessions

    if directory is not None and not directory.is_dir():
        raise CliError(f"no such folder: {directory}")
    try:
        sessions = list_sessions(directory)
    except OSError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        print_json(sessions)
        return
    if not sessions:
        from devduck_otel_exporter_zip import recordings_dir

        typer.echo(f"No session ZIPs in {recordings_dir(directory)}", err=True)
        return
    _tables.render_list(stdout_console(), sessions)


@app.command("show")
def show_command(
    session: SessionArg,
    layer: Annotated[
        list[Layer] | None, typer.Option("--layer", "-l", help="Only this layer (repeatable).")
    ] = None,
    event_type: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help="Only this event type, e.g. tool.call (repeatable)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Show at most N events.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the timeline of events, with the snapshots marked."""
    loaded = _load(session)
    events = session_events(loaded)
    start = next((e["timestamp_ns"] for e in events if isinstance(e.get("timestamp_ns"), int)), 0)
    for i, event in enumerate(events):
        event["index"] = i
    layers = {item.value for item in layer or []}
    types = set(event_type or [])
    chosen = [
        e
        for e in events
        if (not layers or e.get("layer") in layers) and (not types or e.get("event_type") in types)
    ]
    snapshots = (
        session_snapshots(loaded)
        if (not layers or "agent" in layers) and (not types or "snapshot.created" in types)
        else []
    )
    rows = _tables.timeline_rows(chosen, snapshots)[:limit]
    if as_json:
        print_json(rows)
        return
    _tables.render_show(stdout_console(), rows, start)


@app.command("snapshots")
def snapshots_command(session: SessionArg, as_json: JsonOpt = False) -> None:
    """List a session's snapshots."""
    snaps = session_snapshots(_load(session))
    if as_json:
        print_json([{k: v for k, v in s.items() if k != "agent_messages"} for s in snaps])
        return
    _tables.render_snapshots(stdout_console(), snaps)


@app.command("snapshot")
def snapshot_command(
    session: SessionArg,
    snapshot_id: Annotated[
        int, typer.Argument(metavar="N", help="The snapshot id (from 1).", show_default=False)
    ],
    as_json: JsonOpt = False,
    show_env: Annotated[
        bool,
        typer.Option(
            "--env", help="Print every environment variable (folded by default).", metavar=""
        ),
    ] = False,
) -> None:
    """Show one snapshot in full: fields, system prompt, messages, then the environment."""
    snaps = session_snapshots(_load(session))
    found = [s for s in snaps if s.get("snapshot_id") == snapshot_id]
    if not found:
        known = ", ".join(str(s.get("snapshot_id")) for s in snaps) or "none"
        raise CliError(f"{session} has no snapshot {snapshot_id} (snapshots: {known})")
    if as_json:
        print_json(found[0])
        return
    _tables.render_snapshot(stdout_console(), found[0], show_env=show_env)


@app.command("view")
def view_command(
    session: SessionArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The HTML file. Default: next to the ZIP, .html."),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in the web browser.")
    ] = False,
) -> None:
    """Write the session as one self-contained HTML timeline."""
    loaded = _load(session)
    events = session_events(loaded)
    payload = build_payload(
        events, session_snapshots(loaded), session_spans(session, events), session_metadata(loaded)
    )
    target = output if output is not None else session.with_suffix(".html")
    if not target.parent.is_dir():
        raise CliError(f"no such folder: {target.parent}")
    try:
        written = write_html(payload, target)
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}") from exc
    typer.echo(str(written))
    if open_browser:
        webbrowser.open(written.resolve().as_uri())


@app.command("diff")
def diff_command(a: SessionArg, b: SessionArg, as_json: JsonOpt = False) -> None:
    """Show where two sessions first differ (messages, tool calls, arguments), then a summary."""
    first, second = _load(a), _load(b)
    result = compare(
        (session_events(first), session_snapshots(first), session_metadata(first)),
        (session_events(second), session_snapshots(second), session_metadata(second)),
    )
    if as_json:
        print_json({"a": str(a), "b": str(b), **result})
        return
    render_diff(stdout_console(), result, ("A", "B"))


@app.command("recover")
def recover_command(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Folder with journals. Default: the recordings folder.", show_default=False
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn journals left by a crashed recording into session ZIPs, and print their paths."""
    from devduck_otel_exporter_zip import recordings_dir, recover_journals

    if directory is not None and not directory.is_dir():
        raise CliError(f"no such folder: {directory}")
    paths = [str(p) for p in recover_journals(directory)]
    if as_json:
        print_json(paths)
        return
    if not paths:
        typer.echo(f"Nothing to recover in {recordings_dir(directory)}", err=True)
    for path in paths:
        typer.echo(path)


_PROTOCOL_NAMES = {"grpc": "OTLP/gRPC", "http/protobuf": "OTLP/HTTP"}


@app.command("push")
def push_command(
    session: SessionArg,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint", help="OTLP endpoint URL. Default: the OTEL_EXPORTER_OTLP_* settings."
        ),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            help="grpc or http/protobuf. Default: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "
            "OTEL_EXPORTER_OTLP_PROTOCOL, then grpc (as the live OTLP exporter).",
        ),
    ] = None,
) -> None:
    """Send a recorded session's spans to an OTLP collector (Jaeger, Phoenix, ...)."""
    if not session.exists():
        raise CliError(f"no such session file: {session}")
    try:
        push = importlib.import_module("devduck_otel.tracing._push")
    except ImportError as exc:
        raise CliError("push is not available in this installation") from exc
    try:
        chosen, url = push.push_target(endpoint=endpoint, protocol=protocol)
        sent = push.push_session(session, endpoint=endpoint, protocol=protocol)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot push {session}: {exc}") from exc
    typer.echo(f"sent {sent} spans to {url} over {_PROTOCOL_NAMES[chosen]}")
