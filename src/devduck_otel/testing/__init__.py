"""Helpers for examples and tests of agents recorded with devduck-otel.

Example:
    >>> from strands import Agent
    >>> from devduck_otel.testing import ScriptedModel
    >>> agent = Agent(model=ScriptedModel(["hello"]), callback_handler=None)  # doctest: +SKIP
    >>> str(agent("hi")).strip()  # doctest: +SKIP
    'hello'
"""

from __future__ import annotations

from devduck_otel.testing._models import ModelRequest, ScriptedModel, Turn, text_turn, tool_turn
from devduck_otel.testing._replay import assert_replays

__all__ = [
    "ModelRequest",
    "assert_replays",
    "ScriptedModel",
    "text_turn",
    "tool_turn",
    "Turn",
]
