"""OpenAI Agents SDK integration: a ``TracingProcessor`` that turns the SDK's spans into OTel.

Recording goes through the SDK's own tracing interface only
(``agents.tracing.add_trace_processor``; no monkeypatching, and the processors the
user set up, the export to OpenAI's service among them, stay as they are). Each SDK
span becomes an OTel span through ``rec.tracer``, parented as the SDK parents it:

* agent spans: ``invoke_agent {name}``, with a snapshot before and after when the
  agent was passed to ``instrument(agent)``;
* generation spans: ``chat {model}`` with ``gen_ai.input.messages`` /
  ``gen_ai.output.messages``, the model and token usage;
* response spans (the Responses API): ``chat`` with the usage;
* function spans: ``execute_tool {name}`` with the call's arguments and result;
* handoff spans: ``handoff {from} -> {to}``.

The SDK hands spans to processors only while its tracing is enabled: under
``OPENAI_AGENTS_DISABLE_TRACING=true``, ``set_tracing_disabled(True)`` or
``RunConfig(tracing_disabled=True)`` no processor sees a span, so nothing of the run
is recorded (``instrument`` warns about the first two). A missing OpenAI API key only
stops the SDK's own exporter; this processor records all the same.

Example:
    >>> import devduck_otel
    >>> from agents import Agent
    >>> agent = Agent(name="assistant")  # doctest: +SKIP
    >>> devduck_otel.instrument(agent)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import sys
import threading
import warnings
from typing import TYPE_CHECKING, Any, Final, cast

from opentelemetry import trace
from opentelemetry.trace import Span

from devduck_otel import _attributes as attr
from devduck_otel import _state
from devduck_otel._guard import guard
from devduck_otel.capture._genai import agent_attributes, mark_error, tool_attributes
from devduck_otel.integrations._base import EVENT_MESSAGE, set_usage, suppressed

if TYPE_CHECKING:
    from agents.tracing import TracingProcessor

TESTED_VERSION: Final = "0.24.0"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
ITEMS_ATTRIBUTE: Final = "_devduck_items"

_lock = threading.Lock()
_processor: DevduckTracingProcessor | None = None
_warned: set[str] = set()


def is_openai_agent(agent: Any) -> bool:
    """Return whether ``agent`` is an ``agents.Agent`` (importing ``agents`` only then)."""
    if not type(agent).__module__.startswith("agents."):
        return False
    module = sys.modules.get("agents.agent")
    agent_class = getattr(module, "Agent", None)
    return isinstance(agent_class, type) and isinstance(agent, agent_class)


def _check_version() -> None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("openai-agents")
    except PackageNotFoundError:  # pragma: no cover - vendored copies
        return
    if found != TESTED_VERSION and found not in _warned:
        _warned.add(found)
        warnings.warn(
            f"devduck-otel: openai-agents {found} is untested (tested: {TESTED_VERSION}); "
            "recording goes on",
            UserWarning,
            stacklevel=3,
        )


def register_processor() -> DevduckTracingProcessor:
    """Add devduck's processor to the SDK's trace provider once and return it."""
    global _processor
    with _lock:
        if _processor is None:
            from agents.tracing import TracingProcessor, add_trace_processor

            # A real TracingProcessor subclass, built here so `agents` is imported lazily.
            kind = type("DevduckTracingProcessor", (DevduckTracingProcessor, TracingProcessor), {})
            _processor = kind()
            add_trace_processor(cast("TracingProcessor", _processor))
    _warn_if_disabled()
    return _processor


def _warn_if_disabled() -> None:
    """Warn when the SDK's tracing is off: then no processor sees a span of any run."""
    from agents.tracing import get_trace_provider

    provider = get_trace_provider()
    refresh = getattr(provider, "_refresh_disabled_flag", None)  # reads the env var
    if callable(refresh):
        refresh()
    if getattr(provider, "_disabled", False):
        warnings.warn(
            "devduck-otel: the OpenAI Agents SDK's tracing is disabled "
            "(OPENAI_AGENTS_DISABLE_TRACING or set_tracing_disabled): its runs "
            "reach no trace processor and are not recorded",
            UserWarning,
            stacklevel=4,
        )


class OpenAIAgentsAdapter:
    """Reads, restores and instruments an ``agents.Agent``.

    Its "messages" are the input items of the agent's last model request followed by
    that request's output items, kept on the agent by the processor: what a run
    continued with ``Runner.run(agent, items + [new input])`` needs.
    """

    framework = "openai-agents"

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    @staticmethod
    def accepts(agent: Any) -> bool:
        """Return whether ``agent`` is an ``agents.Agent``."""
        return is_openai_agent(agent)

    def messages(self) -> list[Any]:
        """Return the items of the agent's last model exchange (the live list)."""
        items = getattr(self.agent, ITEMS_ATTRIBUTE, None)
        if not isinstance(items, list):
            items = []
            setattr(self.agent, ITEMS_ATTRIBUTE, items)
        return items

    def system_prompt(self) -> str | None:
        """Return the agent's instructions when they are text."""
        instructions = self.agent.instructions
        return instructions if isinstance(instructions, str) else None

    def tool_names(self) -> list[str]:
        """Return the names of the agent's tools and handoffs."""
        names = [str(getattr(t, "name", t)) for t in self.agent.tools]
        for handoff in self.agent.handoffs:
            names.append(
                f"handoff:{getattr(handoff, 'name', None) or getattr(handoff, 'agent_name', '')}"
            )
        return names

    def model_info(self) -> dict[str, str | None]:
        """Return the model class (or ``str``), its name and the provider ``openai``."""
        model = self.agent.model
        model_id = model if isinstance(model, str) else getattr(model, "model", None)
        return {
            "type": type(model).__name__ if model is not None else None,
            "model_id": None if model_id is None else str(model_id),
            "provider": "openai",
        }

    def state(self) -> Any:
        """Return the agent's model settings as JSON."""
        settings = getattr(self.agent, "model_settings", None)
        to_json = getattr(settings, "to_json_dict", None)
        return {"model_settings": to_json()} if callable(to_json) else None

    def restore(self, *, messages: list[Any], system_prompt: str | None, state: Any) -> None:
        """Set the agent's items and instructions (model settings too, when recorded)."""
        setattr(self.agent, ITEMS_ATTRIBUTE, messages)
        if system_prompt is not None:
            self.agent.instructions = system_prompt
        settings = state.get("model_settings") if isinstance(state, dict) else None
        if isinstance(settings, dict):
            from agents import ModelSettings

            known = {k: v for k, v in settings.items() if k in ModelSettings.__dataclass_fields__}
            self.agent.model_settings = ModelSettings(**known)

    def invoke(self, query: str) -> Any:
        """Run one turn, ``Runner.run_sync(agent, items + [query])``; return its final output."""
        from agents import Runner

        self.instrument()
        items = [*self.messages(), {"role": "user", "content": query}]
        return Runner.run_sync(self.agent, items).final_output

    def instrument(self) -> None:
        """Register the processor and snapshot this agent's runs (idempotent)."""
        _check_version()
        register_processor().agents[self.agent.name] = self.agent

    def uninstrument(self) -> None:
        """Stop snapshotting this agent's runs (its spans are still recorded)."""
        if _processor is not None:
            _processor.agents.pop(self.agent.name, None)


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


class DevduckTracingProcessor:
    """An SDK ``TracingProcessor`` that mirrors SDK spans as devduck OTel spans."""

    def __init__(self) -> None:
        self.agents: dict[str, Any] = {}
        self._spans: dict[str, Span] = {}
        self._agent_of: dict[str, str] = {}
        self._alias: dict[str, str] = {}
        self._count = 0
        self._lock = threading.Lock()

    def on_trace_start(self, trace_: Any) -> None:
        """Nothing: an SDK trace is a run; its agent spans carry the snapshots."""

    def on_trace_end(self, trace_: Any) -> None:
        """Nothing to do at the end of a run."""

    def shutdown(self) -> None:
        """Nothing to release; the recorder owns the OTel pipeline."""

    def force_flush(self) -> None:
        """Nothing buffered here."""

    def on_span_start(self, span: Any) -> None:
        """Start the OTel span matching the SDK span, under its SDK parent."""
        rec = _state.active()
        if rec is None or suppressed():
            return
        with guard("openai-agents span start"):
            data = span.span_data
            name, attributes = self._describe_start(rec, data)
            if name is None:  # task, turn, custom, guardrail: children go to its parent
                with self._lock:
                    self._alias[span.span_id] = span.parent_id or ""
                return
            parent = self._parent(span.parent_id or "")
            context = trace.set_span_in_context(parent) if parent is not None else None
            otel_span = rec.tracer.start_span(name, context=context, attributes=attributes)
            with self._lock:
                self._spans[span.span_id] = otel_span
            if data.type == "agent":
                self._agent_of[span.span_id] = data.name
                self._snapshot(rec, otel_span, data.name, before=True)
            elif data.type == "generation":
                self._agent_of[span.span_id] = self._owning_agent(span.parent_id or "")

    def _parent(self, sdk_id: str) -> Span | None:
        with self._lock:
            for _ in range(64):  # a bounded walk up the spans devduck does not mirror
                if sdk_id in self._spans:
                    return self._spans[sdk_id]
                if sdk_id not in self._alias:
                    return None
                sdk_id = self._alias[sdk_id]
        return None

    def _owning_agent(self, sdk_id: str) -> str:
        with self._lock:
            for _ in range(64):
                if sdk_id in self._agent_of:
                    return self._agent_of[sdk_id]
                sdk_id = self._alias.get(sdk_id, "")
                if not sdk_id:
                    break
        return ""

    def _describe_start(self, rec: Any, data: Any) -> tuple[str | None, dict[str, Any]]:
        kind = data.type
        if kind == "agent":
            return f"{attr.OP_INVOKE_AGENT} {data.name}", agent_attributes(rec, data.name)
        if kind in ("generation", "response"):
            model = getattr(data, "model", None) or ""
            return (
                f"{attr.OP_CHAT} {model}".strip(),
                {
                    attr.DEVDUCK_LAYER: "agent",
                    attr.DEVDUCK_EVENT_TYPE: "model.call",
                    attr.GEN_AI_OPERATION_NAME: attr.OP_CHAT,
                    attr.GEN_AI_PROVIDER_NAME: "openai",
                    attr.GEN_AI_CONVERSATION_ID: rec.session_id,
                },
            )
        if kind == "function":
            return f"{attr.OP_EXECUTE_TOOL} {data.name}", tool_attributes(data.name, "")
        if kind == "handoff":
            return "handoff", {
                attr.DEVDUCK_LAYER: "agent",
                attr.DEVDUCK_EVENT_TYPE: "agent.handoff",
            }
        return None, {}

    def on_span_end(self, span: Any) -> None:
        """Copy the SDK span's data onto its OTel span and end it."""
        with self._lock:
            otel_span = self._spans.pop(span.span_id, None)
            self._alias.pop(span.span_id, None)
        if otel_span is None:
            return
        try:
            with guard("openai-agents span end"):
                self._finish(otel_span, span)
        finally:
            with guard("ending a span"):
                otel_span.end()

    def _finish(self, otel_span: Span, span: Any) -> None:
        data = span.span_data
        kind = data.type
        if kind == "generation":
            self._finish_generation(otel_span, data)
            self._keep_items(self._agent_of.pop(span.span_id, ""), data)
        elif kind == "response":
            usage = data.usage or {}
            set_usage(otel_span, usage.get("input_tokens"), usage.get("output_tokens"))
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
            mark_error(otel_span, f"{message}: {_json(detail)}" if detail else message)
        if kind == "agent":
            rec = _state.active()
            if rec is not None:
                self._snapshot(rec, otel_span, data.name, before=False)
            self._agent_of.pop(span.span_id, None)

    def _keep_items(self, name: str, data: Any) -> None:
        agent = self.agents.get(name)
        if agent is not None:
            items = [*(data.input or []), *(data.output or [])]
            setattr(agent, ITEMS_ATTRIBUTE, json.loads(_json(items)))

    def _finish_generation(self, otel_span: Span, data: Any) -> None:
        if data.model:
            otel_span.set_attribute(attr.GEN_AI_REQUEST_MODEL, str(data.model))
        inputs, outputs = list(data.input or []), list(data.output or [])
        otel_span.set_attribute(GEN_AI_INPUT_MESSAGES, _json(inputs))
        otel_span.set_attribute(GEN_AI_OUTPUT_MESSAGES, _json(outputs))
        usage = data.usage or {}
        set_usage(otel_span, usage.get("input_tokens"), usage.get("output_tokens"))
        rec = _state.active()
        if rec is not None:
            for item in outputs:
                rec.emit("agent", EVENT_MESSAGE, _message(item), span=otel_span)

    def _snapshot(self, rec: Any, otel_span: Span, name: str, *, before: bool) -> None:
        agent = self.agents.get(name)
        if agent is None:
            return
        with self._lock:
            if before:
                self._count += 1
            number = self._count
        where = "before" if before else "after"
        context = trace.set_span_in_context(otel_span)
        from opentelemetry import context as otel_context

        token = otel_context.attach(context)
        try:
            with guard(f"snapshot {where} invocation"):
                rec.take_snapshot(agent, f"{where} invocation {number}")
        finally:
            otel_context.detach(token)


def _message(item: Any) -> dict[str, Any]:
    from devduck_otel.capture._genai import message_data

    if isinstance(item, dict) and "role" in item:
        return message_data(item)
    return message_data(
        item, role=str(item.get("role", "assistant")) if isinstance(item, dict) else "assistant"
    )
