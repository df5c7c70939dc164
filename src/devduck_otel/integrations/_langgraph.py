"""LangGraph integration: a LangChain callback handler in the compiled graph's own config.

``instrument(graph)`` adds one callback handler to ``graph.config["callbacks"]``, the
run configuration LangGraph merges into every ``invoke``, ``stream``, ``ainvoke`` and
``astream`` of that graph object (no monkeypatching; ``uninstrument`` takes it out).
Through LangChain's callbacks it records, through ``rec.tracer``:

* each run of the graph: ``invoke_agent {graph name}``, a snapshot before it (its
  input) and after it;
* each node run: ``graph_node {node}`` with ``langgraph.node`` / ``langgraph.step``
  and a ``graph.node`` event holding the node's update;
* each chat-model call: ``chat {model}`` with a ``model.call`` event holding the whole
  request (messages, tools, parameters) and response, so ``session.steps`` lists it;
* each tool call: ``execute_tool {name}`` with ``tool.call`` / ``tool.result`` events.

A super-step ends when the first node of the next step starts, or when the run ends:
then a snapshot ``after step N (nodes)`` holds the graph state (the ``messages``
channel as the snapshot's messages, LangChain messages in their ``messages_to_dict``
form, the other channels as its state: JSON, else a dill blob), with the thread id and
step. The state of a step is what the next step's nodes read (the run's output after
the last step). With a checkpointer, the snapshot after the run also holds the id of
its last checkpoint and of each step's checkpoint (LangGraph writes a step's
checkpoint in the background while the next step runs, so the step snapshots only
have it under ``durability="sync"``).

Example:
    >>> import devduck_otel
    >>> graph = builder.compile()  # doctest: +SKIP
    >>> devduck_otel.instrument(graph)  # doctest: +SKIP
    >>> graph.invoke({"messages": [("user", "hi")]})  # doctest: +SKIP
"""

from __future__ import annotations

import sys
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from devduck_otel.integrations import _langgraph_data as data

_records: weakref.WeakKeyDictionary[Any, GraphRecord] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


@dataclass
class GraphRecord:
    """What devduck keeps about one compiled graph between its runs."""

    values: dict[str, Any] = field(default_factory=dict)
    """The graph state last seen (channel name to value, as the graph holds it)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """``step``, ``nodes``, ``thread_id``, ``checkpoint_id``, ... of that state."""
    handler: Any = None
    """The callback handler ``instrument`` put in the graph's config, if any."""
    resumed_config: dict[str, Any] | None = None
    """The run config a restore into a checkpointed graph wrote to."""


def record_for(graph: Any) -> GraphRecord:
    """Return the graph's record, made on first use."""
    with _lock:
        record = _records.get(graph)
        if record is None:
            record = _records[graph] = GraphRecord()
        return record


def _pregel_class(module_name: str, name: str) -> type | None:
    cls = getattr(sys.modules.get(module_name), name, None)
    return cls if isinstance(cls, type) else None


def is_compiled_graph(agent: Any) -> bool:
    """Return whether ``agent`` is a compiled LangGraph graph (a ``Pregel``), lazily."""
    if not type(agent).__module__.startswith("langgraph."):
        return False
    pregel = _pregel_class("langgraph.pregel.main", "Pregel")
    return pregel is not None and isinstance(agent, pregel)


def is_uncompiled_graph(agent: Any) -> bool:
    """Return whether ``agent`` is a LangGraph ``StateGraph`` builder, not yet compiled."""
    builder = _pregel_class("langgraph.graph.state", "StateGraph")
    return builder is not None and isinstance(agent, builder)


def graph_name(graph: Any) -> str:
    """Return the graph's name (``LangGraph`` unless it was given one)."""
    name = getattr(graph, "name", None)
    return name if isinstance(name, str) and name else "LangGraph"


def has_checkpointer(graph: Any) -> bool:
    """Whether the graph saves checkpoints of its own (a saver object, not ``True``)."""
    saver = getattr(graph, "checkpointer", None)
    return saver is not None and not isinstance(saver, bool)


class LangGraphAdapter:
    """Reads, restores, runs and instruments a compiled LangGraph graph.

    Its messages are the ``messages`` channel of the state last seen; its state the
    other channels and where the state was taken (step, nodes, thread, checkpoint).
    """

    framework = "langgraph"

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.record = record_for(agent)

    @staticmethod
    def accepts(agent: Any) -> bool:
        """Return whether ``agent`` is a compiled graph, or a builder (to explain)."""
        return is_compiled_graph(agent) or is_uncompiled_graph(agent)

    def _need_compiled(self) -> None:
        if not is_compiled_graph(self.agent):
            raise TypeError(
                "cannot record a StateGraph builder: compile it first "
                "(graph = builder.compile()) and instrument the compiled graph"
            )

    def messages(self) -> list[Any]:
        """Return the ``messages`` channel as JSON dicts (``messages_to_dict`` form)."""
        return data.encode_messages(self.record.values.get(data.MESSAGES_KEY))

    def system_prompt(self) -> str | None:
        """A graph has no system prompt of its own (it is in its messages, if any)."""
        return None

    def tool_names(self) -> list[str]:
        """Return the graph's node names, as ``node:<name>``."""
        nodes = getattr(self.agent, "nodes", None) or {}
        return [f"node:{name}" for name in nodes if not str(name).startswith("__")]

    def model_info(self) -> dict[str, str | None]:
        """Return the graph class and the last chat model seen in it."""
        return {
            "type": type(self.agent).__name__,
            "model_id": self.record.meta.get("model"),
            "provider": self.record.meta.get("provider"),
        }

    def state(self) -> Any:
        """Return the other channels (messages inside as tagged JSON) and where they were taken."""
        channels = {k: v for k, v in self.record.values.items() if k != data.MESSAGES_KEY}
        meta = {k: v for k, v in self.record.meta.items() if k not in ("model", "provider")}
        return {"channels": data.encode(channels), "langgraph": meta}

    def restore(self, *, messages: list[Any], system_prompt: str | None, state: Any) -> None:
        """Set the graph state; on a checkpointed graph also write it with ``update_state``.

        The state goes to the snapshot's thread (``thread_id`` in its state, else
        ``devduck-resumed``) as if written by the last node of the snapshot's step, so
        the graph continues from that node.
        """
        self._need_compiled()
        state = state if isinstance(state, dict) else {}
        channels = state.get("channels")
        values = data.decode(dict(channels)) if isinstance(channels, dict) else {}
        values[data.MESSAGES_KEY] = data.decode_messages(messages)
        meta = state.get("langgraph")
        self.record.values = values
        self.record.meta = dict(meta) if isinstance(meta, dict) else {}
        self.record.resumed_config = None
        if has_checkpointer(self.agent):
            self._write_checkpoint(values)

    def _write_checkpoint(self, values: dict[str, Any]) -> None:
        thread = self.record.meta.get("thread_id") or "devduck-resumed"
        config: dict[str, Any] = {"configurable": {"thread_id": str(thread)}}
        nodes = [n for n in self.record.meta.get("nodes") or [] if n in self.agent.nodes]
        as_node = nodes[-1] if nodes else None
        self.record.resumed_config = self.agent.update_state(config, values, as_node=as_node)

    def invoke(self, query: str) -> Any:
        """Run the graph once more with ``query`` as a new user message; return its last reply.

        A checkpointed graph continues its restored thread with the new message; any
        other graph gets the restored state, plus the message, as its input.
        """
        self._need_compiled()
        from langchain_core.messages import HumanMessage

        self.instrument()
        message = HumanMessage(query)
        if has_checkpointer(self.agent):
            thread = self.record.meta.get("thread_id") or "devduck-resumed"
            config = self.record.resumed_config or {"configurable": {"thread_id": str(thread)}}
            config = {"configurable": dict(config.get("configurable") or {})}
            config["configurable"].pop("checkpoint_id", None)
            result = self.agent.invoke({data.MESSAGES_KEY: [message]}, config)
        else:
            values = dict(self.record.values)
            values[data.MESSAGES_KEY] = [*(values.get(data.MESSAGES_KEY) or []), message]
            result = self.agent.invoke(values)
        if isinstance(result, dict):  # the state it ends in, also when nothing records
            self.record.values = {**self.record.values, **result}
        return _last_reply(result)

    def instrument(self) -> None:
        """Put devduck's callback handler in the graph's config (once; idempotent)."""
        self._need_compiled()
        data.warn_untested()
        from devduck_otel.integrations._langgraph_handler import attach

        attach(self.agent, self.record)

    def uninstrument(self) -> None:
        """Take devduck's callback handler out of the graph's config."""
        if self.record.handler is None or not is_compiled_graph(self.agent):
            return
        from devduck_otel.integrations._langgraph_handler import detach

        detach(self.agent, self.record)


def _last_reply(result: Any) -> Any:
    """The content of the last message of a run's output, else the output itself."""
    if isinstance(result, dict):
        messages = result.get(data.MESSAGES_KEY)
        if isinstance(messages, list) and messages:
            return getattr(messages[-1], "content", messages[-1])
    return result
