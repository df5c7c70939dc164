"""The SDK ``TracingProcessor`` that mirrors OpenAI Agents SDK spans as devduck OTel spans.

Each SDK span becomes an OTel span through ``rec.tracer``, parented as the SDK parents
it (task, turn, guardrail and custom spans are passed through to their parent):

* agent spans: ``invoke_agent {name}``;
* generation spans (chat completions) and response spans (the Responses API):
  ``chat {model}`` with ``gen_ai.input.messages`` / ``gen_ai.output.messages``, the
  model and token usage, and a ``message`` event for every item new to the run;
* function spans: ``execute_tool {name}`` with the call's arguments and result;
* handoff spans: ``handoff {from} -> {to}``.

Every mirrored span is the current OTel span while its SDK span is the SDK's current
one: it is attached to the context in ``on_span_start`` (which the SDK calls in the
task that opens the span) and detached in ``on_span_end``. The SDK runs a function
tool in a task or thread that copies that context, so HTTP and file spans made inside
a tool are children of its ``execute_tool`` span.

A *run* is one ``Runner.run`` / ``run_sync`` / ``run_streamed``: the SDK's task span
(or, with ``include_task_and_turn_spans=False``, its trace). The first model call of an
instrumented agent in a run (told by its hooks, see ``_openai_agents_hooks``) takes
the "before invocation N" snapshot with the run's input items; the end of the run
takes "after invocation N" with the items of its last model exchange. A handoff
stays inside the run: one snapshot pair per run. With :attr:`every_run` set
(``instrument("openai-agents")``), a run of an agent no hooks tell of is snapshotted
from its spans: the end of its first model call takes "before" with an
:class:`ObservedAgent` (``_openai_agents_observed``) and that call's input items.

Example:
    >>> processor = DevduckTracingProcessor()  # doctest: +SKIP
    >>> agents.tracing.add_trace_processor(processor)  # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Span

from devduck_otel import _attributes as attr
from devduck_otel import _state
from devduck_otel._guard import guard
from devduck_otel.capture._genai import agent_attributes, mark_error, tool_attributes
from devduck_otel.integrations import _openai_agents_data as data_of
from devduck_otel.integrations._base import EVENT_MESSAGE, EVENT_MODEL_CALL, set_usage, suppressed
from devduck_otel.integrations._openai_agents_observed import ObservedAgent, observe

if TYPE_CHECKING:
    from devduck_otel._recorder import Recorder

GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
ITEMS_ATTRIBUTE: Final = "_devduck_items"
"""Where an agent keeps the items of its last snapshot (what its adapter reads)."""
RUNS_ATTRIBUTE: Final = "_devduck_runs"
"""Where an agent keeps ``(session id, runs snapshotted in it)``."""
MAX_DEPTH: Final = 64

_MARK: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "devduck_openai_agents_span", default=None
)
"""Set beside each attach: resetting it tells whether ``on_span_end`` runs in the
context ``on_span_start`` ran in (only there may the OTel context be detached)."""


@dataclass
class _Mirror:
    span: Span
    marker: contextvars.Token[object | None] | None = None
    token: contextvars.Token[otel_context.Context] | None = None


@dataclass
class _Run:
    """One SDK run as the hooks and the processor see it."""

    agent: Any = None
    number: int = 0
    anchor: Span | None = None
    input: list[Any] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)
    seen: list[Any] = field(default_factory=list)


class DevduckTracingProcessor:
    """An SDK ``TracingProcessor`` that mirrors SDK spans as devduck OTel spans."""

    def __init__(self) -> None:
        self._mirrors: dict[str, _Mirror] = {}
        self._parents: dict[str, str] = {}
        self._kinds: dict[str, str] = {}
        self._runs: dict[str, _Run] = {}
        self._last_seen: list[Any] = []
        self._agent_data: dict[str, Any] = {}
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.every_run = False
        """Snapshot every run, from its spans when no hooks tell of its agent."""

    # -- traces: a run when the SDK makes no task span --------------------------------

    def on_trace_start(self, trace_: Any) -> None:
        """Open a run for the trace (used only when its runs make no task span)."""
        with self._lock:
            self._runs[trace_.trace_id] = _Run()

    def on_trace_end(self, trace_: Any) -> None:
        """End the trace's run."""
        with self._lock:
            run = self._runs.pop(trace_.trace_id, None)
        self._end_run(run)

    def shutdown(self) -> None:
        """Nothing to release; the recorder owns the OTel pipeline."""

    def force_flush(self) -> None:
        """Nothing buffered here."""

    # -- spans ------------------------------------------------------------------------

    def on_span_start(self, span: Any) -> None:
        """Start the OTel span matching the SDK span, under its SDK parent, and make it current."""
        rec = _state.active()
        if rec is None or suppressed():
            return
        with guard("openai-agents span start"):
            data = span.span_data
            with self._lock:
                self._parents[span.span_id] = span.parent_id or ""
                self._kinds[span.span_id] = data.type
                if data.type == "task":
                    self._runs[span.span_id] = _Run()
                elif data.type == "agent":
                    self._agent_data[span.span_id] = data
            name, attributes = _describe_start(rec, data)
            if name is None:
                return
            parent = self._mirror_above(span.parent_id or "")
            context = trace.set_span_in_context(parent) if parent is not None else None
            mirror = _Mirror(rec.tracer.start_span(name, context=context, attributes=attributes))
            with self._lock:
                self._mirrors[span.span_id] = mirror
            mirror.marker = _MARK.set(object())
            mirror.token = otel_context.attach(trace.set_span_in_context(mirror.span))

    def on_span_end(self, span: Any) -> None:
        """Copy the SDK span's data onto its OTel span and end it (and end a task's run)."""
        with self._lock:
            mirror = self._mirrors.pop(span.span_id, None)
            run = self._runs.pop(span.span_id, None) if span.span_data.type == "task" else None
        if mirror is not None:
            try:
                with guard("openai-agents span end"):
                    self._finish(mirror.span, span)
            finally:
                _release(mirror)
                with guard("ending a span"):
                    mirror.span.end()
        self._end_run(run)
        with self._lock:
            self._parents.pop(span.span_id, None)
            self._kinds.pop(span.span_id, None)
            self._agent_data.pop(span.span_id, None)

    def _walk(self, sdk_id: str) -> list[str]:
        """The SDK span ``sdk_id`` and its live ancestors, nearest first (call locked)."""
        chain: list[str] = []
        while sdk_id and len(chain) < MAX_DEPTH:
            chain.append(sdk_id)
            sdk_id = self._parents.get(sdk_id, "")
        return chain

    def _mirror_above(self, sdk_id: str) -> Span | None:
        with self._lock:
            for ancestor in self._walk(sdk_id):
                if ancestor in self._mirrors:
                    return self._mirrors[ancestor].span
        return None

    def _run_of(self, sdk_id: str, trace_id: str) -> _Run | None:
        """The run of a span: its task span's, else its trace's (call locked)."""
        for ancestor in self._walk(sdk_id):
            if self._kinds.get(ancestor) == "task":
                return self._runs.get(ancestor)
        return self._runs.get(trace_id)

    # -- what the agent hooks tell ----------------------------------------------------

    def llm_start(self, agent: Any, input_items: Any) -> None:
        """A model call of an instrumented agent: the run's first takes the before-snapshot."""
        rec = _state.active()
        current = _current_sdk_span()
        if rec is None or current is None or suppressed():
            return
        items = data_of.plain_items(input_items)
        with self._lock:
            run = self._run_of(current.span_id, current.trace_id)
            if run is None:
                return
            run.input, run.items = items, list(items)
            if run.agent is not None:
                return
            run.agent = agent
            run.number = _next_number(agent, rec)
        run.anchor = self._mirror_above(current.span_id)
        self._snapshot(rec, run, "before")

    def llm_end(self, agent: Any, response: Any) -> None:
        """The model replied: the run's items are its input and the reply's items."""
        current = _current_sdk_span()
        if current is None:
            return
        outputs = [data_of.plain_item(item) for item in response.to_input_items()]
        with self._lock:
            run = self._run_of(current.span_id, current.trace_id)
            if run is not None:
                run.items = [*run.input, *outputs]

    def _end_run(self, run: _Run | None) -> None:
        if run is not None and run.seen:
            with self._lock:  # a next run sent this conversation again: no message twice
                self._last_seen = run.seen
        rec = _state.active()
        if run is None or run.agent is None or rec is None:
            return
        self._snapshot(rec, run, "after")

    def _snapshot(self, rec: Recorder, run: _Run, where: str) -> None:
        """Snapshot the run's agent holding the run's items, under its ``invoke_agent`` span."""
        setattr(run.agent, ITEMS_ATTRIBUTE, list(run.items))
        anchor = run.anchor
        if anchor is not None and not anchor.is_recording():  # ended: a child snapshot span
            anchor = NonRecordingSpan(anchor.get_span_context())
        context = trace.set_span_in_context(anchor) if anchor is not None else None
        token = otel_context.attach(context) if context is not None else None
        try:
            with guard(f"snapshot {where} invocation"):
                rec.take_snapshot(
                    run.agent,
                    f"{where} invocation {run.number}",
                    last_query=data_of.last_text(run.input, role="user"),
                    last_result=data_of.last_text(run.items, role="assistant")
                    if where == "after"
                    else "",
                )
        finally:
            if token is not None:
                otel_context.detach(token)

    # -- span data --------------------------------------------------------------------

    def _finish(self, otel_span: Span, span: Any) -> None:
        data = span.span_data
        kind = data.type
        if kind in ("generation", "response"):
            self._finish_model_call(otel_span, span)
        elif kind == "function":
            otel_span.set_attribute(attr.GEN_AI_TOOL_CALL_ARGUMENTS, data.input or "{}")
            otel_span.set_attribute(
                attr.GEN_AI_TOOL_CALL_RESULT, "" if data.output is None else str(data.output)
            )
        elif kind == "handoff":
            otel_span.update_name(f"handoff {data.from_agent} -> {data.to_agent}")
            otel_span.set_attribute("devduck.handoff.from", str(data.from_agent))
            otel_span.set_attribute("devduck.handoff.to", str(data.to_agent))
        error = span.error
        if error:
            detail = error.get("data")
            message = str(error.get("message"))
            mark_error(otel_span, f"{message}: {data_of.json_text(detail)}" if detail else message)

    def _finish_model_call(self, otel_span: Span, span: Any) -> None:
        data = span.span_data
        usage = data.usage or {}
        set_usage(otel_span, usage.get("input_tokens"), usage.get("output_tokens"))
        exchange = data_of.exchange(data)
        if exchange is None:
            return
        model, inputs, outputs = exchange
        if model:
            otel_span.set_attribute(attr.GEN_AI_REQUEST_MODEL, model)
            otel_span.update_name(f"{attr.OP_CHAT} {model}")
        otel_span.set_attribute(GEN_AI_INPUT_MESSAGES, data_of.json_text(inputs))
        otel_span.set_attribute(GEN_AI_OUTPUT_MESSAGES, data_of.json_text(outputs))
        with self._lock:
            run = self._run_of(span.span_id, span.trace_id)
            seen = run.seen if run is not None and run.seen else self._last_seen
            new = inputs[data_of.common_prefix(seen, inputs) :]
            if run is not None:
                run.seen = [*inputs, *outputs]
        rec = _state.active()
        if rec is not None:
            for item in [*new, *outputs]:
                rec.emit("agent", EVENT_MESSAGE, data_of.message(item), span=otel_span)
            if self.every_run:
                self._observe(rec, span, model, inputs, outputs)

    def _observe(
        self, rec: Recorder, span: Any, model: str | None, inputs: list[Any], outputs: list[Any]
    ) -> None:
        """A model call in a run no hooks tell of: its first takes the before-snapshot."""
        with self._lock:
            run = self._run_of(span.span_id, span.trace_id)
            if run is None or not (run.agent is None or isinstance(run.agent, ObservedAgent)):
                return
            agent_id = next((a for a in self._walk(span.span_id) if a in self._agent_data), "")
            agent, items = observe(self._agent_data.get(agent_id), span.span_data, model, inputs)
            if span.span_data.type == "generation":  # full dumps: None fields the
                outputs = data_of.compact(outputs)  # sent-back input item lacks
            run.input, run.items = items, [*items, *outputs]
            if run.agent is not None:
                return
            run.agent = agent
            key = (rec.session_id, agent.name)
            run.number = self._counts[key] = self._counts.get(key, 0) + 1
            run.anchor = self._mirrors[agent_id].span if agent_id in self._mirrors else None
        before = _Run(agent, run.number, run.anchor, items, list(items))
        self._snapshot(rec, before, "before")


def _next_number(agent: Any, rec: Recorder) -> int:
    """Number the agent's next run in ``rec``'s session, from 1 (kept on the agent)."""
    session, count = getattr(agent, RUNS_ATTRIBUTE, ("", 0))
    count = count + 1 if session == rec.session_id else 1
    setattr(agent, RUNS_ATTRIBUTE, (rec.session_id, count))
    return int(count)


def _release(mirror: _Mirror) -> None:
    """Detach the mirror's context, only in the context it was attached in."""
    if mirror.marker is None or mirror.token is None:
        return
    try:
        _MARK.reset(mirror.marker)
    except ValueError:  # ended in another context: the SDK does not reset its own there
        return
    otel_context.detach(mirror.token)


def _current_sdk_span() -> Any:
    from agents.tracing import get_current_span

    return get_current_span()


def _describe_start(rec: Recorder, data: Any) -> tuple[str | None, dict[str, Any]]:
    kind = data.type
    if kind == "agent":
        return f"{attr.OP_INVOKE_AGENT} {data.name}", agent_attributes(rec, data.name)
    if kind in ("generation", "response"):
        model = getattr(data, "model", None) or ""
        return (
            f"{attr.OP_CHAT} {model}".strip(),
            {
                attr.DEVDUCK_LAYER: "agent",
                attr.DEVDUCK_EVENT_TYPE: EVENT_MODEL_CALL,
                attr.GEN_AI_OPERATION_NAME: attr.OP_CHAT,
                attr.GEN_AI_PROVIDER_NAME: "openai",
                attr.GEN_AI_CONVERSATION_ID: rec.session_id,
            },
        )
    if kind == "function":
        return f"{attr.OP_EXECUTE_TOOL} {data.name}", tool_attributes(data.name, "")
    if kind == "handoff":
        return "handoff", {attr.DEVDUCK_LAYER: "agent", attr.DEVDUCK_EVENT_TYPE: "agent.handoff"}
    return None, {}
