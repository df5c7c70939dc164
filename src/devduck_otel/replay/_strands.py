"""Replay for Strands agents, through Strands' own extension points.

The agent's model is swapped for :class:`ReplayModel` (a ``strands.models.Model``
that plays recorded responses and hands live calls to the original model), and a hook
provider replaces the tool Strands is about to run with one that returns the recorded
result (``BeforeToolCallEvent.selected_tool``, which Strands lets hooks replace).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncGenerator
from typing import Any

from strands.hooks import BeforeToolCallEvent, HookRegistry
from strands.models import Model
from strands.types._events import ToolResultEvent
from strands.types.tools import AgentTool

from devduck_otel.replay._player import Player, ReplayStopped
from devduck_otel.replay._steps import Step


def model_request(messages: Any, tool_specs: Any, system_prompt: Any) -> dict[str, Any]:
    """The part of a Strands model request replay compares."""
    return {
        "messages": copy.deepcopy(list(messages or [])),
        "system_prompt": system_prompt,
        "tools": [{"name": s.get("name")} for s in tool_specs or []],
    }


def response_message(step: Step) -> dict[str, Any]:
    """The assistant message a model step returns (an override text becomes one)."""
    response = step.response
    if isinstance(response, str):
        return {"role": "assistant", "content": [{"text": response}]}
    message = response.get("message") if isinstance(response, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise ValueError(f"step {step.number} (model {step.name}) holds no assistant message")
    return message


def stream_events(message: dict[str, Any], stop_reason: str, usage: Any) -> list[dict[str, Any]]:
    """The Strands stream events that rebuild ``message``."""
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    for block in message["content"]:
        events.extend(_block_events(block))
    events.append({"messageStop": {"stopReason": stop_reason}})
    usage = usage if isinstance(usage, dict) else {}
    counts = {k: int(usage.get(k) or 0) for k in ("inputTokens", "outputTokens", "totalTokens")}
    events.append({"metadata": {"usage": counts, "metrics": {"latencyMs": 0}}})
    return events


def _block_events(block: dict[str, Any]) -> list[dict[str, Any]]:
    if "toolUse" in block:
        use = block["toolUse"]
        start = {"toolUse": {"name": use["name"], "toolUseId": use["toolUseId"]}}
        delta: dict[str, Any] = {"toolUse": {"input": json.dumps(use.get("input", {}))}}
    elif "reasoningContent" in block:
        start = {}
        delta = {"reasoningContent": {"text": block["reasoningContent"]["reasoningText"]["text"]}}
    elif "text" in block:
        start, delta = {}, {"text": block["text"]}
    else:
        return []
    return [
        {"contentBlockStart": {"start": start}},
        {"contentBlockDelta": {"delta": delta}},
        {"contentBlockStop": {}},
    ]


class ReplayModel(Model):
    """A Strands model that plays the recorded model steps; live calls go to ``inner``.

    Args:
        inner: The agent's own model (used for live steps).
        player: The replay's player.
    """

    def __init__(self, inner: Model, player: Player) -> None:
        self.inner = inner
        self.player = player

    def update_config(self, **model_config: Any) -> None:
        """Update the inner model's config."""
        self.inner.update_config(**model_config)

    def get_config(self) -> Any:
        """Return the inner model's config (so the recorded model id stays the same)."""
        return self.inner.get_config()

    @property
    def config(self) -> Any:
        """The inner model's ``config``."""
        return getattr(self.inner, "config", self.inner.get_config())

    def structured_output(
        self, output_model: Any, prompt: Any, system_prompt: Any = None, **kwargs: Any
    ) -> Any:
        """Structured output is not replayed: it goes to the inner model."""
        return self.inner.structured_output(output_model, prompt, system_prompt, **kwargs)

    async def stream(
        self,
        messages: Any,
        tool_specs: Any = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[Any, None]:
        """Yield the recorded response of the next model step (or stream live)."""
        info = self.get_config()
        model_id = info.get("model_id") if isinstance(info, dict) else None
        name = str(model_id or "model")
        step = self.player.take("model", name, model_request(messages, tool_specs, system_prompt))
        if step is None:
            async for event in self.inner.stream(messages, tool_specs, system_prompt, **kwargs):
                yield event
            return
        if step.error is not None:
            raise RuntimeError(f"recorded model error: {step.error}")
        response = step.response if isinstance(step.response, dict) else {}
        message = response_message(step)
        stop = str(response.get("stop_reason") or _stop_reason(message))
        for recorded in stream_events(message, stop, response.get("usage")):
            yield recorded


def _stop_reason(message: dict[str, Any]) -> str:
    uses = any("toolUse" in b for b in message["content"] if isinstance(b, dict))
    return "tool_use" if uses else "end_turn"


class _RecordedTool(AgentTool):
    """A tool that returns one recorded result."""

    def __init__(self, original: AgentTool | None, name: str, step: Step) -> None:
        super().__init__()
        self._original, self._name, self._step = original, name, step

    @property
    def tool_name(self) -> str:
        return self._name

    @property
    def tool_spec(self) -> Any:
        if self._original is not None:
            return self._original.tool_spec
        return {"name": self._name, "description": "recorded", "inputSchema": {"json": {}}}

    @property
    def tool_type(self) -> str:
        return "replay"

    async def stream(self, tool_use: Any, invocation_state: dict[str, Any], **kwargs: Any) -> Any:
        result: Any = tool_result(self._step, str(tool_use.get("toolUseId")))
        yield ToolResultEvent(result)


def tool_result(step: Step, tool_use_id: str) -> dict[str, Any]:
    """The Strands ``ToolResult`` of a recorded (or overridden) tool step."""
    content = step.response
    if isinstance(content, str):
        content = [{"text": content}]
    elif not (isinstance(content, list) and all(isinstance(b, dict) for b in content)):
        content = [{"json": content}]
    status = "error" if step.error is not None else "success"
    if step.error is not None and not content:
        content = [{"text": step.error}]
    return {"toolUseId": tool_use_id, "status": status, "content": content}


class ReplayTools:
    """A Strands ``HookProvider`` that serves tool calls from the record.

    Args:
        player: The replay's player.
    """

    def __init__(self, player: Player) -> None:
        self.player: Player | None = player

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Subscribe to ``BeforeToolCallEvent``."""
        registry.add_callback(BeforeToolCallEvent, self.before_tool)

    def before_tool(self, event: BeforeToolCallEvent) -> None:
        """Replace the tool with its recorded result (unless the step runs live)."""
        player = self.player
        if player is None:
            return
        use = event.tool_use
        name = str(use.get("name"))
        try:
            step = player.take("tool", name, use.get("input") or {})
        except ReplayStopped as stop:  # Strands turns tool errors into results: cancel
            event.cancel_tool = f"replay stopped: {stop.divergence.field} differs"
            return
        if step is not None:
            event.selected_tool = _RecordedTool(event.selected_tool, name, step)
