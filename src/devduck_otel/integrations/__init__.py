"""Framework integrations: one small adapter module per framework.

The dispatch is the table :data:`ADAPTERS`, tried in order; the first adapter class
whose ``accepts(agent)`` is true wins. Supporting another framework (LangGraph, the
OpenAI Agents SDK, ...) is one module beside ``_strands.py`` holding an adapter class
(see :class:`AgentAdapter`) and one line in the table, above the generic fallback. An
adapter module imports its framework lazily, so this package imports without it.

Example:
    >>> from devduck_otel.integrations import adapter_for
    >>> adapter_for(my_agent).tool_names()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Final

from devduck_otel.integrations._base import AdapterType, AgentAdapter
from devduck_otel.integrations._generic import GenericAdapter
from devduck_otel.integrations._langgraph import LangGraphAdapter
from devduck_otel.integrations._openai_agents import OpenAIAgentsAdapter
from devduck_otel.integrations._strands import StrandsAdapter

__all__ = ["ADAPTERS", "AgentAdapter", "adapter_for"]

ADAPTERS: Final[tuple[AdapterType, ...]] = (
    StrandsAdapter,
    OpenAIAgentsAdapter,
    LangGraphAdapter,
    GenericAdapter,  # the fallback: any object with a `messages` list
)
"""Adapter classes, most specific first."""


def adapter_for(agent: Any) -> AgentAdapter:
    """Return the adapter for ``agent``.

    Args:
        agent: A framework agent, or any object with a ``messages`` list.

    Returns:
        The adapter that reads, restores and instruments it.

    Raises:
        TypeError: The object is no agent devduck-otel knows how to handle.
    """
    for adapter_type in ADAPTERS:
        if adapter_type.accepts(agent):
            return adapter_type(agent)
    raise TypeError(
        f"cannot record {type(agent).__name__}: an agent needs a `messages` list "
        "(and a __call__, run or invoke method to be instrumented), or must be an "
        "agent of a supported framework (strands.Agent, agents.Agent, a compiled "
        'LangGraph graph); instrument() also takes the string "openai-agents" '
        "(every OpenAI Agents SDK run in the process)"
    )
