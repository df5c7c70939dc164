"""Replay for compiled LangGraph graphs, through LangChain's and LangGraph's public extension points.

For the replay's duration (all of it is taken out again afterwards):

* a callback handler in the graph's ``graph.config["callbacks"]`` asks the player for
  the step at each chat-model and tool start, with the request encoded as the
  recorder encodes it, so a divergence stops the run before the model or tool runs;
* LangChain's process-wide LLM cache (``set_llm_cache``) is a cache whose lookup
  returns the served step's ``AIMessage`` (tool calls included), so the chat model is
  not called; a lookup with nothing to serve goes to the cache set before, if any;
* the tools of each ``ToolNode`` in the graph (found through ``graph.nodes``,
  subgraphs included) are replaced in its public ``tools_by_name`` dict by
  ``StructuredTool`` copies of the same name and schema that return the recorded
  result or raise the recorded error; a live step calls the original tool;
* ``max_concurrency`` is 1 in ``graph.config``, so steps come in the recorded order.

Limits: a chat model built with ``cache=False`` bypasses the LLM cache, and a tool
called by a node's own code (not a ``ToolNode``) cannot be swapped; replay then fails
with an error naming the step (for the tool, before it runs).

Example:
    >>> restore = install(graph, player)  # doctest: +SKIP
    >>> restore()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from langchain_core.caches import BaseCache
from langchain_core.callbacks import BaseCallbackHandler, Callbacks
from langchain_core.globals import get_llm_cache, set_llm_cache
from langchain_core.messages import AIMessage, messages_from_dict
from langchain_core.outputs import ChatGeneration, Generation
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.prebuilt import ToolNode

from devduck_otel.integrations import _langgraph_data as data
from devduck_otel.integrations._langgraph import is_compiled_graph
from devduck_otel.integrations._langgraph_handler import add_handler
from devduck_otel.replay._hook import INSIDE_LIVE_STEP
from devduck_otel.replay._player import Player, recorded_error
from devduck_otel.replay._steps import Step
from devduck_otel.session import _jsonsafe

_pending = threading.local()
"""The step the handler took for the model or tool call starting on this thread."""


def response_message(step: Step) -> AIMessage:
    """The ``AIMessage`` a model step returns (an override text becomes one)."""
    if isinstance(step.response, str):
        return AIMessage(content=step.response)
    encoded = step.response.get("message") if isinstance(step.response, dict) else None
    message: Any = None
    with contextlib.suppress(Exception):  # a broken record: the error below names the step
        message = messages_from_dict([encoded])[0] if isinstance(encoded, dict) else None
    if not isinstance(message, AIMessage):
        raise ValueError(f"step {step.number} (model {step.name}) holds no AI message")
    return message


def _fail(player: Player, step: Step, reason: str) -> ValueError:
    """The error for a step replay cannot serve, kept so the replay reports it."""
    error = ValueError(f"step {step.number} ({step.kind} {step.name}): {reason}")
    player.fatal = error  # reported by the replay even if the graph catches it
    return error


class ReplayHandler(BaseCallbackHandler):
    """Takes each chat-model and tool step from the player as the call starts."""

    run_inline = True  # on the thread of the call, so the step waits there for it
    raise_error = True  # a divergence stops the run

    def __init__(self, player: Player, tool_names: set[str]) -> None:
        self.player = player
        self.tool_names = tool_names
        self.waiting: dict[UUID, Step] = {}
        self.served: set[UUID] = set()

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Compare the request with the record; keep the step for the cache to serve."""
        params = dict(kwargs.get("invocation_params") or {})
        name = data.model_name(metadata, params)
        request = data.chat_request(messages, params, name)
        step = self.player.take("model", name, {k: request[k] for k in ("messages", "tools")})
        _pending.model = None if step is None else (run_id, step)
        if step is not None:
            self.waiting[run_id] = step

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """A served step the cache never handed out means the model ran live."""
        step = self.waiting.pop(run_id, None)
        if step is not None and run_id not in self.served:
            raise _fail(
                self.player,
                step,
                "the chat model was called instead of served; replay serves it through "
                "LangChain's LLM cache, which a model built with cache=False does not consult",
            )
        self.served.discard(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget the failed call (a recorded error served by the cache ends here too)."""
        self.waiting.pop(run_id, None)
        self.served.discard(run_id)

    def on_tool_start(
        self,
        serialized: Any,
        input_str: str,
        *,
        run_id: UUID,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Compare the tool call with the record; keep the step for the tool copy."""
        name = str(kwargs.get("name") or (serialized or {}).get("name") or "tool")
        args = data.encode(inputs) if inputs is not None else input_str
        step = self.player.take("tool", name, args if isinstance(args, dict) else {})
        if step is not None and name not in self.tool_names:
            raise _fail(
                self.player,
                step,
                "the tool is called outside a ToolNode, so replay cannot serve it; it was not run",
            )
        _pending.tool = step


def _take_pending(kind: str) -> Any:
    value = getattr(_pending, kind, None)
    setattr(_pending, kind, None)
    return value


class ReplayCache(BaseCache):
    """An LLM cache that hands out the model step the handler took; else asks ``previous``."""

    def __init__(self, handler: ReplayHandler, previous: BaseCache | None) -> None:
        self.handler = handler
        self.previous = previous

    def lookup(self, prompt: str, llm_string: str) -> Sequence[Generation] | None:
        """Return the served step's message, raise its recorded error, or ask ``previous``."""
        pending = _take_pending("model")
        if pending is None:
            return None if self.previous is None else self.previous.lookup(prompt, llm_string)
        run_id, step = pending
        self.handler.served.add(run_id)
        if step.error is not None:
            raise recorded_error(step.error)
        return [ChatGeneration(message=response_message(step))]

    async def alookup(self, prompt: str, llm_string: str) -> Sequence[Generation] | None:
        """As :meth:`lookup`, on this thread (where the handler left the step)."""
        return self.lookup(prompt, llm_string)

    def update(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        """A live call's result goes to ``previous``; nothing is kept here."""
        if self.previous is not None:
            self.previous.update(prompt, llm_string, return_val)

    def clear(self, **kwargs: Any) -> None:
        """Clear ``previous`` (this cache keeps nothing)."""
        if self.previous is not None:
            self.previous.clear(**kwargs)


def _served(step: Step, original: BaseTool, player: Player) -> Any:
    if step.error is not None:
        raise recorded_error(step.error)
    result = _jsonsafe.restore(step.response, allow_pickle=player.allow_pickle)
    return (result, None) if original.response_format == "content_and_artifact" else result


def replay_tool(original: BaseTool, player: Player) -> StructuredTool:
    """A copy of ``original`` (name, schema, error handling) that serves the taken step."""

    def serve(callbacks: Callbacks = None, **kwargs: Any) -> Any:
        step = _take_pending("tool")
        if step is not None:
            return _served(step, original, player)
        token = INSIDE_LIVE_STEP.set(True)  # its inner calls are part of this step
        try:
            return original.invoke(kwargs, {"callbacks": callbacks})
        finally:
            INSIDE_LIVE_STEP.reset(token)

    async def aserve(callbacks: Callbacks = None, **kwargs: Any) -> Any:
        step = _take_pending("tool")
        if step is not None:
            return _served(step, original, player)
        token = INSIDE_LIVE_STEP.set(True)
        try:
            return await original.ainvoke(kwargs, {"callbacks": callbacks})
        finally:
            INSIDE_LIVE_STEP.reset(token)

    return StructuredTool(
        name=original.name,
        description=original.description,
        args_schema=original.args_schema or original.get_input_schema(),
        func=serve,
        coroutine=aserve,
        return_direct=original.return_direct,
        response_format=original.response_format,
        handle_tool_error=original.handle_tool_error,
        handle_validation_error=original.handle_validation_error,
    )


def tool_nodes(graph: Any, seen: set[int] | None = None) -> Iterator[ToolNode]:
    """The ``ToolNode`` objects of ``graph`` and of the compiled graphs it has as nodes."""
    seen = set() if seen is None else seen
    if id(graph) in seen:
        return
    seen.add(id(graph))
    for node in (getattr(graph, "nodes", None) or {}).values():
        bound = getattr(node, "bound", None)
        if isinstance(bound, ToolNode):
            yield bound
        elif is_compiled_graph(bound):
            yield from tool_nodes(bound, seen)


def install(graph: Any, player: Player) -> Callable[[], None]:
    """Slot the player into ``graph`` (handler, LLM cache, tools); return what undoes it."""
    swapped = [
        (node.tools_by_name, name, tool)
        for node in tool_nodes(graph)
        for name, tool in list(node.tools_by_name.items())
    ]
    handler = ReplayHandler(player, {name for _, name, _ in swapped})
    config, previous = graph.config, get_llm_cache()
    add_handler(graph, handler)
    graph.config = {**graph.config, "max_concurrency": 1}
    set_llm_cache(ReplayCache(handler, previous))
    for table, name, tool in swapped:
        table[name] = replay_tool(tool, player)

    def restore() -> None:
        for table, name, tool in swapped:
            table[name] = tool
        set_llm_cache(previous)
        graph.config = config
        _pending.model = _pending.tool = None

    return restore
