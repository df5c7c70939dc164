"""``@devduck_otel.llm``: a hand-written agent's model call, recorded whole.

Each call is one ``chat {name}`` span (GenAI conventions) holding a ``model.call``
event whose ``request`` is the call's arguments (by parameter name) and whose
``response`` is its return value, so the call can be replayed.

Example:
    >>> import devduck_otel
    >>> @devduck_otel.llm(name="my-model")
    ... def complete(messages: list[dict[str, str]]) -> str:
    ...     return "hello"
    >>> complete([{"role": "user", "content": "hi"}])
    'hello'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from devduck_otel import _attributes as A
from devduck_otel import _state
from devduck_otel._guard import guard
from devduck_otel.capture._genai import mark_error
from devduck_otel.capture._tool import _binder
from devduck_otel.capture._wrapping import bare_or_named, wrap_call
from devduck_otel.replay import _hook

if TYPE_CHECKING:
    from devduck_otel._recorder import Recorder

F = TypeVar("F", bound=Callable[..., Any])


class _Call:
    """The recording side of one model call."""

    __slots__ = ("name", "rec", "request", "span", "token")

    def __init__(self, rec: Recorder, name: str, request: dict[str, Any]) -> None:
        self.rec, self.name, self.request = rec, name, request
        self.span = rec.tracer.start_span(
            f"{A.OP_CHAT} {name}",
            kind=SpanKind.CLIENT,
            attributes={
                A.DEVDUCK_LAYER: "agent",
                A.DEVDUCK_EVENT_TYPE: "model.call",
                A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                A.GEN_AI_REQUEST_MODEL: name,
            },
        )
        self.token = context_api.attach(trace.set_span_in_context(self.span))

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        try:
            with guard("recording a model call"):
                data: dict[str, Any] = {"name": self.name, "request": self.request}
                data["response"] = result
                if error is not None:
                    mark_error(self.span, error)
                    data["error"] = f"{type(error).__name__}: {error}"
                self.rec.emit("agent", "model.call", data, span=self.span)
        finally:
            context_api.detach(self.token)
            with guard("ending a model span"):
                self.span.end()


def _wrap(fn: F, name: str) -> F:
    bind = _binder(fn)

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call | None:
        rec = _state.active()
        if rec is None or context_api.get_value(context_api._SUPPRESS_INSTRUMENTATION_KEY):
            return None
        with guard("starting a model call"):
            return _Call(rec, name, bind(args, kwargs))
        return None

    return wrap_call(_hook.served(fn, "model", name, bind), begin)


@overload
def llm(fn: F, /) -> F: ...
@overload
def llm(*, name: str | None = None) -> Callable[[F], F]: ...


def llm(fn: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
    """Record each call of a model-calling function whole, so it can be replayed.

    The arguments are the request and the return value the response. During a replay
    the recorded response is returned and the function is not called.

    Args:
        fn: The function, when used bare.
        name: The model's name, for the span ``chat {name}``; defaults to the
            function's ``__name__``.

    Returns:
        The wrapped function, or a decorator.
    """
    return bare_or_named(fn, name, _wrap)
