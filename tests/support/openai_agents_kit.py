"""What the OpenAI Agents SDK tests share: real tools, an agent, the SDK loop fixture."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from agents import Agent, function_tool
from agents.models.interface import Model
from opentelemetry.sdk.trace import ReadableSpan

from tests.support import kit_tools

read_note = function_tool(kit_tools.read_note)
fetch = function_tool(kit_tools.fetch)
explode = function_tool(kit_tools.explode)
TOOLS = [read_note, fetch, explode]


@pytest.fixture
def close_sdk_loop() -> Iterator[None]:
    """Close the default event loop ``Runner.run_sync`` leaves open for reuse."""
    yield
    policy = asyncio.get_event_loop_policy()
    try:
        loop = policy.get_event_loop()
    except RuntimeError:
        return
    loop.close()
    policy.set_event_loop(None)


@pytest.fixture
def process_wide_off() -> Iterator[None]:
    """Switch ``instrument("openai-agents")`` off again after the test."""
    yield
    import devduck_otel

    devduck_otel.uninstrument("openai-agents")


def make_agent(model: Model, **kwargs: Any) -> Agent:
    """The test agent ``helper`` with the three tools (``kwargs`` override)."""
    options: dict[str, Any] = {
        "name": "helper",
        "instructions": "You are terse.",
        "model": model,
        "tools": list(TOOLS),
    }
    options.update(kwargs)
    return Agent(**options)


def run_streamed(agent: Agent, text: str) -> Any:
    """``Runner.run_streamed(agent, text)`` with its events drained; return the result."""
    from agents import Runner

    async def run() -> Any:
        result = Runner.run_streamed(agent, text)
        async for _ in result.stream_events():
            pass
        return result

    return asyncio.run(run())


def user(text: str) -> Any:
    """A user input item."""
    return {"role": "user", "content": text}


def parent_name(span: ReadableSpan, spans: list[ReadableSpan]) -> str | None:
    """The name of ``span``'s parent among ``spans``."""
    if span.parent is None:
        return None
    by_id = {s.context.span_id: s.name for s in spans}
    return by_id.get(span.parent.span_id)
