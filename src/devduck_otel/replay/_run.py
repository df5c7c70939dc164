"""``session.replay(agent)``: re-issue the recorded invocations, serving steps from the record.

The agent's own code runs; model responses, tool results and HTTP responses (requests,
httpx) come from the recording, so a full replay costs no tokens and touches nothing. ``until=N`` serves steps 1..N
and lets the rest run live (a fork), recorded as a new session linked to the old one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devduck_otel.capture import _httpwire
from devduck_otel.integrations import adapter_for
from devduck_otel.integrations._langgraph import is_compiled_graph
from devduck_otel.integrations._openai_agents import is_openai_agent
from devduck_otel.integrations._strands import is_strands_agent
from devduck_otel.redaction import Redactor
from devduck_otel.replay import _hook
from devduck_otel.replay._player import (
    Divergence,
    OnDivergence,
    Player,
    ReplayStopped,
    normalize,
    plain_messages,
)
from devduck_otel.replay._steps import MissingStepsError, Step, require_steps, unrecorded_http

if TYPE_CHECKING:
    from devduck_otel.session._loader import LoadedSession

_BEFORE = re.compile(r"before invocation (\d+)$")


@dataclass(frozen=True)
class ReplayResult:
    """What a replay did.

    Attributes:
        diverged: Whether the agent parted from the recording.
        divergence: Where, or ``None``.
        steps_replayed: Steps served from the record.
        steps_live: Steps that ran live (after ``until``, or after a divergence).
        agent_result: The last invocation's result (``None`` when stopped).
        session_path: The ZIP of the replay's own recording, or ``None``.
    """

    diverged: bool
    divergence: Divergence | None
    steps_replayed: int
    steps_live: int
    agent_result: Any
    session_path: str | None


def invocation_queries(session: LoadedSession) -> list[str]:
    """The queries of the recorded invocations, in order (from the before-snapshots)."""
    found: list[tuple[int, str]] = []
    for snap in session.snapshots:
        match = _BEFORE.search(str(snap.get("description") or ""))
        if match:
            found.append((int(match.group(1)), str(snap.get("last_query") or "")))
    return [query for _, query in sorted(found)]


def _check_fork(steps: list[Step], until: int | None, override: Any) -> None:
    if until is None:
        if override is not None:
            raise ValueError("override= needs until=N: the step whose result it replaces")
        return
    if isinstance(until, bool) or not isinstance(until, int) or not 1 <= until <= len(steps):
        raise ValueError(f"until={until!r} is out of range: the session has steps 1..{len(steps)}")
    if override is None:
        return
    step = steps[until - 1]
    if step.kind == "http" and not isinstance(override, dict):
        raise ValueError(
            f"override for step {until} (http {step.name}) must be a response dict "
            f"(status, headers, body), not {type(override).__name__}"
        )
    if step.kind == "model" and not isinstance(override, str):
        raise ValueError(
            f"override for step {until} (model {step.name}) must be a response text (str), "
            f"not {type(override).__name__}"
        )
    if not isinstance(override, (str, int, float, bool, list, dict)):
        raise ValueError(
            f"override for step {until} ({step.kind} {step.name}) must be a JSON value, "
            f"not {type(override).__name__}"
        )


@contextmanager
def _installed(agent: Any, player: Player) -> Iterator[None]:
    """Slot the player in: the context the decorators read, and Strands' model and hooks."""
    token = _hook.PLAYER.set(player)
    _httpwire.attach()  # requests and httpx are served from the record too
    tools = original = None
    restore: Callable[[], None] | None = None
    if is_strands_agent(agent):
        from devduck_otel.replay._strands import ReplayModel, ReplayTools

        original, tools = agent.model, ReplayTools(player)
        agent.model = ReplayModel(original, player)
        agent.hooks.add_hook(tools)
    elif is_openai_agent(agent):
        from devduck_otel.replay._openai_agents import install

        restore = install(agent, player)
    elif is_compiled_graph(agent):
        from devduck_otel.replay._langgraph import install as install_graph

        restore = install_graph(agent, player)
    try:
        yield
    finally:
        _hook.PLAYER.reset(token)
        _httpwire.detach()
        if restore is not None:
            restore()
        if tools is not None:
            tools.player = None  # Strands has no API to remove a hook provider
            agent.model = original


@contextmanager
def _recording(session: LoadedSession, until: int | None, record: bool) -> Iterator[list[str]]:
    from devduck_otel import _api  # here: the API module imports the whole recorder

    paths: list[str] = []
    started = record and _api.current() is None
    if started:
        _api.start_recording(parent_session=session.session_id, parent_step=until)
    try:
        yield paths
    finally:
        if started:
            path = _api.stop_recording()
            if path:
                paths.append(path)


def _final_check(session: LoadedSession, adapter: Any, steps: list[Step]) -> Divergence | None:
    after = [
        s
        for s in session.snapshots
        if str(s.get("description") or "").startswith("after invocation")
    ]
    if not after:
        return None
    expected = plain_messages(normalize(after[-1].get("agent_messages") or []))
    actual = plain_messages(normalize(adapter.messages()))
    if expected == actual:
        return None
    return Divergence(len(steps), steps[-1].kind, "messages", expected, actual)


def replay(
    session: LoadedSession,
    agent: Any,
    *,
    until: int | None = None,
    override: Any = None,
    on_divergence: OnDivergence = "stop",
    record: bool = True,
    allow_pickle: bool = False,
    on_step: Callable[[Step], None] | None = None,
) -> ReplayResult:
    """Run the recorded invocations again on ``agent``, serving each step from the record.

    Args:
        session: The loaded session.
        agent: A fresh agent (a ``strands.Agent``, an ``agents.Agent``, a compiled
            LangGraph graph, or an object with a ``messages`` list whose model and tool
            calls are ``@llm`` / ``@tool`` functions).
        until: Serve steps 1..until from the record, then run live (a fork).
        override: What step ``until`` returns instead of its recorded result.
        on_divergence: ``"stop"`` (default) or ``"live"`` (run on live from there).
        record: Record the replay as a new session linked to this one.
        allow_pickle: Serve results recorded as pickled objects.
        on_step: Called with each step as it is served.

    Returns:
        The :class:`ReplayResult`.

    Raises:
        MissingStepsError: The session holds no whole model calls or no invocations.
        TypeError: The agent is of a framework replay does not know.
        ValueError: ``until`` out of range, an override of the wrong kind, or an HTTP
            step that cannot be served (recorded without bodies, or cut).
    """
    steps = require_steps(session.events)
    _check_fork(steps, until, override)
    queries = invocation_queries(session)
    if not queries:
        raise MissingStepsError("cannot replay: the session records no agent invocation")
    adapter = adapter_for(agent)
    player = Player(
        steps,
        until=until,
        override=override,
        on_divergence=on_divergence,
        allow_pickle=allow_pickle,
        redactor=Redactor.from_env(),
        unrecorded_http=unrecorded_http(session.events),
    )
    player.listener = on_step
    result: Any = None
    with _recording(session, until, record) as paths, _installed(agent, player):
        for query in queries:
            try:
                result = adapter.invoke(query)
            except ReplayStopped:
                result = None
            except Exception:
                if player.divergence is None:
                    raise
                result = None  # the framework wrapped the stop signal
            if player.fatal is not None or (
                player.divergence is not None and on_divergence == "stop"
            ):
                break
    if player.fatal is not None:  # even if the agent caught it
        raise player.fatal
    divergence = player.finish()
    if divergence is None and until is None:
        divergence = _final_check(session, adapter, steps)
    return ReplayResult(
        diverged=divergence is not None,
        divergence=divergence,
        steps_replayed=player.replayed,
        steps_live=player.live_count,
        agent_result=result,
        session_path=paths[0] if paths else None,
    )
