"""Framework integrations: one small adapter module per framework.

Example:
    >>> from devduck_otel.integrations import adapter_for
    >>> adapter_for(my_agent).tool_names()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from devduck_otel.integrations._base import AgentAdapter
from devduck_otel.integrations._generic import GenericAdapter

__all__ = ["AgentAdapter", "adapter_for"]


def adapter_for(agent: Any) -> AgentAdapter:
    """Return the adapter for ``agent``.

    Args:
        agent: A framework agent, or any object with a ``messages`` list.

    Returns:
        The adapter that reads, restores and instruments it.

    Raises:
        TypeError: The object is no agent devduck-otel knows how to handle.
    """
    if GenericAdapter.accepts(agent):
        return GenericAdapter(agent)
    raise TypeError(
        f"cannot record {type(agent).__name__}: an agent needs a `messages` list "
        "(and a call, run or invoke method to be instrumented)"
    )
