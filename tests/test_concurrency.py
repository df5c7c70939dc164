"""Tool calls from many threads and asyncio tasks: every event, each under its caller."""

from __future__ import annotations

import asyncio
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from opentelemetry.instrumentation.threading import ThreadingInstrumentor

import devduck_otel
from devduck_otel import ContextThreadPoolExecutor, wrap_context

THREADS = 8
CALLS_PER_THREAD = 50
TASKS = 200


@pytest.fixture(autouse=True)
def threads_not_instrumented() -> Iterator[None]:
    """Run without the threading instrumentation (Strands turns it on process-wide)."""
    instrumentor = ThreadingInstrumentor()
    was_on = instrumentor.is_instrumented_by_opentelemetry
    if was_on:
        instrumentor.uninstrument()
    yield
    if was_on and not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
    elif not was_on and instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@devduck_otel.tool
def square(worker: int, i: int) -> int:
    """A sync tool."""
    return i * i


@devduck_otel.tool
def fan_out(worker: int) -> list[int]:
    """A tool that calls another tool on a different thread."""
    with ContextThreadPoolExecutor(max_workers=1) as pool:
        return [pool.submit(square, worker, i).result() for i in range(3)]


@devduck_otel.tool
async def inner(task: int) -> int:
    """An async tool called by another async tool."""
    await asyncio.sleep(0)
    return task + 1


@devduck_otel.tool
async def outer(agent_no: int, task: int) -> int:
    """An async tool that yields to the loop and calls a nested tool."""
    await asyncio.sleep(0)
    result = await inner(task)
    await asyncio.sleep(0)
    return result


def _stop_and_load() -> tuple[devduck_otel.LoadedSession, list[dict[str, Any]]]:
    path = devduck_otel.stop_recording()
    assert path is not None
    spans: list[dict[str, Any]] = []
    with zipfile.ZipFile(path) as zf:
        for line in zf.read("spans.otlp.jsonl").splitlines():
            for resource_spans in orjson.loads(line)["resourceSpans"]:
                for scope_spans in resource_spans["scopeSpans"]:
                    spans.extend(scope_spans["spans"])
    return devduck_otel.load_session(path), spans


def _agent_span_ids(session: devduck_otel.LoadedSession) -> dict[str, str]:
    """Map each agent's query to its invoke_agent span id."""
    return {
        e["data"]["content_preview"]: e["span_id"]
        for e in session.get_events_by_type("message")
        if e["data"]["role"] == "user"
    }


def _check_span_parents(events: list[dict[str, Any]], spans: list[dict[str, Any]]) -> None:
    """Every tool.call event's span is in spans.otlp.jsonl with the same parent."""
    parent_of = {s["spanId"]: s["parentSpanId"] for s in spans}
    for event in events:
        assert parent_of[event["span_id"]] == event["parent_span_id"]


def _run_threads(target: Any, count: int) -> None:
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_eight_threads_in_a_pool_record_every_event_under_the_agent() -> None:
    """400 tool calls from 8 pool threads at once: all recorded, each under the agent span."""
    devduck_otel.start_recording()
    barrier = threading.Barrier(THREADS)

    def work(worker: int) -> int:
        barrier.wait(timeout=10)  # all eight threads call tools at the same time
        return sum(square(worker, i) for i in range(CALLS_PER_THREAD))

    @devduck_otel.agent
    def crowd(query: str) -> int:
        with ContextThreadPoolExecutor(max_workers=THREADS) as pool:
            return sum(pool.map(work, range(THREADS)))

    expected = THREADS * sum(i * i for i in range(CALLS_PER_THREAD))
    assert crowd("crowd") == expected
    session, spans = _stop_and_load()
    calls = session.get_events_by_type("tool.call")
    results = session.get_events_by_type("tool.result")
    assert len(calls) == len(results) == THREADS * CALLS_PER_THREAD
    assert session.metadata["total_events"] == len(session.events)
    agent_span = _agent_span_ids(session)["crowd"]
    assert {e["parent_span_id"] for e in calls} == {agent_span}
    assert len({e["trace_id"] for e in calls + results}) == 1
    assert Counter(e["data"]["args"]["worker"] for e in calls) == dict.fromkeys(
        range(THREADS), CALLS_PER_THREAD
    )
    assert {e["span_id"] for e in calls} == {e["span_id"] for e in results}
    _check_span_parents(calls, spans)


def test_wrap_context_carries_the_agent_span_into_plain_threads() -> None:
    """Plain threads started with wrap_context(target) nest their tool spans under the agent."""
    devduck_otel.start_recording()

    def work(worker: int) -> None:
        for i in range(CALLS_PER_THREAD):
            square(worker, i)

    @devduck_otel.agent
    def spawner(query: str) -> str:
        _run_threads(wrap_context(work), THREADS)
        return "done"

    assert spawner("spawn") == "done"
    session, spans = _stop_and_load()
    calls = session.get_events_by_type("tool.call")
    assert len(calls) == len(session.get_events_by_type("tool.result")) == 400
    assert {e["parent_span_id"] for e in calls} == {_agent_span_ids(session)["spawn"]}
    _check_span_parents(calls, spans)


def test_tool_calling_a_tool_on_another_thread_is_its_parent() -> None:
    """A tool that runs a tool in a pool thread is that tool's parent span."""
    devduck_otel.start_recording()

    @devduck_otel.agent
    def boss(query: str) -> list[list[int]]:
        with ContextThreadPoolExecutor(max_workers=THREADS) as pool:
            return list(pool.map(fan_out, range(THREADS)))

    assert boss("boss") == [[0, 1, 4]] * THREADS
    session, spans = _stop_and_load()
    calls = session.get_events_by_type("tool.call")
    assert len(calls) == THREADS * 4
    outer_spans = {e["span_id"]: e for e in calls if e["data"]["name"] == "fan_out"}
    squares = [e for e in calls if e["data"]["name"] == "square"]
    assert len(outer_spans) == THREADS and len(squares) == THREADS * 3
    agent_span = _agent_span_ids(session)["boss"]
    assert {e["parent_span_id"] for e in outer_spans.values()} == {agent_span}
    for call in squares:
        caller = outer_spans[call["parent_span_id"]]
        assert caller["data"]["args"]["worker"] == call["data"]["args"]["worker"]
    _check_span_parents(calls, spans)


def test_wrapped_function_runs_in_several_threads_at_once() -> None:
    """One wrap_context function may run in many threads concurrently (no context clash)."""
    devduck_otel.start_recording()

    @devduck_otel.agent
    def shared(query: str) -> None:
        target = wrap_context(square)
        barrier = threading.Barrier(THREADS)

        def call(worker: int) -> None:
            barrier.wait(timeout=10)
            target(worker, worker)

        _run_threads(call, THREADS)

    shared("shared")
    session, _ = _stop_and_load()
    calls = session.get_events_by_type("tool.call")
    assert len(calls) == THREADS
    assert {e["parent_span_id"] for e in calls} == {_agent_span_ids(session)["shared"]}


def test_two_hundred_asyncio_tasks_keep_each_tool_under_its_caller() -> None:
    """asyncio.gather over 200 tool calls from 10 agents: each span sits under its caller."""
    devduck_otel.start_recording()
    agents = 10

    @devduck_otel.agent
    async def gatherer(query: str, agent_no: int) -> int:
        per_agent = TASKS // agents
        results = await asyncio.gather(*(outer(agent_no, t) for t in range(per_agent)))
        return sum(results)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(gatherer(f"agent-{n}", n) for n in range(agents))))

    per_agent = TASKS // agents
    assert asyncio.run(main()) == [sum(range(1, per_agent + 1))] * agents
    session, spans = _stop_and_load()
    calls = session.get_events_by_type("tool.call")
    results = session.get_events_by_type("tool.result")
    assert len(calls) == len(results) == 2 * TASKS
    agent_spans = _agent_span_ids(session)
    outers = {e["span_id"]: e for e in calls if e["data"]["name"] == "outer"}
    assert len(outers) == TASKS
    for call in outers.values():
        assert call["parent_span_id"] == agent_spans[f"agent-{call['data']['args']['agent_no']}"]
    inners = [e for e in calls if e["data"]["name"] == "inner"]
    assert len(inners) == TASKS
    for call in inners:
        assert (
            outers[call["parent_span_id"]]["data"]["args"]["task"] == call["data"]["args"]["task"]
        )
    _check_span_parents(calls, spans)


def test_threads_and_tasks_at_once_record_every_event() -> None:
    """8 threads and 200 asyncio tasks calling tools at the same time lose no event."""
    devduck_otel.start_recording()
    start = threading.Barrier(THREADS + 1)

    def work(worker: int) -> None:
        start.wait(timeout=10)
        for i in range(CALLS_PER_THREAD):
            square(worker, i)

    async def tasks() -> None:
        start.wait(timeout=10)
        await asyncio.gather(*(outer(0, t) for t in range(TASKS)))

    with ContextThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(work, n) for n in range(THREADS)]
        asyncio.run(tasks())
        for future in futures:
            future.result()
    session, _ = _stop_and_load()
    names = Counter(e["data"]["name"] for e in session.get_events_by_type("tool.call"))
    assert names == {"square": THREADS * CALLS_PER_THREAD, "outer": TASKS, "inner": TASKS}
    assert len(session.get_events_by_type("tool.result")) == sum(names.values())
    seqs = sorted(e["seq"] for e in session.events)
    assert seqs == list(range(1, len(session.events) + 1))


def test_threading_instrumentation_and_helpers_work_together() -> None:
    """With the threading instrumentation on, plain pools and the helpers both keep parents."""
    instrumentor = ThreadingInstrumentor()
    instrumentor.instrument()
    devduck_otel.start_recording()

    @devduck_otel.agent
    def both(query: str) -> None:
        with ThreadPoolExecutor(max_workers=THREADS) as plain:
            list(plain.map(square, range(THREADS), range(THREADS)))
        with ContextThreadPoolExecutor(max_workers=THREADS) as helper:
            list(helper.map(square, range(THREADS), range(THREADS)))

    both("both")
    session, _ = _stop_and_load()
    calls = session.get_events_by_type("tool.call")
    assert len(calls) == 2 * THREADS
    assert {e["parent_span_id"] for e in calls} == {_agent_span_ids(session)["both"]}
