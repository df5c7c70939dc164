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

from devduck_otel import _state
from devduck_otel._guard import guard
from devduck_otel.capture._genai import error_text, mark_error, message_data, start_agent_span
from devduck_otel.capture._wrapping import bare_or_named, wrap_call

if TYPE_CHECKING:
    from devduck_otel._recorder import Recorder

F = TypeVar("F", bound=Callable[..., Any])


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
            rec.emit("agent", "message", message_data(query, "user"), span=self.span)

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        try:
            if error is None:
                self.rec.emit("agent", "message", message_data(result, "assistant"), span=self.span)
            else:
                self.rec.emit(
                    "agent",
                    "message",
                    message_data(error_text(error), "error"),
                    span=self.span,
                )
                with guard("recording an agent error"):
                    mark_error(self.span, error)
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
