"""OpenAI Agents SDK integration: the adapter, and what ``instrument`` registers.

Recording goes through the SDK's public extension points only (no monkeypatching):

* a ``TracingProcessor`` (``agents.tracing.add_trace_processor``), registered once,
  that mirrors the SDK's spans as devduck OTel spans for every run in the process
  (``_openai_agents_processor``); the processors the user set up, the export to
  OpenAI's service among them, stay as they are;
* for ``instrument(agent)``, agent hooks (``agent.hooks``) wrapped around the ones the
  agent had (``_openai_agents_hooks``), on the agent and on the agents it hands off
  to: they give each run's input items, and the processor takes a snapshot before
  and after each ``Runner.run`` / ``run_sync`` / ``run_streamed`` of the agent;
* for ``instrument("openai-agents")``, the processor's ``every_run`` switch: the runs
  of every other agent are snapshotted from their spans alone, as an
  :class:`ObservedAgent` (``_openai_agents_observed``).

The SDK hands spans to processors only while its tracing is enabled: under
``OPENAI_AGENTS_DISABLE_TRACING=true``, ``set_tracing_disabled(True)`` or
``RunConfig(tracing_disabled=True)`` no processor sees a span, so nothing of the run
is recorded (``instrument`` warns about the first two). A missing OpenAI API key only
stops the SDK's own exporter; this processor records all the same.

Example:
    >>> import devduck_otel
    >>> from agents import Agent
    >>> agent = Agent(name="assistant")  # doctest: +SKIP
    >>> devduck_otel.instrument(agent)  # doctest: +SKIP
"""

from __future__ import annotations

import sys
import threading
import warnings
from typing import TYPE_CHECKING, Any, Final, cast

from devduck_otel.integrations import _openai_agents_hooks as hooks_of
from devduck_otel.integrations._openai_agents_data import plain_items
from devduck_otel.integrations._openai_agents_observed import ObservedAgent
from devduck_otel.integrations._openai_agents_processor import (
    ITEMS_ATTRIBUTE,
    DevduckTracingProcessor,
)

if TYPE_CHECKING:
    from agents.tracing import TracingProcessor

TESTED_VERSION: Final = "0.24.0"

_lock = threading.Lock()
_processor: DevduckTracingProcessor | None = None
_warned: set[str] = set()


def is_openai_agent(agent: Any) -> bool:
    """Return whether ``agent`` is an ``agents.Agent`` (importing ``agents`` only then)."""
    if not type(agent).__module__.startswith("agents."):
        return False
    module = sys.modules.get("agents.agent")
    agent_class = getattr(module, "Agent", None)
    return isinstance(agent_class, type) and isinstance(agent, agent_class)


def set_every_run(enabled: bool) -> None:
    """Snapshot every run in the process (``instrument("openai-agents")``), or stop."""
    if enabled:
        _check_version()
        register_processor().every_run = True
    elif _processor is not None:
        _processor.every_run = False


def _check_version() -> None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("openai-agents")
    except PackageNotFoundError:  # pragma: no cover - vendored copies
        return
    if found != TESTED_VERSION and found not in _warned:
        _warned.add(found)
        warnings.warn(
            f"devduck-otel: openai-agents {found} is untested (tested: {TESTED_VERSION}); "
            "recording goes on",
            UserWarning,
            stacklevel=3,
        )


def register_processor() -> DevduckTracingProcessor:
    """Add devduck's processor to the SDK's trace provider once and return it."""
    global _processor
    with _lock:
        if _processor is None:
            from agents.tracing import TracingProcessor, add_trace_processor

            # A real TracingProcessor subclass, built here so `agents` is imported lazily.
            kind = type("DevduckTracingProcessor", (DevduckTracingProcessor, TracingProcessor), {})
            _processor = kind()
            add_trace_processor(cast("TracingProcessor", _processor))
    _warn_if_disabled()
    return _processor


def _warn_if_disabled() -> None:
    """Warn when the SDK's tracing is off: then no processor sees a span of any run.

    The SDK's public ``create_trace`` answers with a no-op trace (whose ``export()`` is
    ``None``) exactly when tracing is disabled; the trace is never started, so no
    processor hears of it.
    """
    from agents.tracing import get_trace_provider

    if get_trace_provider().create_trace("devduck-otel probe").export() is None:
        warnings.warn(
            "devduck-otel: the OpenAI Agents SDK's tracing is disabled "
            "(OPENAI_AGENTS_DISABLE_TRACING or set_tracing_disabled): its runs "
            "reach no trace processor and are not recorded",
            UserWarning,
            stacklevel=4,
        )


def _with_handoff_agents(agent: Any) -> list[Any]:
    """``agent`` and the ``agents.Agent`` objects it can hand off to, transitively."""
    found: list[Any] = []
    pending = [agent]
    while pending:
        current = pending.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        pending.extend(h for h in getattr(current, "handoffs", []) if is_openai_agent(h))
    return found


class OpenAIAgentsAdapter:
    """Reads, restores and instruments an ``agents.Agent``.

    Its "messages" are the items of the agent's last snapshotted run: the run's input
    items followed by the output items of its last model reply. That is what
    ``Runner.run(agent, items + [new input])`` (or an SDK ``Session`` holding the
    items) needs to continue the conversation. It also reads the
    :class:`ObservedAgent` of a process-wide snapshot (tools and handoffs by name),
    which can be snapshotted but not run.
    """

    framework = "openai-agents"

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    @staticmethod
    def accepts(agent: Any) -> bool:
        """Return whether ``agent`` is an ``agents.Agent`` (or an observed one)."""
        return isinstance(agent, ObservedAgent) or is_openai_agent(agent)

    def messages(self) -> list[Any]:
        """Return the items of the agent's last snapshotted run (the live list)."""
        items = getattr(self.agent, ITEMS_ATTRIBUTE, None)
        if not isinstance(items, list):
            items = []
            setattr(self.agent, ITEMS_ATTRIBUTE, items)
        return items

    def system_prompt(self) -> str | None:
        """Return the agent's instructions when they are text."""
        instructions = self.agent.instructions
        return instructions if isinstance(instructions, str) else None

    def tool_names(self) -> list[str]:
        """Return the names of the agent's tools and handoffs."""
        names = [str(getattr(t, "name", t)) for t in self.agent.tools]
        for handoff in self.agent.handoffs:
            name = getattr(handoff, "name", None) or getattr(handoff, "agent_name", handoff)
            names.append(f"handoff:{name}")
        return names

    def model_info(self) -> dict[str, str | None]:
        """Return the model class (or ``str``), its name and the provider ``openai``."""
        model = self.agent.model
        model_id = model if isinstance(model, str) else getattr(model, "model", None)
        return {
            "type": type(model).__name__ if model is not None else None,
            "model_id": None if model_id is None else str(model_id),
            "provider": "openai",
        }

    def state(self) -> Any:
        """Return the agent's model settings as JSON."""
        settings = getattr(self.agent, "model_settings", None)
        to_json = getattr(settings, "to_json_dict", None)
        return {"model_settings": to_json()} if callable(to_json) else None

    def restore(self, *, messages: list[Any], system_prompt: str | None, state: Any) -> None:
        """Set the agent's items and instructions (model settings too, when recorded)."""
        setattr(self.agent, ITEMS_ATTRIBUTE, messages)
        if system_prompt is not None:
            self.agent.instructions = system_prompt
        settings = state.get("model_settings") if isinstance(state, dict) else None
        if isinstance(settings, dict):
            from agents import ModelSettings

            known = {k: v for k, v in settings.items() if k in ModelSettings.__dataclass_fields__}
            self.agent.model_settings = ModelSettings(**known)

    def invoke(self, query: str) -> Any:
        """Run one turn, ``Runner.run_sync(agent, items + [query])``; return its final output.

        The run is recorded (with its snapshots) even when the agent is not instrumented;
        afterwards the agent's items are the run's ``to_input_list()``.
        """
        from agents import Runner

        self._runnable()
        temporary = not isinstance(self.agent.hooks, hooks_of.DevduckAgentHooks)
        self.instrument()
        try:
            items = [*self.messages(), {"role": "user", "content": query}]
            result = Runner.run_sync(self.agent, items)
            setattr(self.agent, ITEMS_ATTRIBUTE, plain_items(result.to_input_list()))
            return result.final_output
        finally:
            if temporary:
                self.uninstrument()

    def instrument(self) -> None:
        """Register the processor; hook this agent and those it hands off to (idempotent)."""
        self._runnable()
        _check_version()
        processor = register_processor()
        for agent in _with_handoff_agents(self.agent):
            hooks_of.install(agent, processor)

    def _runnable(self) -> None:
        if isinstance(self.agent, ObservedAgent):
            raise TypeError(
                "an ObservedAgent (from a process-wide snapshot) cannot be run or "
                "instrumented: resume the snapshot into an agents.Agent"
            )

    def uninstrument(self) -> None:
        """Give the agent and those it hands off to their own hooks back (spans are still recorded)."""
        if isinstance(self.agent, ObservedAgent):
            return
        for agent in _with_handoff_agents(self.agent):
            hooks_of.remove(agent)
