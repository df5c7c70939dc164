"""Bookkeeping of a LangGraph run for the callback handler: runs, spans, parents.

LangChain calls a handler from whatever thread runs the node or tool, so every table
here is behind one lock, and a span is made current only when it ends in the context
it started in.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from devduck_otel._guard import guard
from devduck_otel.capture._genai import text_preview
from devduck_otel.integrations import _langgraph_data as data
from devduck_otel.integrations._base import Invocation
from devduck_otel.integrations._langgraph import GraphRecord


@dataclass
class OpenRun:
    """A devduck span of one LangChain run, and what its end needs."""

    span: Span
    root: UUID
    started: float = field(default_factory=time.monotonic)
    token: contextvars.Token[otel_context.Context] | None = None
    context: otel_context.Context | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class GraphRun:
    """One run of the graph: its invocation, and the super-step it is in."""

    inv: Invocation
    root: UUID
    thread_id: str | None
    step: int = 0
    first_step: int = 0
    nodes: list[str] = field(default_factory=list)


def open_run_span(span: Span, root: UUID, *, current: bool) -> OpenRun:
    """Wrap ``span`` for the run under ``root``; with ``current``, make it the current span."""
    opened = OpenRun(span, root)
    if current:
        opened.context = trace.set_span_in_context(span)
        opened.token = otel_context.attach(opened.context)
    return opened


def close_run_span(opened: OpenRun) -> None:
    """Detach (only in the context it was attached in) and end the span."""
    if opened.token is not None and otel_context.get_current() is opened.context:
        otel_context.detach(opened.token)
    with guard("ending a span"):
        opened.span.end()


@contextmanager
def under(span: Span) -> Iterator[None]:
    """Make ``span`` current for the ``with`` block (snapshots then carry its ids)."""
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        otel_context.detach(token)


class RunTable:
    """The runs of one graph in flight: graph runs, each LangChain run's parent, open spans."""

    def __init__(self, record: GraphRecord) -> None:
        self.record = record
        self._lock = threading.Lock()
        self._runs: dict[UUID, GraphRun] = {}
        self._root_of: dict[UUID, UUID] = {}
        self._parent: dict[UUID, UUID | None] = {}
        self._open: dict[UUID, OpenRun] = {}

    def _run_of(self, run_id: UUID) -> GraphRun | None:
        with self._lock:
            root = self._root_of.get(run_id)
            return self._runs.get(root) if root is not None else None

    def _join(self, run_id: UUID, parent_run_id: UUID | None) -> GraphRun | None:
        """Register a run under its parent; return its graph run (``None``: not ours)."""
        with self._lock:
            root = self._root_of.get(parent_run_id) if parent_run_id is not None else None
            if root is None:
                return None
            self._root_of[run_id] = root
            self._parent[run_id] = parent_run_id
            return self._runs.get(root)

    def _parent_span(self, run_id: UUID) -> Span | None:
        with self._lock:
            current: UUID | None = self._parent.get(run_id)
            for _ in range(256):
                if current is None:
                    return None
                if current in self._open:
                    return self._open[current].span
                current = self._parent.get(current)
        return None

    def _forget_all(self, root: UUID) -> None:
        """Drop what is left of the graph run ``root``; end its spans whose end never came."""
        with self._lock:
            self._runs.pop(root, None)
            left = [run_id for run_id, of in self._root_of.items() if of == root]
            dangling = [self._open.pop(run_id) for run_id in left if run_id in self._open]
            for run_id in left:
                self._root_of.pop(run_id, None)
                self._parent.pop(run_id, None)
        for opened in dangling:
            opened.span.set_attribute("devduck.incomplete", True)
            with guard("ending a span"):
                opened.span.end()

    def _forget(self, run_id: UUID) -> OpenRun | None:
        with self._lock:
            self._root_of.pop(run_id, None)
            self._parent.pop(run_id, None)
            return self._open.pop(run_id, None)

    def _start_span(self, run: GraphRun, run_id: UUID, name: str, attributes: Any) -> OpenRun:
        parent = self._parent_span(run_id) or run.inv.span
        span = run.inv.recorder.tracer.start_span(
            name, context=trace.set_span_in_context(parent), attributes=attributes
        )
        opened = open_run_span(span, self._root_of[run_id], current=True)
        with self._lock:
            self._open[run_id] = opened
        return opened


def is_interrupt(error: BaseException) -> bool:
    """Whether ``error`` ends a run early without failing it.

    LangGraph's interrupts and ``Command`` bubbles (``GraphBubbleUp``), and
    ``GeneratorExit``: the caller closed the stream before its end.
    """
    if isinstance(error, GeneratorExit):
        return True
    return any(c.__name__ == "GraphBubbleUp" for c in type(error).__mro__)


def query_text(inputs: Any) -> str:
    """The text of a run's input: its last message's content, else the input."""
    if isinstance(inputs, dict) and isinstance(inputs.get(data.MESSAGES_KEY), list):
        messages = inputs[data.MESSAGES_KEY]
        if messages:
            last = messages[-1]
            content = getattr(last, "content", None)
            if content is None and isinstance(last, (tuple, list)) and len(last) == 2:
                content = last[1]
            return text_preview(content if content is not None else last, limit=10_000)
    return text_preview(inputs, limit=10_000)


def reply_text(outputs: Any) -> str:
    if isinstance(outputs, dict) and isinstance(outputs.get(data.MESSAGES_KEY), list):
        messages = outputs[data.MESSAGES_KEY]
        if messages:
            return text_preview(getattr(messages[-1], "content", messages[-1]), limit=10_000)
    return "" if outputs is None else text_preview(outputs, limit=10_000)
