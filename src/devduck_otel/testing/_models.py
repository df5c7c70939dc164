"""A scripted Strands ``Model`` that stands in for the LLM in examples and tests.

No network and no credentials: each call to ``stream`` plays the next scripted turn as the stream events Strands
expects, and records the request it received, so a test can compare "the next model
request" of two agents.

Example:
    >>> from strands import Agent
    >>> from devduck_otel.testing import ScriptedModel, tool_turn
    >>> model = ScriptedModel([tool_turn("add", {"a": 1, "b": 2}), "3"])
    >>> agent = Agent(model=model, tools=[add], callback_handler=None)  # doctest: +SKIP
    >>> str(agent("1 + 2?")).strip()  # doctest: +SKIP
    '3'
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any

try:
    from strands.models import Model
except ImportError:  # strands-agents is the optional `strands` extra
    Model = object  # type: ignore[misc,assignment]

Turn = str | dict[str, Any] | BaseException
"""One scripted reply: plain text, an assistant ``Message`` dict, or an error to raise."""


@dataclass(frozen=True)
class ModelRequest:
    """What the model received on one call (deep copies)."""

    messages: list[dict[str, Any]]
    system_prompt: str | None
    tool_names: list[str]
    tool_choice: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def text_turn(text: str) -> dict[str, Any]:
    """Return an assistant message holding ``text``."""
    return {"role": "assistant", "content": [{"text": text}]}


def tool_turn(
    name: str, tool_input: dict[str, Any], *, tool_use_id: str | None = None, text: str = ""
) -> dict[str, Any]:
    """Return an assistant message that asks for one tool call.

    Args:
        name: The tool to call.
        tool_input: Its arguments.
        tool_use_id: The call id (default ``call-<name>``).
        text: Optional text before the tool use.

    Returns:
        The assistant message.
    """
    content: list[dict[str, Any]] = [{"text": text}] if text else []
    call_id = tool_use_id or f"call-{name}"
    content.append({"toolUse": {"toolUseId": call_id, "name": name, "input": tool_input}})
    return {"role": "assistant", "content": content}


class ScriptedModel(Model):
    """Plays scripted turns; records every request.

    Needs strands-agents (``pip install "devduck-otel[strands]"``).

    Args:
        turns: The replies, in order. When they run out the model answers ``"done"``.
        model_id: Kept in ``config["model_id"]``, where Strands' own models keep it.
        input_tokens: Input tokens reported per call.
        output_tokens: Output tokens reported per call.
    """

    def __init__(
        self,
        turns: Sequence[Turn] = (),
        *,
        model_id: str = "scripted-model-1",
        input_tokens: int = 11,
        output_tokens: int = 7,
    ) -> None:
        if Model is object:
            raise ImportError(
                'ScriptedModel needs strands-agents: pip install "devduck-otel[strands]"'
            )
        self.config: dict[str, Any] = {"model_id": model_id, "context_window_limit": 200_000}
        self.turns: list[Turn] = list(turns)
        self.requests: list[ModelRequest] = []
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens

    def update_config(self, **model_config: Any) -> None:
        """Merge ``model_config`` into the config."""
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        """Return the config dict."""
        return self.config

    def structured_output(
        self, output_model: Any, prompt: Any, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Structured output is not scripted."""
        raise NotImplementedError("ScriptedModel does not script structured output")

    async def stream(
        self,
        messages: Any,
        tool_specs: Any = None,
        system_prompt: str | None = None,
        *,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> AsyncGenerator[Any, None]:
        """Record the request, then yield the next turn as Strands stream events."""
        self.requests.append(
            ModelRequest(
                messages=copy.deepcopy(list(messages)),
                system_prompt=system_prompt,
                tool_names=sorted(spec["name"] for spec in tool_specs or []),
                tool_choice=copy.deepcopy(tool_choice),
            )
        )
        turn: Turn = self.turns.pop(0) if self.turns else "done"
        if isinstance(turn, BaseException):
            raise turn
        message = text_turn(turn) if isinstance(turn, str) else turn
        for event in self._events(message):
            yield event

    def _events(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
        stop_reason = "end_turn"
        for block in message["content"]:
            if "toolUse" in block:
                stop_reason = "tool_use"
            events.extend(_block_events(block))
        events.append({"messageStop": {"stopReason": stop_reason}})
        usage = {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.input_tokens + self.output_tokens,
        }
        events.append({"metadata": {"usage": usage, "metrics": {"latencyMs": 1}}})
        return events


def _block_events(block: dict[str, Any]) -> list[dict[str, Any]]:
    if "toolUse" in block:
        use = block["toolUse"]
        start = {"toolUse": {"name": use["name"], "toolUseId": use["toolUseId"]}}
        delta: dict[str, Any] = {"toolUse": {"input": json.dumps(use["input"])}}
        return [
            {"contentBlockStart": {"start": start}},
            {"contentBlockDelta": {"delta": delta}},
            {"contentBlockStop": {}},
        ]
    if "reasoningContent" in block:
        reasoning = block["reasoningContent"]["reasoningText"]
        deltas = [{"reasoningContent": {"text": reasoning["text"]}}]
        if "signature" in reasoning:
            deltas.append({"reasoningContent": {"signature": reasoning["signature"]}})
        return [
            {"contentBlockStart": {"start": {}}},
            *({"contentBlockDelta": {"delta": d}} for d in deltas),
            {"contentBlockStop": {}},
        ]
    return [
        {"contentBlockStart": {"start": {}}},
        {"contentBlockDelta": {"delta": {"text": block["text"]}}},
        {"contentBlockStop": {}},
    ]
