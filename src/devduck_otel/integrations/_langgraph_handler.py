"""The LangChain callback handler that records a compiled LangGraph graph's runs.

Imported only by :mod:`devduck_otel.integrations._langgraph` once a graph is
instrumented, so ``langchain_core`` is needed only then. LangChain calls a handler
from whatever thread runs the node or tool, so every table here is behind one lock,
and a span is made current only when it ends in the context it started in.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Final
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager

from devduck_otel import _attributes as attr
from devduck_otel import _state
from devduck_otel._guard import guard
from devduck_otel.capture._genai import error_text, mark_error
from devduck_otel.integrations import _langgraph_data as data
from devduck_otel.integrations._base import begin_invocation, end_invocation, suppressed
from devduck_otel.integrations._langgraph import (
    GraphRecord,
    LangGraphAdapter,
    graph_name,
    has_checkpointer,
)
from devduck_otel.integrations._langgraph_calls import CallCallbacks
from devduck_otel.integrations._langgraph_runs import (
    GraphRun,
    close_run_span,
    is_interrupt,
    open_run_span,
    query_text,
    reply_text,
    under,
)

EVENT_NODE: Final = "graph.node"
_attach_lock = threading.Lock()


def attach(graph: Any, record: GraphRecord) -> None:
    """Add the record's handler (made on first use) to ``graph.config["callbacks"]``."""
    with _attach_lock:
        if record.handler is None:
            record.handler = DevduckGraphHandler(graph, record)
    add_handler(graph, record.handler)


def detach(graph: Any, record: GraphRecord) -> None:
    """Take the record's handler out of ``graph.config["callbacks"]``."""
    remove_handler(graph, record.handler)


def add_handler(graph: Any, handler: BaseCallbackHandler) -> None:
    """Add ``handler`` to ``graph.config["callbacks"]`` (inherited by every run), once."""
    with _attach_lock:
        config = dict(graph.config or {})
        callbacks = config.get("callbacks")
        if isinstance(callbacks, BaseCallbackManager):
            if handler in callbacks.handlers:
                return
            manager = callbacks.copy()
            manager.add_handler(handler, inherit=True)
            config["callbacks"] = manager
        else:
            present = list(callbacks or [])
            if handler in present:
                return
            config["callbacks"] = [*present, handler]
        graph.config = config


def remove_handler(graph: Any, handler: BaseCallbackHandler) -> None:
    """Take ``handler`` out of ``graph.config["callbacks"]``."""
    with _attach_lock:
        config = dict(graph.config or {})
        callbacks = config.get("callbacks")
        if isinstance(callbacks, BaseCallbackManager):
            manager = callbacks.copy()
            manager.remove_handler(handler)
            config["callbacks"] = manager
        elif callbacks:
            config["callbacks"] = [h for h in callbacks if h is not handler]
        graph.config = config


class DevduckGraphHandler(CallCallbacks, BaseCallbackHandler):
    """Records runs, nodes, chat-model calls and tool calls of one compiled graph."""

    run_inline = True  # called on the thread of the run, in its context
    raise_error = True  # only internal errors under DEVDUCK_RAISE_INTERNAL_ERRORS reach it

    def __init__(self, graph: Any, record: GraphRecord) -> None:
        super().__init__(record)
        self._graph = weakref.ref(graph)
        self.enabled = True
        self._count = 0
        self._session = ""

    # -- graph runs and nodes -----------------------------------------------------

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Begin a graph run (a run whose parent is not ours), or a node run."""
        with guard("langgraph chain start"):
            run = self._join(run_id, parent_run_id)
            if run is None:
                self._begin_run(run_id, inputs, metadata or {})
                return
            meta = metadata or {}
            node, step = meta.get("langgraph_node"), meta.get("langgraph_step")
            if parent_run_id == run.root and isinstance(step, int):
                self._begin_node(run, run_id, str(node), step, inputs)

    def _begin_run(self, run_id: UUID, inputs: Any, metadata: dict[str, Any]) -> None:
        rec = _state.active()
        graph = self._graph()
        if rec is None or graph is None or not self.enabled or suppressed():
            return
        with self._lock:
            if rec.session_id != self._session:
                self._session, self._count = rec.session_id, 0
            self._count += 1
            number = self._count
        thread = metadata.get("thread_id")
        thread_id = None if thread is None else str(thread)
        self._seed_state(graph, inputs, thread_id)
        self.record.meta.update(step=0, nodes=[], thread_id=thread_id)
        name = graph_name(graph)
        span = rec.tracer.start_span(f"{attr.OP_INVOKE_AGENT} {name}")
        opened = open_run_span(span, run_id, current=True)
        inv = begin_invocation(
            rec,
            LangGraphAdapter(graph),
            name=name,
            number=number,
            query=query_text(inputs),
            adopt=span,
        )
        span.set_attribute(attr.DEVDUCK_LAYER, "agent")
        with self._lock:
            self._root_of[run_id] = run_id
            self._parent[run_id] = None
            self._open[run_id] = opened
            self._runs[run_id] = GraphRun(inv, run_id, thread_id)

    def _seed_state(self, graph: Any, inputs: Any, thread_id: str | None) -> None:
        """The state before the run: the thread's (checkpointed graph), else the input."""
        values: dict[str, Any] = dict(inputs) if isinstance(inputs, dict) else {}
        if thread_id is not None and has_checkpointer(graph):
            values = {}
            with guard("reading the graph state"):
                values = dict(graph.get_state({"configurable": {"thread_id": thread_id}}).values)
        self.record.values = values

    def _begin_node(self, run: GraphRun, run_id: UUID, node: str, step: int, inputs: Any) -> None:
        with self._lock:
            ended = (run.step, list(run.nodes)) if step > run.step else None
            if ended is not None:
                run.step, run.nodes = step, []
                run.first_step = run.first_step or step
            run.nodes.append(node)
        if ended is not None and ended[0] > 0:
            self._step_snapshot(run, ended[0], ended[1], inputs)
        opened = self._start_span(
            run,
            run_id,
            f"graph_node {node}",
            {
                attr.DEVDUCK_LAYER: "agent",
                attr.DEVDUCK_EVENT_TYPE: EVENT_NODE,
                "langgraph.node": node,
                "langgraph.step": step,
            },
        )
        opened.extra.update(node=node, step=step)

    def _step_snapshot(self, run: GraphRun, step: int, nodes: list[str], values: Any) -> None:
        """Snapshot the state after ``step``: what the next step reads, or the output."""
        graph = self._graph()
        if graph is None:
            return
        if isinstance(values, dict):
            self.record.values = {**self.record.values, **values}
        meta: dict[str, Any] = {"step": step, "nodes": nodes, "thread_id": run.thread_id}
        meta.update(self._checkpoint(graph, run, step))
        self.record.meta.update(meta)
        with guard("snapshot after a step"), under(run.inv.span):
            run.inv.recorder.take_snapshot(
                graph, f"after step {step} ({', '.join(nodes)})", last_query=run.inv.query
            )

    def _checkpoint(self, graph: Any, run: GraphRun, step: int) -> dict[str, Any]:
        """The id of the checkpoint of ``step`` when it is already written, else nothing."""
        if run.thread_id is None or not has_checkpointer(graph):
            return {"checkpoint_id": None}
        with guard("reading the graph checkpoint"):
            state = graph.get_state({"configurable": {"thread_id": run.thread_id}})
            if (state.metadata or {}).get("step") == step:
                return {
                    "checkpoint_id": state.config["configurable"].get("checkpoint_id"),
                    "checkpoint_ns": state.config["configurable"].get("checkpoint_ns", ""),
                    "next": list(state.next),
                }
        return {"checkpoint_id": None}

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """End a node run (with its update) or a graph run (snapshots after it)."""
        with guard("langgraph chain end"):
            self._end_chain(run_id, outputs, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """End a failed node run or graph run (an interrupt is not a failure)."""
        with guard("langgraph chain error"):
            self._end_chain(run_id, None, error)

    def _end_chain(self, run_id: UUID, outputs: Any, error: BaseException | None) -> None:
        run = self._run_of(run_id)
        if run is not None and run_id == run.root:
            self._end_run(run_id, run, outputs, error)
            return
        opened = self._forget(run_id)
        if opened is None or run is None:
            return
        try:
            if error is not None and not is_interrupt(error):
                mark_error(opened.span, error)
            elif error is not None:
                opened.span.set_attribute("langgraph.interrupted", True)
            if "node" in opened.extra:
                update = {**opened.extra, "update": data.encode(outputs)}
                if error is not None:
                    update["error"] = error_text(error)
                run.inv.recorder.emit("agent", EVENT_NODE, update, span=opened.span)
        finally:
            close_run_span(opened)

    def _end_run(
        self, run_id: UUID, run: GraphRun, outputs: Any, error: BaseException | None
    ) -> None:
        opened = self._forget(run_id)
        self._forget_all(run_id)
        graph = self._graph()
        try:
            if run.step > 0 and isinstance(outputs, dict):  # no output: state unknown
                self._step_snapshot(run, run.step, list(run.nodes), outputs)
            if graph is not None and run.thread_id is not None and has_checkpointer(graph):
                self.record.meta.update(_run_checkpoints(graph, run))
            if graph is not None:
                with under(run.inv.span):
                    end_invocation(
                        run.inv,
                        LangGraphAdapter(graph),
                        result=reply_text(outputs),
                        error=None if error is None or is_interrupt(error) else error,
                    )
        finally:
            if opened is not None:
                close_run_span(opened)


def _run_checkpoints(graph: Any, run: GraphRun) -> dict[str, Any]:
    """The run's last checkpoint id and each of its steps' (``step``, ``checkpoint_id``)."""
    found: list[dict[str, Any]] = []
    latest: Any = None
    with guard("reading the graph checkpoints"):
        config = {"configurable": {"thread_id": run.thread_id}}
        for state in graph.get_state_history(config, limit=run.step - run.first_step + 2):
            step = (state.metadata or {}).get("step")
            checkpoint_id = state.config["configurable"].get("checkpoint_id")
            latest = latest or checkpoint_id
            if isinstance(step, int) and run.first_step <= step <= run.step:
                found.append({"step": step, "checkpoint_id": checkpoint_id})
        found.reverse()
    return {"checkpoint_id": latest, "checkpoints": found}
