"""Replay for OpenAI Agents SDK agents, through the SDK's own ``Model`` and tool interfaces.

The agent's model is swapped for :class:`ReplayAgentsModel` (an SDK ``Model`` that
plays the recorded responses and hands live calls to the agent's own model), and each
function tool for a copy whose ``on_invoke_tool`` returns the recorded result (what
the model saw, a handled tool error's message included); both go back afterwards.

Example:
    >>> restore = install(agent, player)  # doctest: +SKIP
    >>> restore()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable
from typing import Any

from agents import FunctionTool, ModelResponse, Usage
from agents.items import TResponseOutputItem
from agents.models.interface import Model
from agents.tracing import generation_span
from pydantic import TypeAdapter

from devduck_otel.integrations._openai_agents_data import compact, plain_items
from devduck_otel.replay._player import Player
from devduck_otel.replay._steps import Step

_OUTPUT = TypeAdapter(TResponseOutputItem)


def output_items(step: Step) -> list[Any]:
    """The output items a recorded model step returns (an override text becomes a message)."""
    response = step.response
    if isinstance(response, str):
        content = [{"type": "output_text", "text": response, "annotations": []}]
        items: Any = [
            {"id": "msg_override", "type": "message", "role": "assistant", "status": "completed"}
            | {"content": content}
        ]
    else:
        items = response.get("content") if isinstance(response, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"step {step.number} (model {step.name}) holds no output items")
    # Recorded from a full dump: fields left unset then are ``None`` here, and must stay unset.
    return [_OUTPUT.validate_python(compact(item)) for item in items]


class ReplayAgentsModel(Model):
    """An SDK model that plays the recorded model steps; live calls go to ``inner``.

    Args:
        inner: The agent's own model (for live steps), or ``None`` when it is a name.
        name: The model name the steps were recorded under.
        player: The replay's player.
    """

    def __init__(self, inner: Model | None, name: str, player: Player) -> None:
        self.inner = inner
        self.model = name
        self.player = player

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        """Return the recorded response of the next model step (or call the model live)."""
        call = inspect.signature(Model.get_response).bind(self, *args, **kwargs).arguments
        items = plain_items(call["input"])
        step = self.player.take("model", self.model, {"messages": items})
        if step is None:
            if self.inner is None:
                raise RuntimeError(
                    f"no live model to go on with: the agent's model is {self.model!r}"
                )
            return await self.inner.get_response(*args, **kwargs)
        if step.error is not None:
            raise RuntimeError(f"recorded model error: {step.error}")
        content = call["tracing"].include_data()
        with generation_span(model=self.model, input=items if content else None) as span:
            output = output_items(step)
            if content:
                span.span_data.output = [item.model_dump(exclude_unset=True) for item in output]
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        """Streamed runs are not replayed (``session.replay`` runs ``Runner.run_sync``)."""
        raise NotImplementedError("replay serves Runner.run / run_sync, not run_streamed")


def _recorded_tool(tool: FunctionTool, player: Player) -> FunctionTool:
    live = tool.on_invoke_tool

    async def invoke(context: Any, arguments: str) -> Any:
        try:
            args = json.loads(arguments or "{}")
        except ValueError:
            args = {"arguments": arguments}
        step = player.take("tool", tool.name, args if isinstance(args, dict) else {})
        if step is None:
            return await live(context, arguments)
        return step.response

    return dataclasses.replace(tool, on_invoke_tool=invoke)


def install(agent: Any, player: Player) -> Callable[[], None]:
    """Slot the player into ``agent`` (model and function tools); return what undoes it."""
    model, tools = agent.model, agent.tools
    inner = model if isinstance(model, Model) else None
    name = str(model if isinstance(model, str) else getattr(model, "model", None) or "model")
    agent.model = ReplayAgentsModel(inner, name, player)
    agent.tools = [_recorded_tool(t, player) if isinstance(t, FunctionTool) else t for t in tools]

    def restore() -> None:
        agent.model, agent.tools = model, tools

    return restore
