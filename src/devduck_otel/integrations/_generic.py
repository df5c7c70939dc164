"""Adapter for any agent object with a ``messages`` list (and optionally a call method)."""

from __future__ import annotations

from typing import Any

from devduck_otel.integrations._base import AgentAdapter


class GenericAdapter:
    """Reads and restores any object with a ``messages`` list."""

    framework = "generic"

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    @staticmethod
    def accepts(agent: Any) -> bool:
        """Return whether ``agent`` has a ``messages`` list."""
        return isinstance(getattr(agent, "messages", None), list)

    def messages(self) -> list[Any]:
        """Return the live message list."""
        value = getattr(self.agent, "messages", None)
        return value if isinstance(value, list) else []

    def system_prompt(self) -> str | None:
        """Return ``agent.system_prompt`` when it is a string."""
        value = getattr(self.agent, "system_prompt", None)
        return value if isinstance(value, str) else None

    def tool_names(self) -> list[str]:
        """Return ``agent.tool_names`` (or the names of ``agent.tools``)."""
        names = getattr(self.agent, "tool_names", None)
        if names is None:
            tools = getattr(self.agent, "tools", None) or []
            names = [getattr(t, "__name__", getattr(t, "name", str(t))) for t in tools]
        return [str(n) for n in names]

    def model_info(self) -> dict[str, str | None]:
        """Return what the agent says of its model."""
        model = getattr(self.agent, "model", None)
        if model is None:
            return {"type": None, "model_id": None, "provider": None}
        if isinstance(model, str):
            return {"type": "str", "model_id": model, "provider": None}
        model_id = getattr(model, "model_id", None)
        config = getattr(model, "config", None)
        if model_id is None and isinstance(config, dict):
            model_id = config.get("model_id")
        return {
            "type": type(model).__name__,
            "model_id": None if model_id is None else str(model_id),
            "provider": getattr(model, "provider", None),
        }

    def state(self) -> Any:
        """Return ``agent.state`` or ``None``."""
        return getattr(self.agent, "state", None)

    def restore(self, *, messages: list[Any], system_prompt: str | None, state: Any) -> None:
        """Set messages, system prompt and state on the agent."""
        self.agent.messages = messages
        if system_prompt is not None and hasattr(self.agent, "system_prompt"):
            self.agent.system_prompt = system_prompt
        if state is not None and hasattr(self.agent, "state"):
            self.agent.state = state

    def invoke(self, query: str) -> Any:
        """Call the agent (``agent(query)``, or its ``run``/``invoke`` method)."""
        for name in ("__call__", "run", "invoke"):
            method = getattr(self.agent, name, None)
            if callable(method) and (name != "__call__" or callable(self.agent)):
                return method(query)
        raise TypeError(f"{type(self.agent).__name__} has no __call__, run or invoke method")

    def instrument(self) -> None:
        """Generic agents are instrumented by wrapping their call (see integrations)."""

    def uninstrument(self) -> None:
        """Nothing to remove for the plain adapter."""


def _check(adapter: AgentAdapter) -> AgentAdapter:
    return adapter
