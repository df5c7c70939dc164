"""Helpers for examples and tests of agents recorded with devduck-otel.

Example:
    >>> from strands import Agent
    >>> from devduck_otel.testing import ScriptedModel
    >>> agent = Agent(model=ScriptedModel(["hello"]), callback_handler=None)  # doctest: +SKIP
    >>> str(agent("hi")).strip()  # doctest: +SKIP
    'hello'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devduck_otel.testing._models import ModelRequest, ScriptedModel, Turn, text_turn, tool_turn
from devduck_otel.testing._replay import assert_replays

if TYPE_CHECKING:
    from devduck_otel.testing._chat_model import ChatRequest, ScriptedChatModel

__all__ = [
    "ChatRequest",
    "ModelRequest",
    "assert_replays",
    "ScriptedChatModel",
    "ScriptedModel",
    "text_turn",
    "tool_turn",
    "Turn",
]


def __getattr__(name: str) -> Any:
    """``ScriptedChatModel`` and ``ChatRequest`` import langchain-core only when asked for."""
    if name in ("ScriptedChatModel", "ChatRequest"):
        try:
            from devduck_otel.testing import _chat_model
        except ImportError as exc:
            raise ImportError(
                f'{name} needs langchain-core: pip install "devduck-otel[langgraph]"'
            ) from exc
        return getattr(_chat_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
