"""``devduck_otel.instrument(agent)``: the one line that records an existing agent.

It starts a recording when none runs, then hands the agent to its framework adapter
(``devduck_otel.integrations``): a ``strands.Agent`` gets a Strands hook provider, any
other object with a ``messages`` list and a ``__call__``/``run``/``invoke`` method
gets a per-instance wrapper around that call. Each invocation becomes an
``invoke_agent`` span with a snapshot before and after it.

Example:
    >>> import devduck_otel
    >>> from strands import Agent
    >>> agent = Agent(system_prompt="You are terse.")  # doctest: +SKIP
    >>> devduck_otel.instrument(agent)  # doctest: +SKIP
    >>> agent("What is 2 + 2?")  # doctest: +SKIP
    >>> path = devduck_otel.stop_recording()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from devduck_otel import _api
from devduck_otel.exceptions import RecordingStateError
from devduck_otel.integrations import adapter_for

PROCESS_WIDE: Final = "openai-agents"
"""The one string :func:`instrument` takes: every OpenAI Agents SDK run in the process."""

if TYPE_CHECKING:
    from devduck_otel._api import DisabledRecording
    from devduck_otel._recorder import Recorder

__all__ = ["instrument", "uninstrument"]


def instrument(
    agent: Any = None,
    *,
    session_id: str | None = None,
    capture_content: bool | None = None,
    sys_layer: bool | None = None,
    tracer_provider: Any = None,
) -> Recorder | DisabledRecording:
    """Record ``agent`` (and the process) from now on; start a recording if none runs.

    Calling it again on the same agent changes nothing. Without an agent it only makes
    sure a recording runs.

    Args:
        agent: A ``strands.Agent``, an ``agents.Agent``, a compiled LangGraph graph
            (its runs are recorded through a callback handler in ``graph.config``),
            ``"openai-agents"`` (every run of the OpenAI Agents SDK in the process,
            each with a snapshot before and after, taken from its spans), or any
            object with a ``messages`` list and a ``__call__``, ``run`` or ``invoke``
            method. ``None``: no agent.
        session_id: The id of the recording started here. Ignored when one already
            runs. Defaults to a unique ``session-YYYYMMDD-HHMMSS-xxxxxx``.
        capture_content: For the recording started here: send message and tool content
            to collectors. Defaults to ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``,
            then false.
        sys_layer: For the recording started here: capture file opens, processes and
            HTTP. Defaults to ``DEVDUCK_SYS_LAYER``, then true.
        tracer_provider: For the recording started here: an SDK TracerProvider to
            join. Defaults to the global one when the application set an SDK
            provider, else a private provider built from the ``OTEL_*`` variables.

    Returns:
        The running recording (a disabled one under ``OTEL_SDK_DISABLED=true``).

    Raises:
        TypeError: ``agent`` cannot be instrumented; the message says what it needs.
    """
    if isinstance(agent, str):
        from devduck_otel.integrations._openai_agents import set_every_run

        set_every_run(_process_wide(agent))
        agent = None
    adapter = adapter_for(agent) if agent is not None else None
    if adapter is not None:
        # Fail on an unusable agent before a recording is started for it.
        adapter.instrument()
    rec = _api.current()
    if rec is not None:
        return rec
    try:
        return _api.start_recording(
            session_id,
            capture_content=capture_content,
            sys_layer=sys_layer,
            tracer_provider=tracer_provider,
        )
    except RecordingStateError:
        # Another thread started one in between: record into it.
        running = _api.current()
        if running is None:
            raise
        return running


def uninstrument(agent: Any) -> None:
    """Stop recording ``agent``'s invocations (what :func:`instrument` installed goes).

    Args:
        agent: An agent passed to :func:`instrument` before; others are left alone.
            ``"openai-agents"``: stop snapshotting every SDK run in the process (the
            runs of agents instrumented one by one keep theirs, and the SDK's spans
            are still mirrored while a recording runs).

    Raises:
        TypeError: ``agent`` is no agent, or a string other than ``"openai-agents"``.
    """
    if isinstance(agent, str):
        from devduck_otel.integrations._openai_agents import set_every_run

        set_every_run(not _process_wide(agent))
        return
    adapter_for(agent).uninstrument()


def _process_wide(name: str) -> bool:
    """Return true for ``"openai-agents"``; any other string is a clear ``TypeError``."""
    if name != PROCESS_WIDE:
        raise TypeError(
            f"cannot instrument the string {name[:80]!r}: the one string instrument() and "
            f"uninstrument() take is {PROCESS_WIDE!r} (every OpenAI Agents SDK run in the process)"
        )
    return True
