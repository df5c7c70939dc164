"""Strands Agents integration: the adapter and the hook provider that records an agent.

Recording uses Strands' hook system only (no monkeypatching). Beside Strands' own
OpenTelemetry spans it works in one of two ways, decided per invocation:

* Strands' spans are recording (the application set a global SDK TracerProvider,
  which the recorder joins): devduck adds its attributes and events to Strands'
  ``invoke_agent`` span and makes no span of its own, so no span is duplicated.
* Strands' spans are not recording (no global provider): devduck makes the spans,
  through ``rec.tracer``: ``invoke_agent {name}``, ``chat`` per model call and
  ``execute_tool {name}`` per tool call, each current while it runs, so one invocation
  is one trace. Strands' non-recording spans carry devduck's context, so whatever
  runs inside (HTTP, files, nested agents) joins that trace.

Direct tool calls (``agent.tool.add(...)``) run outside any invocation and get a devduck
``execute_tool`` span in both cases, since Strands records none for them.

Example:
    >>> import devduck_otel
    >>> from strands import Agent
    >>> agent = Agent(callback_handler=None)  # doctest: +SKIP
    >>> devduck_otel.instrument(agent)  # doctest: +SKIP
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Final

import orjson
from opentelemetry import trace
from opentelemetry.trace import Span

from devduck_otel import _attributes as attr
from devduck_otel import _state
from devduck_otel._guard import guard
from devduck_otel.capture._events import DERIVED_TYPES
from devduck_otel.capture._genai import mark_error, message_data, tool_attributes
from devduck_otel.integrations._base import (
    EVENT_MESSAGE,
    EVENT_MODEL_CALL,
    Invocation,
    OpenSpan,
    agent_name,
    begin_invocation,
    emit_message,
    end_invocation,
    open_span,
    set_usage,
    suppressed,
)
from devduck_otel.integrations._strands_data import (
    model_call_data,
    model_request,
    query_text,
    strands_model_info,
    tool_result_data,
)

if TYPE_CHECKING:
    from strands.hooks import (
        AfterInvocationEvent,
        AfterModelCallEvent,
        AfterToolCallEvent,
        BeforeInvocationEvent,
        BeforeModelCallEvent,
        BeforeToolCallEvent,
        HookRegistry,
        MessageAddedEvent,
    )

    from devduck_otel._recorder import Recorder

EVENT_TOOL_CALL: Final = "tool.call"
EVENT_TOOL_RESULT: Final = "tool.result"

_providers: weakref.WeakKeyDictionary[Any, DevduckHooks] = weakref.WeakKeyDictionary()
_providers_lock = threading.Lock()


def is_strands_agent(agent: Any) -> bool:
    """Return whether ``agent`` is a ``strands.Agent`` (without importing strands)."""
    module = sys.modules.get("strands.agent.agent")
    agent_class = getattr(module, "Agent", None)
    return isinstance(agent_class, type) and isinstance(agent, agent_class)


class StrandsAdapter:
    """Reads, restores, runs and instruments a ``strands.Agent``."""

    framework = "strands"

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    @staticmethod
    def accepts(agent: Any) -> bool:
        """Return whether ``agent`` is a ``strands.Agent``."""
        return is_strands_agent(agent)

    def messages(self) -> list[Any]:
        """Return ``agent.messages`` (the live list)."""
        messages: list[Any] = self.agent.messages
        return messages

    def system_prompt(self) -> str | None:
        """Return the system prompt text, or ``None``."""
        prompt = self.agent.system_prompt
        return prompt if isinstance(prompt, str) else None

    def tool_names(self) -> list[str]:
        """Return the names of the agent's registered tools."""
        return [str(name) for name in self.agent.tool_names]

    def model_info(self) -> dict[str, str | None]:
        """Return the model class, its id (from ``model.config["model_id"]``) and provider."""
        return strands_model_info(self.agent.model)

    def state(self) -> Any:
        """Return ``agent.state`` as its JSON dict."""
        state = getattr(self.agent, "state", None)
        getter = getattr(state, "get", None)
        return getter() if callable(getter) else state

    def restore(self, *, messages: list[Any], system_prompt: str | None, state: Any) -> None:
        """Set messages, system prompt and ``agent.state`` (from its JSON dict)."""
        self.agent.messages = messages
        if system_prompt is not None:
            self.agent.system_prompt = system_prompt
        if isinstance(state, dict):
            from strands.agent.state import AgentState

            self.agent.state = AgentState(state)
        elif state is not None and callable(getattr(state, "get", None)):
            self.agent.state = state

    def invoke(self, query: str) -> Any:
        """Run one turn, ``agent(query)``, recorded even when the agent is not instrumented."""
        provider = _providers.get(self.agent)
        temporary = provider is None or not provider.enabled
        if temporary:
            self.instrument()
        try:
            return self.agent(query)
        finally:
            if temporary:
                self.uninstrument()

    def instrument(self) -> None:
        """Register devduck's hook provider on the agent once; re-enable it if removed."""
        with _providers_lock:
            provider = _providers.get(self.agent)
            if provider is None:
                provider = DevduckHooks()
                self.agent.hooks.add_hook(provider)
                _providers[self.agent] = provider
        provider.enabled = True

    def uninstrument(self) -> None:
        """Switch the agent's hook provider off (Strands has no API to remove a hook)."""
        provider = _providers.get(self.agent)
        if provider is not None:
            provider.enabled = False


def _mark_strands_spans(agent: Any, *, on: bool) -> None:
    """Tell the exporter that Strands' own spans need no ``tool.*``/``model.call`` derived.

    The hooks record those events explicitly (with more than Strands' spans hold), so
    the ``chat`` and ``execute_tool`` spans Strands starts during the invocation carry
    the marker, through Strands' own ``trace_attributes``.
    """
    extra = getattr(agent, "trace_attributes", None)
    if not isinstance(extra, dict):
        return
    if on:
        extra[attr.DEVDUCK_CARRIED_TYPES] = sorted(DERIVED_TYPES)
    else:
        extra.pop(attr.DEVDUCK_CARRIED_TYPES, None)


class DevduckHooks:
    """A Strands ``HookProvider`` that records invocations, messages, models and tools.

    One provider serves one agent, whose invocations Strands runs one at a time.
    """

    def __init__(self) -> None:
        self.enabled = True
        self._invocations: list[Invocation] = []
        self._model_spans: list[tuple[OpenSpan | None, float]] = []
        self._model_requests: list[orjson.Fragment | None] = []
        self._tool_spans: dict[str, tuple[Span, OpenSpan | None, float]] = {}
        self._count = 0
        self._session = ""

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        """Subscribe to Strands' invocation, message, model and tool events."""
        from strands import hooks

        registry.add_callback(hooks.BeforeInvocationEvent, self.before_invocation)
        registry.add_callback(hooks.AfterInvocationEvent, self.after_invocation)
        registry.add_callback(hooks.MessageAddedEvent, self.message_added)
        registry.add_callback(hooks.BeforeModelCallEvent, self.before_model)
        registry.add_callback(hooks.AfterModelCallEvent, self.after_model)
        registry.add_callback(hooks.BeforeToolCallEvent, self.before_tool)
        registry.add_callback(hooks.AfterToolCallEvent, self.after_tool)

    def _active_recorder(self) -> Recorder | None:
        if self._invocations:
            return self._invocations[-1].recorder
        rec = _state.active() if self.enabled else None
        return None if rec is None or suppressed() else rec

    def _current(self) -> Invocation | None:
        return self._invocations[-1] if self._invocations else None

    # -- invocation ---------------------------------------------------------------

    def before_invocation(self, event: BeforeInvocationEvent) -> None:
        """Open the invocation span (or adopt Strands' recording one) and snapshot before."""
        rec = self._active_recorder()
        if rec is None:
            return
        with guard("strands before invocation"):
            if rec.session_id != self._session:
                self._session, self._count = rec.session_id, 0
            self._count += 1
            if rec.tracing is not None:  # StrandsTelemetry() may have come after instrument()
                rec.tracing.join_global()
            strands_span = getattr(event.agent, "trace_span", None)
            recording = strands_span is not None and strands_span.is_recording()
            if recording:
                _mark_strands_spans(event.agent, on=True)
            inv = begin_invocation(
                rec,
                StrandsAdapter(event.agent),
                name=agent_name(event.agent),
                number=self._count,
                query=query_text(event.messages),
                adopt=strands_span if recording else None,
            )
            self._invocations.append(inv)

    def after_invocation(self, event: AfterInvocationEvent) -> None:
        """Snapshot after, mark a failed invocation, and close what it left open."""
        inv = self._current()
        if inv is None:
            return
        self._invocations.pop()
        with guard("strands after invocation"):
            _mark_strands_spans(event.agent, on=False)
            self._close_dangling()
            in_flight = sys.exc_info()[1] if event.result is None else None
            if not isinstance(in_flight, (GeneratorExit, type(None))):
                # Strands calls this hook from a `finally`: an exception in flight is the
                # invocation's failure (a structured-output call has no result, and none
                # in flight; GeneratorExit is a consumer closing the stream early).
                inv.error = in_flight
            end_invocation(inv, StrandsAdapter(event.agent), result=event.result)

    def message_added(self, event: MessageAddedEvent) -> None:
        """Record the message (on the invocation span; direct tool calls: current span)."""
        inv = self._current()
        rec = self._active_recorder()
        if inv is not None:
            emit_message(inv, event.message)
        elif rec is not None:
            rec.emit("agent", EVENT_MESSAGE, message_data(event.message))

    # -- model calls --------------------------------------------------------------

    def before_model(self, event: BeforeModelCallEvent) -> None:
        """Open a ``chat`` span unless Strands records its own."""
        inv = self._current()
        if inv is None:
            return
        opened: OpenSpan | None = None
        with guard("strands before model call"):
            if inv.owned:
                model_id = strands_model_info(event.agent.model)["model_id"]
                opened = open_span(
                    inv.recorder,
                    attr.OP_CHAT,  # named as Strands names its own model span
                    layer="agent",
                    event_type=EVENT_MODEL_CALL,
                    attributes={
                        attr.GEN_AI_OPERATION_NAME: attr.OP_CHAT,
                        attr.GEN_AI_REQUEST_MODEL: model_id or "",
                        attr.GEN_AI_CONVERSATION_ID: inv.recorder.session_id,
                    },
                )
        request = None
        with guard("strands model request"):
            request = model_request(event.agent, inv.recorder.pickler)
        self._model_requests.append(request)
        self._model_spans.append((opened, time.monotonic()))

    def after_model(self, event: AfterModelCallEvent) -> None:
        """Record the model call (usage, stop reason, error); end the ``chat`` span."""
        inv = self._current()
        if inv is None or not self._model_spans:
            return
        opened, started = self._model_spans.pop()
        request = self._model_requests.pop() if self._model_requests else None
        try:
            with guard("strands after model call"):
                data = model_call_data(event, time.monotonic() - started, request)
                span = opened.span if opened is not None else inv.span
                if opened is not None:
                    set_usage(opened.span, data.get("input_tokens"), data.get("output_tokens"))
                    if event.exception is not None:
                        mark_error(opened.span, event.exception)
                inv.recorder.emit("agent", EVENT_MODEL_CALL, data, span=span)
        finally:
            if opened is not None:
                opened.close()

    # -- tool calls ---------------------------------------------------------------

    def before_tool(self, event: BeforeToolCallEvent) -> None:
        """Record the call; open an ``execute_tool`` span unless Strands records its own."""
        rec, inv = self._active_recorder(), self._current()
        if rec is None:
            return
        with guard("strands before tool call"):
            use = event.tool_use
            name, call_id = str(use.get("name")), str(use.get("toolUseId"))
            opened: OpenSpan | None = None
            if inv is None or inv.owned:
                opened = open_span(
                    rec,
                    f"{attr.OP_EXECUTE_TOOL} {name}",
                    layer="tool",
                    event_type=EVENT_TOOL_CALL,
                    attributes=tool_attributes(name, call_id),
                )
            span = opened.span if opened is not None else trace.get_current_span()
            self._tool_spans[call_id] = (span, opened, time.monotonic())
            data = {"name": name, "args": use.get("input"), "call_id": call_id}
            rec.emit("tool", EVENT_TOOL_CALL, data, span=span)

    def after_tool(self, event: AfterToolCallEvent) -> None:
        """Record the tool result; end devduck's ``execute_tool`` span."""
        rec = self._active_recorder()
        entry = self._tool_spans.pop(str(event.tool_use.get("toolUseId")), None)
        if rec is None or entry is None:
            return
        span, opened, started = entry
        try:
            with guard("strands after tool call"):
                data = tool_result_data(event, started)
                if "error" in data and opened is not None:
                    mark_error(span, event.exception or str(data["error"]))
                rec.emit("tool", EVENT_TOOL_RESULT, data, span=span)
        finally:
            if opened is not None:
                opened.close()

    def _close_dangling(self) -> None:
        """End spans whose closing hook never came (interrupts, background tools)."""
        leftovers = [o for o, _ in self._model_spans] + [o for _, o, _ in self._tool_spans.values()]
        for opened in leftovers:
            if opened is not None:
                opened.span.set_attribute("devduck.incomplete", True)
                with guard("ending a span"):
                    opened.span.end()
        self._model_spans.clear()
        self._model_requests.clear()
        self._tool_spans.clear()
