"""What the Strands instrumentation tests share: tools, an in-memory provider, helpers.

The fixtures are registered for the whole suite through ``pytest_plugins`` in
``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from strands import Agent, tool

import devduck_otel
from devduck_otel.testing import ScriptedModel


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


@tool
def explode(reason: str) -> str:
    """Fail on purpose.

    Args:
        reason: Why.
    """
    raise ValueError(f"boom: {reason}")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """Spans of the test's own SDK provider, which the recording joins."""
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """A non-global SDK TracerProvider that keeps every span in memory."""
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    yield tp
    tp.shutdown()


def calc_agent(model: ScriptedModel, **kwargs: Any) -> Agent:
    """A Strands agent named ``calc`` with the ``add`` and ``explode`` tools."""
    return Agent(
        model=model,
        tools=[add, explode],
        system_prompt="You add numbers.",
        callback_handler=None,
        name="calc",
        **kwargs,
    )


def spans_named(exporter: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    """The finished spans whose name starts with ``prefix``."""
    return [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]


def stop_and_load() -> devduck_otel.LoadedSession:
    """Stop the recording and load its ZIP."""
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)
