"""``@devduck_otel.agent``: an ``invoke_agent {name}`` span per call, with messages.

The query (the first string argument) is recorded as a ``user`` message and the
return value as an ``assistant`` message; an exception as an ``error`` message, and
then re-raised unchanged. The decorator takes no snapshot by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from devduck_otel import _attributes as A
from devduck_otel import _state
from devduck_otel._guard import guard
from devduck_otel.capture._wrapping import bare_or_named, wrap_call
from devduck_otel.session._jsonsafe import error_text, safe_repr

if TYPE_CHECKING:
    from devduck_otel._recorder import Recorder

F = TypeVar("F", bound=Callable[..., Any])
PREVIEW_CHARS = 500


def message_data(role: str, content: Any) -> dict[str, Any]:
    """Return the data of a ``message`` event: role, preview and full content."""
    preview = content if isinstance(content, str) else safe_repr(content, PREVIEW_CHARS)
    return {"role": role, "content_preview": preview[:PREVIEW_CHARS], "content": content}


def start_agent_span(rec: Recorder, name: str) -> Span:
    """Start an ``invoke_agent`` span for ``name`` linked to the parent session, if any."""
    return rec.tracer.start_span(
        f"invoke_agent {name}",
        attributes={
            A.DEVDUCK_LAYER: "agent",
            A.DEVDUCK_EVENT_TYPE: "agent.invoke",
            A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_AGENT,
            A.GEN_AI_AGENT_NAME: name,
            A.GEN_AI_CONVERSATION_ID: rec.session_id,
        },
        links=rec.links,
    )


class _Invocation:
    __slots__ = ("rec", "span", "token")

    def __init__(
        self, rec: Recorder, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self.rec = rec
        self.span = start_agent_span(rec, name)
        self.token = context_api.attach(trace.set_span_in_context(self.span))
        query = next((a for a in (*args, *kwargs.values()) if isinstance(a, str)), None)
        if query is not None:
            rec.emit("agent", "message", message_data("user", query), span=self.span)

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        try:
            if error is None:
                self.rec.emit("agent", "message", message_data("assistant", result), span=self.span)
            else:
                self.rec.emit(
                    "agent",
                    "message",
                    message_data("error", error_text(error)),
                    span=self.span,
                )
                with guard("recording an agent error"):
                    self.span.set_attribute(A.ERROR_TYPE, type(error).__qualname__)
                    self.span.set_status(Status(StatusCode.ERROR, error_text(error)))
        finally:
            context_api.detach(self.token)
            with guard("ending an agent span"):
                self.span.end()


def _begin(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Invocation | None:
    rec = _state.active()
    if rec is None:
        return None
    with guard(f"starting agent {name}"):
        return _Invocation(rec, name, args, kwargs)
    return None


def _wrap(fn: F, name: str) -> F:
    return wrap_call(fn, lambda args, kwargs: _begin(name, args, kwargs))


@overload
def agent(fn: F, /) -> F: ...
@overload
def agent(*, name: str | None = None) -> Callable[[F], F]: ...


def agent(fn: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
    """Record each call of an agent function as an ``invoke_agent`` span.

    Args:
        fn: The function, when used bare.
        name: The agent's name; defaults to the function's ``__name__``.

    Returns:
        The wrapped function, or a decorator.
    """
    return bare_or_named(fn, name, _wrap)
