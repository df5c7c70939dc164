"""What every framework integration provides: one small adapter class per framework.

``devduck_otel.integrations.adapter_for(agent)`` picks the adapter; snapshots, resume
and ``instrument(agent)`` only talk to agents through it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class AgentAdapter(Protocol):
    """How devduck-otel reads, restores, runs and instruments one kind of agent."""

    framework: str
    """Short framework name, for example ``"strands"`` or ``"generic"``."""

    agent: Any
    """The agent object itself."""

    def messages(self) -> list[Any]:
        """Return the agent's live message list (not a copy)."""
        ...

    def system_prompt(self) -> str | None:
        """Return the system prompt, or ``None``."""
        ...

    def tool_names(self) -> list[str]:
        """Return the names of the tools the agent has loaded."""
        ...

    def model_info(self) -> dict[str, str | None]:
        """Return ``{"type", "model_id", "provider"}`` (values may be ``None``)."""
        ...

    def state(self) -> Any:
        """Return the agent's extra state (``agent.state``), or ``None``."""
        ...

    def restore(self, *, messages: list[Any], system_prompt: str | None, state: Any) -> None:
        """Replace the agent's messages, system prompt and state (already deep copies)."""
        ...

    def invoke(self, query: str) -> Any:
        """Run one turn of the agent with ``query`` and return its result."""
        ...

    def instrument(self) -> None:
        """Install the hooks that record this agent (idempotent)."""
        ...

    def uninstrument(self) -> None:
        """Remove what ``instrument`` installed (idempotent)."""
        ...
