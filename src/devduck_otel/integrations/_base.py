"""What every framework integration provides, and the recording steps they share.

``devduck_otel.integrations.adapter_for(agent)`` picks the adapter; snapshots, resume
and ``instrument(agent)`` only talk to agents through it. An integration for another
framework is one small module beside ``_strands.py``: an adapter class with
``accepts(agent)`` and the :class:`AgentAdapter` methods, listed in the table of
``integrations/__init__.py``. Its hooks call :func:`begin_invocation`,
:func:`emit_message` and :func:`end_invocation` so every framework records alike.

Example:
    >>> inv = begin_invocation(rec, adapter, name="my-agent", query="hi")  # doctest: +SKIP
    >>> emit_message(inv, {"role": "user", "content": "hi"})  # doctest: +SKIP
    >>> end_invocation(inv, adapter, result="hello")  # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span
from opentelemetry.util.types import AttributeValue

from devduck_otel import _attributes as attr
from devduck_otel._guard import guard
from devduck_otel.capture._genai import (
    EVENT_INVOKE_AGENT,
    agent_attributes,
    mark_error,
    message_data,
)

if TYPE_CHECKING:
    from devduck_otel._recorder import Recorder

EVENT_MESSAGE: Final = "message"
EVENT_MODEL_CALL: Final = "model.call"


@runtime_checkable
class AgentAdapter(Protocol):
    """How devduck-otel reads, restores, runs and instruments one kind of agent."""

    framework: str
    """Short framework name, for example ``"strands"`` or ``"generic"``."""

    agent: Any
    """The agent object itself."""

    def messages(self) -> list[Any]:
        """Return the agent's live message list (not a copy)."""
        ...

    def system_prompt(self) -> str | None:
        """Return the system prompt, or ``None``."""
        ...

    def tool_names(self) -> list[str]:
        """Return the names of the tools the agent has loaded."""
        ...

    def model_info(self) -> dict[str, str | None]:
        """Return ``{"type", "model_id", "provider"}`` (values may be ``None``)."""
        ...

    def state(self) -> Any:
        """Return the agent's extra state (``agent.state``; JSON when it can be), or ``None``."""
        ...

    def restore(self, *, messages: list[Any], system_prompt: str | None, state: Any) -> None:
        """Replace the agent's messages, system prompt and state (already deep copies)."""
        ...

    def invoke(self, query: str) -> Any:
        """Run one turn of the agent with ``query`` and return its result.

        While a recording runs the turn is recorded as an instrumented invocation
        would be, even when the agent is not instrumented (resume relies on it).
        """
        ...

    def instrument(self) -> None:
        """Install what records this agent (idempotent).

        Raises:
            TypeError: The agent lacks what recording needs (for example a call method).
        """
        ...

    def uninstrument(self) -> None:
        """Remove what ``instrument`` installed (idempotent)."""
        ...


class AdapterType(Protocol):
    """An adapter class as listed in the dispatch table of ``integrations/__init__.py``."""

    def accepts(self, agent: Any) -> bool:
        """Return whether the adapter handles ``agent``."""
        ...

    def __call__(self, agent: Any) -> AgentAdapter:
        """Build the adapter for ``agent``."""
        ...


@dataclass
class Invocation:
    """One recorded agent invocation: its span and what the after-snapshot needs."""

    recorder: Recorder
    span: Span
    number: int
    query: str
    opened: OpenSpan | None = None
    """The span devduck started (and ends); ``None`` when the framework's own
    recording span was adopted."""
    started: float = field(default_factory=time.monotonic)
    error: BaseException | None = None

    @property
    def owned(self) -> bool:
        """Whether devduck makes this invocation's spans (not the framework)."""
        return self.opened is not None


def agent_name(agent: Any) -> str:
    """Return the agent's ``name`` when it is a non-empty string, else its class name."""
    name = getattr(agent, "name", None)
    return name if isinstance(name, str) and name else type(agent).__name__


@dataclass
class OpenSpan:
    """A devduck span made current by :func:`open_span`; ``close()`` ends it."""

    span: Span
    token: contextvars.Token[otel_context.Context]

    def close(self) -> None:
        """Detach the span from the context and end it.

        An application span processor that raises on end never reaches the agent.
        """
        otel_context.detach(self.token)
        with guard("ending a span"):
            self.span.end()


def open_span(
    rec: Recorder,
    name: str,
    *,
    layer: attr.Layer,
    event_type: str,
    attributes: Mapping[str, AttributeValue],
    links: Sequence[Link] = (),
) -> OpenSpan:
    """Start a devduck span through ``rec.tracer`` and make it the current span.

    Args:
        rec: The active recorder.
        name: The span name.
        layer: Its ``devduck.layer``.
        event_type: Its ``devduck.event_type``.
        attributes: Further attributes.
        links: Span links.

    Returns:
        The open span; call ``close()`` in the same context.
    """
    span = rec.tracer.start_span(
        name,
        attributes={attr.DEVDUCK_LAYER: layer, attr.DEVDUCK_EVENT_TYPE: event_type, **attributes},
        links=links,
    )
    return OpenSpan(span, otel_context.attach(trace.set_span_in_context(span)))


def begin_invocation(
    rec: Recorder,
    adapter: AgentAdapter,
    *,
    name: str,
    number: int,
    query: str,
    adopt: Span | None = None,
) -> Invocation:
    """Open the ``invoke_agent`` span (or adopt the framework's) and snapshot before.

    Args:
        rec: The active recorder.
        adapter: The agent's adapter (for the snapshot).
        name: Agent name for the span name and ``gen_ai.agent.name``.
        number: Invocation number, counted from 1, for the snapshot description.
        query: The user input of the invocation, as text.
        adopt: A recording span the framework already made for this invocation; devduck
            then adds its attributes to it instead of making a second one.

    Returns:
        The invocation; pass it to :func:`end_invocation`.
    """
    attributes = agent_attributes(rec, name)
    if adopt is not None:
        adopt.set_attributes(attributes)
        for link in rec.links:
            adopt.add_link(link.context, link.attributes)
        inv = Invocation(rec, adopt, number, query)
    else:
        opened = open_span(
            rec,
            f"{attr.OP_INVOKE_AGENT} {name}",
            layer="agent",
            event_type=EVENT_INVOKE_AGENT,
            attributes=attributes,
            links=rec.links,
        )
        inv = Invocation(rec, opened.span, number, query, opened=opened)
    with guard("snapshot before invocation"):
        rec.take_snapshot(adapter.agent, f"before invocation {number}", last_query=query)
    return inv


def suppressed() -> bool:
    """Whether OpenTelemetry instrumentation is suppressed in the current context."""
    return bool(otel_context.get_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY))


def emit_message(inv: Invocation, message: Any) -> None:
    """Record one message added to the conversation, on the invocation's span."""
    with guard("message event"):
        inv.recorder.emit("agent", EVENT_MESSAGE, message_data(message), span=inv.span)


def end_invocation(
    inv: Invocation,
    adapter: AgentAdapter,
    *,
    result: Any = None,
    error: BaseException | None = None,
) -> None:
    """Snapshot after the invocation, mark an error, and end the span if devduck owns it.

    Args:
        inv: What :func:`begin_invocation` returned.
        adapter: The agent's adapter (for the snapshot).
        result: The invocation's result; its ``str`` is the snapshot's ``last_result``.
        error: The exception that ended the invocation, if any.
    """
    try:
        with guard("snapshot after invocation"):
            last_result = "" if result is None else str(result)
            inv.recorder.take_snapshot(
                adapter.agent,
                f"after invocation {inv.number}",
                last_query=inv.query,
                last_result=last_result,
            )
        error = error or inv.error
        if error is not None:
            with guard("recording an agent error"):
                mark_error(inv.span, error)
    finally:
        if inv.opened is not None:
            inv.opened.close()


def set_usage(span: Span, input_tokens: Any, output_tokens: Any) -> None:
    """Set the GenAI token usage attributes on ``span`` (integers only)."""
    for name, value in (
        (attr.GEN_AI_USAGE_INPUT_TOKENS, input_tokens),
        (attr.GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens),
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            span.set_attribute(name, value)
