"""``devduck-otel steps`` and ``devduck-otel replay``: a recording's steps, run again.

``replay --check`` exits 1 when the agent diverges, so a recorded incident becomes a
CI check.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from devduck_otel.cli._session import CliError, open_session
from devduck_otel.replay._player import ReplayedError
from devduck_otel.replay._steps import MissingStepsError, Step

_PREVIEW = 80

SessionArg = Annotated[Path, typer.Argument(help="A session ZIP.", show_default=False)]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 3] + "..."


def step_line(step: Step) -> str:
    """One printed line for a step: number, kind, name, request and response previews."""
    tail = f"error: {step.error}" if step.error else f"-> {_short(step.response)}"
    return f"{step.number:>3}  {step.kind:<5}  {step.name}  {_short(step.request)}  {tail}"


def steps_command(session: SessionArg) -> None:
    """Print the session's steps (model calls, tool calls, HTTP exchanges) in time order."""
    steps = open_session(session).steps
    if not steps:
        typer.echo("no steps (no whole model calls, tool calls or HTTP exchanges recorded)")
    for step in steps:
        typer.echo(step_line(step))


def load_factory(spec: str) -> Callable[[], Any]:
    """Import ``MODULE:FACTORY`` (the current directory is importable).

    Raises:
        CliError: The spec is malformed, or the module or factory is missing.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise CliError(f"--agent must be MODULE:FACTORY, not {spec!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:
        raise CliError(f"cannot import {module_name}: {exc}") from exc
    except AttributeError as exc:
        raise CliError(f"{module_name} has no {attr}") from exc
    if not callable(factory):
        raise CliError(f"{spec} is not callable")
    return factory  # type: ignore[no-any-return]


def replay_command(
    session: SessionArg,
    agent: Annotated[
        str, typer.Option("--agent", help="MODULE:FACTORY that builds a fresh agent.")
    ],
    until: Annotated[
        int | None, typer.Option("--until", help="Serve steps 1..N, then run live.")
    ] = None,
    override: Annotated[
        str | None, typer.Option("--override", help="JSON: what step N returns instead.")
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 on divergence.")] = False,
) -> None:
    """Run the session again on a fresh agent, serving every step from the record."""
    loaded = open_session(session)
    factory = load_factory(agent)
    value = None
    if override is not None:
        try:
            value = json.loads(override)
        except json.JSONDecodeError as exc:
            raise CliError(f"--override is not JSON: {exc}") from exc
    try:
        result = loaded.replay(
            factory(), until=until, override=value, on_step=lambda s: typer.echo(step_line(s))
        )
    except (MissingStepsError, ValueError, TypeError, ReplayedError) as exc:
        raise CliError(str(exc)) from exc
    if result.divergence is not None:
        typer.echo(f"diverged at {result.divergence}")
    else:
        typer.echo(f"replayed {_steps(result.steps_replayed)}, no divergence")
    if result.steps_live:
        typer.echo(f"{_steps(result.steps_live)} ran live")
    if result.session_path:
        typer.echo(f"recorded as {result.session_path}")
    if check and result.diverged:
        raise typer.Exit(1)


def _steps(count: int) -> str:
    return "1 step" if count == 1 else f"{count} steps"
