"""Every span ends and every call is recorded: half-used generators, hostile objects."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncGenerator, Generator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import devduck_otel
from tests.support.recording import joined_memory_exporter

CLEANED: list[str] = []


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """An application provider with an in-memory exporter that the recorder joins."""
    exporter = joined_memory_exporter()
    CLEANED.clear()
    return exporter


@devduck_otel.tool
def count_to(n: int) -> Generator[int, None, None]:
    """A generator tool with its own clean-up."""
    try:
        yield from range(n)
    finally:
        CLEANED.append("sync")


@devduck_otel.tool
async def acount_to(n: int) -> AsyncGenerator[int, None]:
    """An async generator tool with its own clean-up."""
    try:
        for i in range(n):
            yield i
    finally:
        CLEANED.append("async")


def _session() -> devduck_otel.LoadedSession:
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)


def _tool_spans(spans: InMemorySpanExporter) -> list[Any]:
    return [s for s in spans.get_finished_spans() if s.name.startswith("execute_tool")]


def test_dropped_broken_and_closed_generators_end_their_spans(
    spans: InMemorySpanExporter,
) -> None:
    """A generator tool dropped, broken out of or closed still ends and records its result."""
    assert list(count_to(2)) == [0, 1]
    for _ in count_to(5):
        break
    dropped = count_to(5)
    next(dropped)
    del dropped
    gc.collect()
    closed = count_to(5)
    next(closed)
    next(closed)
    closed.close()
    assert len(_tool_spans(spans)) == 4
    assert CLEANED == ["sync"] * 4
    results = [e["data"]["result"] for e in _session().get_events_by_type("tool.result")]
    assert results == [[0, 1], [0], [0], [0, 1]]


def test_async_generators_broken_out_of_or_aclosed_end_their_spans(
    spans: InMemorySpanExporter,
) -> None:
    """An async generator tool broken out of or aclose()d ends its span with its items."""

    async def run() -> None:
        assert [i async for i in acount_to(2)] == [0, 1]
        async for _ in acount_to(5):
            break
        closing = acount_to(5)
        await closing.__anext__()
        await closing.aclose()

    asyncio.run(run())
    assert len(_tool_spans(spans)) == 3
    assert CLEANED == ["async"] * 3
    results = sorted(e["data"]["result"] for e in _session().get_events_by_type("tool.result"))
    assert results == [[0], [0], [0, 1]]


class _Raises:
    """An object every attribute read of which raises."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name} here")


class _PropertyAgent:
    """An agent whose optional properties raise."""

    messages = [{"role": "user", "content": [{"text": "hi"}]}]

    @property
    def system_prompt(self) -> str:
        raise RuntimeError("prompt broke")

    @property
    def model(self) -> Any:
        raise RuntimeError("model broke")


class _MessageAgent:
    """An agent whose message object's __getattr__ raises."""

    messages = [_Raises()]


@devduck_otel.tool
def echo(value: Any) -> str:
    """Return a constant."""
    return "ok"


def test_snapshot_never_raises_on_hostile_agents(spans: InMemorySpanExporter) -> None:
    """Raising properties and messages give a snapshot with notes, never an exception."""
    assert devduck_otel.snapshot(_PropertyAgent(), "props") == 1
    assert devduck_otel.snapshot(_MessageAgent(), "message") == 2
    first, second = _session().snapshots
    assert first.agent_messages == [{"role": "user", "content": [{"text": "hi"}]}]
    assert any("system_prompt left out" in note for note in first.notes)
    [message] = second.agent_messages
    assert message["reason"] == "encoding it raised RuntimeError: no model_dump here"


def test_hostile_arguments_still_give_a_tool_call(spans: InMemorySpanExporter) -> None:
    """Arguments that raise or hold a lone surrogate are recorded as placeholders saying why."""
    assert echo(_Raises()) == "ok"
    assert echo("report-\udcff.txt") == "ok"
    assert echo({"k\udcff": 1}) == "ok"
    calls = [e["data"]["args"]["value"] for e in _session().get_events_by_type("tool.call")]
    assert len(calls) == 3
    assert calls[0]["reason"].startswith("encoding it raised RuntimeError")
    assert calls[1] == {
        "__devduck__": "repr",
        "repr": repr("report-\udcff.txt"),
        "reason": "text with a lone surrogate is not valid UTF-8",
    }
    assert calls[2] == {"k\\udcff": 1}
