"""An OpenAI Agents SDK agent as its run's spans show it, for ``instrument("openai-agents")``.

Process-wide recording has no ``agents.Agent`` object (the SDK's only process-wide
extension point is its trace processor), so its snapshots are of an
:class:`ObservedAgent` built from span data alone:

* name, tool names and handoff names: the run's first agent span
  (``AgentSpanData``, filled in by the SDK before its first model call);
* instructions and the model's name: that agent's first model call, a response span
  (``response.instructions``, ``response.model``) or a generation span (a leading
  ``system`` input message, ``model``);
* model settings: a generation span's ``model_config`` only (the SDK's
  chat-completions model puts the run's ``ModelSettings`` there). A response reports
  the values the API used, its defaults included, not what the agent asked for, so
  from a response span there are none (a resume keeps the agent's own);
* items: the input items of that call (before) and of the run's last exchange with
  its output items (after).

Example:
    >>> observed = ObservedAgent(name="helper", tools=["read_note"])
    >>> observed.instructions is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ObservedAgent:
    """An ``agents.Agent`` as seen in its run's spans (tools and handoffs by name)."""

    name: str
    instructions: str | None = None
    tools: list[str] = field(default_factory=list)
    handoffs: list[str] = field(default_factory=list)
    model: str | None = None
    model_settings: Any = None
    """An ``agents.ModelSettings`` from a generation span's ``model_config``, or ``None``."""


def observe(agent_data: Any, model_data: Any, model: str | None, inputs: list[Any]) -> Any:
    """Return ``(ObservedAgent, run input items)`` from an agent span and its model call.

    Args:
        agent_data: The ``AgentSpanData`` of the agent making the call, or ``None``.
        model_data: The ``GenerationSpanData`` or ``ResponseSpanData`` of the call.
        model: The model name the call reported.
        inputs: The call's input items, as plain JSON.
    """
    instructions: str | None = None
    if model_data.type == "generation":
        first = inputs[0] if inputs else None
        if isinstance(first, dict) and first.get("role") == "system":
            content = first.get("content")
            instructions = content if isinstance(content, str) else None
            inputs = inputs[1:]
        config = model_data.model_config
        settings = _model_settings(config) if isinstance(config, dict) else None
    else:
        found = getattr(model_data.response, "instructions", None)
        instructions = found if isinstance(found, str) else None
        settings = None
    observed = ObservedAgent(
        name=str(getattr(agent_data, "name", "") or "agent"),
        instructions=instructions,
        tools=[str(t) for t in (getattr(agent_data, "tools", None) or [])],
        handoffs=[str(h) for h in (getattr(agent_data, "handoffs", None) or [])],
        model=model,
        model_settings=settings,
    )
    return observed, inputs


def _model_settings(values: dict[str, Any]) -> Any:
    """An ``agents.ModelSettings`` holding the values that are its fields."""
    from agents import ModelSettings

    known = {k: v for k, v in values.items() if k in ModelSettings.__dataclass_fields__}
    return ModelSettings(**known)
