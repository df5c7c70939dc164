"""A scripted LangChain chat model that stands in for the LLM in LangGraph examples and tests.

No network and no credentials: each call plays the next scripted turn and records the
request it received (messages as ``messages_to_dict`` dicts, and the tools bound with
``bind_tools``), so a test can compare "the next model request" of two graphs.

Example:
    >>> from devduck_otel.testing import ScriptedChatModel
    >>> model = ScriptedChatModel(turns=["hello"])
    >>> model.invoke("hi").content
    'hello'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, messages_to_dict
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

ChatTurn = str | tuple[str, dict[str, Any]] | list[tuple[str, dict[str, Any]]] | BaseMessage
"""One scripted reply: text, ``(tool, args)``, a list of them, or a whole message.

An exception instance is raised instead of answering.
"""


@dataclass(frozen=True)
class ChatRequest:
    """What the model received on one call."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]


def _reply(turn: Any, number: int) -> BaseMessage:
    if isinstance(turn, BaseException):
        raise turn
    if isinstance(turn, BaseMessage):
        return turn
    if isinstance(turn, str):
        return AIMessage(content=turn)
    calls = [turn] if isinstance(turn, tuple) else list(turn)
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": args, "id": f"call_{number}_{i}", "type": "tool_call"}
            for i, (name, args) in enumerate(calls)
        ],
    )


class ScriptedChatModel(BaseChatModel):
    """Plays ``turns`` in order; ``requests`` holds every request it received."""

    turns: list[Any] = Field(default_factory=list)
    requests: list[ChatRequest] = Field(default_factory=list)
    model: str = "scripted-chat-1"

    @property
    def _llm_type(self) -> str:
        return "scripted-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "scripted"
        return params

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Bind tools as OpenAI tool schemas (what the request then carries)."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.requests.append(
            ChatRequest(messages_to_dict(messages), list(kwargs.get("tools") or []))
        )
        if not self.turns:
            raise RuntimeError("ScriptedChatModel: no scripted turn left")
        message = _reply(self.turns.pop(0), len(self.requests))
        if isinstance(message, AIMessage) and message.usage_metadata is None:
            message.usage_metadata = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        return ChatResult(generations=[ChatGeneration(message=message)])
