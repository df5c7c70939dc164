"""A scripted OpenAI Agents SDK ``Model`` that stands in for the LLM in tests (no network).

Each ``get_response`` plays the next scripted turn, records the request it received,
and wraps itself in a ``generation_span`` with the request's items and its reply, as
the SDK's own chat-completions model does.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from agents import ModelResponse, Usage
from agents.models.interface import Model
from agents.tracing import generation_span
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

Turn = str | tuple[str, dict[str, Any]]
"""A scripted reply: text, or ``(tool_name, args)`` for a function call."""


@dataclass(frozen=True)
class AgentsRequest:
    """What the model received on one call (deep copies, items as JSON dicts)."""

    instructions: str | None
    items: list[Any]
    tool_names: list[str]


def _as_items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return [i.model_dump(exclude_unset=True) if hasattr(i, "model_dump") else i for i in value]


class ScriptedAgentsModel(Model):
    """Plays scripted turns; ``requests`` holds every request it received."""

    def __init__(self, turns: list[Turn], model: str = "scripted-1") -> None:
        self.turns = list(turns)
        self.model = model
        self.requests: list[AgentsRequest] = []

    def _reply(self, number: int) -> Any:
        turn = self.turns.pop(0)
        if isinstance(turn, tuple):
            name, args = turn
            return ResponseFunctionToolCall(
                type="function_call",
                call_id=f"call_{number}",
                name=name,
                arguments=json.dumps(args),
                id=f"fc_{number}",
                status="completed",
            )
        return ResponseOutputMessage(
            id=f"msg_{number}",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=turn, annotations=[])],
        )

    async def get_response(
        self,
        system_instructions: Any,
        input: Any,
        model_settings: Any,
        tools: Any,
        output_schema: Any,
        handoffs: Any,
        tracing: Any,
        **kwargs: Any,
    ) -> ModelResponse:
        """Return the next scripted turn as a ``ModelResponse``."""
        items = copy.deepcopy(_as_items(input))
        self.requests.append(AgentsRequest(system_instructions, items, [t.name for t in tools]))
        with generation_span(model=self.model, input=items) as span:
            output = self._reply(len(self.requests))
            usage = Usage(requests=1, input_tokens=10, output_tokens=5, total_tokens=15)
            span.span_data.output = [output.model_dump()]
            span.span_data.usage = {"input_tokens": 10, "output_tokens": 5}
        return ModelResponse(output=[output], usage=usage, response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        """Streaming is not scripted."""
        raise NotImplementedError
