"""What the LangGraph tests share: real tools and a ReAct-style graph around a scripted model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import SystemMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from devduck_otel.testing import ScriptedChatModel
from tests.support import kit_tools

read_note = tool(kit_tools.read_note)
fetch = tool(kit_tools.fetch)
explode = tool(kit_tools.explode)
TOOLS = [read_note, fetch, explode]


class NotesState(MessagesState):
    """The messages plus two channels of other kinds."""

    notes: list[str]
    report: Any


def react_graph(
    model: ScriptedChatModel,
    *,
    checkpointer: Any = None,
    name: str = "helper",
    tools: list[Any] | None = None,
    system: str | None = None,
    prepare: Callable[[list[Any]], list[Any]] | None = None,
) -> Any:
    """A compiled graph: ``agent`` (the model with the tools bound) and ``tools`` in a loop.

    ``system`` puts a system message first in each model request; ``prepare`` changes
    the messages the agent node sends.
    """
    chosen = TOOLS if tools is None else tools
    bound = model.bind_tools(chosen)

    def agent(state: NotesState) -> dict[str, Any]:
        messages = list(state["messages"])
        messages = prepare(messages) if prepare is not None else messages
        if system is not None:
            messages = [SystemMessage(system), *messages]
        return {"messages": [bound.invoke(messages)]}

    builder = StateGraph(NotesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(chosen, handle_tool_errors=True))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer, name=name)


def without_ids(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Encoded messages without their ``id`` (LangGraph gives new messages random ids)."""
    return [{**m, "data": {k: v for k, v in m["data"].items() if k != "id"}} for m in messages]
