"""``@devduck_otel.tool``: one ``execute_tool {name}`` span per call, sync or async.

The span carries the GenAI attributes; ``tool.call`` and ``tool.result`` events carry
the arguments and the result (JSON types kept). The tool's exception reaches the
caller unchanged, after ``error.type`` is recorded.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from contextvars import Token
from typing import TYPE_CHECKING, Any, TypeVar, overload

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from devduck_otel import _attributes as A
from devduck_otel import _state
from devduck_otel._guard import guard
from devduck_otel.capture import _syslayer
from devduck_otel.capture._genai import error_text, mark_error, tool_attributes
from devduck_otel.capture._wrapping import bare_or_named, wrap_call
from devduck_otel.replay import _hook
from devduck_otel.session import _jsonsafe

if TYPE_CHECKING:
    from devduck_otel._recorder import Recorder

F = TypeVar("F", bound=Callable[..., Any])

_START_GUARD = guard("starting a tool call")


class _Call:
    """The recording side of one tool call: span, events, timing."""

    __slots__ = ("call_id", "name", "rec", "span", "token")

    def __init__(
        self, rec: Recorder, name: str, args: dict[str, Any], *, attach: bool = True
    ) -> None:
        self.rec = rec
        self.name = name
        self.call_id = rec.next_call_id()
        self.span: Span = rec.tracer.start_span(
            f"execute_tool {name}",
            kind=SpanKind.INTERNAL,
            attributes={
                **tool_attributes(name, self.call_id),
                A.GEN_AI_TOOL_CALL_ARGUMENTS: encode_value(args, rec.pickler),
            },
        )
        self.token = self.activate() if attach else None

    def activate(self) -> Token[Context]:
        """Make the tool span the current span; returns the token to detach."""
        return context_api.attach(trace.set_span_in_context(self.span))

    def _record_error(self, error: BaseException, text: str) -> None:
        mark_error(self.span, error)
        try:
            with _syslayer.suppressed():  # traceback formatting reads source files
                self.span.record_exception(error)
        except Exception:  # the exception's own __str__ fails: record what can be shown
            self.span.add_event(
                "exception", {"exception.type": type(error).__qualname__, "exception.message": text}
            )

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        try:
            if error is not None:
                with guard("recording a tool error"):
                    self._record_error(error, error_text(error))
            else:
                with guard("recording a tool result"):
                    self.span.set_attribute(
                        A.GEN_AI_TOOL_CALL_RESULT, encode_value(result, self.rec.pickler)
                    )
        finally:
            if self.token is not None:
                context_api.detach(self.token)
            with guard("ending a tool span"):  # an application's span processor may raise
                self.span.end()


def encode_value(value: Any, pickler: Any) -> str:
    """A tool's arguments or result as the JSON string the GenAI conventions carry."""
    return _jsonsafe.dumps(value, pickler).decode()


def _binder(fn: Callable[..., Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]]:
    """Map a call's arguments to parameter names, cheaply (no ``Signature.bind``)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    star = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = dict(zip(names, args, strict=False))
        if len(args) > len(names):
            bound[star or "args"] = list(args[len(names) :])
        if kwargs:
            bound.update(kwargs)
        return bound

    return bind


def _start(
    name: str, bind: Callable[..., dict[str, Any]], args: Any, kwargs: Any, *, attach: bool = True
) -> _Call | None:
    rec = _state.active()
    if rec is None or context_api.get_value(context_api._SUPPRESS_INSTRUMENTATION_KEY):
        return None
    with _START_GUARD:
        return _Call(rec, name, bind(args, kwargs), attach=attach)
    return None


def _wrap(fn: F, name: str) -> F:
    bind = _binder(fn)
    if inspect.isasyncgenfunction(fn):
        return _wrap_async_gen(fn, name, bind)  # type: ignore[return-value]
    if inspect.isgeneratorfunction(fn):
        return _wrap_gen(fn, name, bind)  # type: ignore[return-value]
    served = _hook.served(fn, "tool", name, bind)  # a replay returns the recorded result
    return wrap_call(served, lambda args, kwargs: _start(name, bind, args, kwargs))


def _in_span(call: _Call, items: list[Any], step: Callable[[], Any]) -> Any:
    """Run ``step`` with the tool span current; a failure ends the span with the error."""
    token = call.activate()
    try:
        return step()
    except StopIteration:
        raise
    except BaseException as exc:
        call.finish(items, error=exc)
        raise
    finally:
        context_api.detach(token)


def _wrap_gen(
    fn: Callable[..., Generator[Any, Any, Any]], name: str, bind: Any
) -> Callable[..., Iterator[Any]]:
    @functools.wraps(fn)
    def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        call = _start(name, bind, args, kwargs, attach=False)
        if call is None:
            return (yield from _hook.generated(fn, name, bind, args, kwargs))
        items: list[Any] = []
        try:  # a replay yields the recorded items
            iterator = _hook.generated(fn, name, bind, args, kwargs)
        except BaseException as exc:
            call.finish(items, error=exc)
            raise
        failed = False
        try:
            while True:
                try:
                    item = _in_span(call, items, functools.partial(next, iterator))
                except StopIteration:
                    break
                except BaseException:
                    failed = True
                    raise
                items.append(item)
                yield item
        finally:  # also when dropped, broken out of or close()d: the span always ends
            if not failed:
                _in_span(call, items, iterator.close)  # the tool's finally runs in its span
                call.finish(items)
        return None

    return gen_wrapper


def _wrap_async_gen(
    fn: Callable[..., AsyncIterator[Any]], name: str, bind: Any
) -> Callable[..., AsyncIterator[Any]]:
    @functools.wraps(fn)
    async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        call = _start(name, bind, args, kwargs, attach=False)
        items: list[Any] = []
        try:  # a replay yields the recorded items
            source = _hook.agenerated(fn, name, bind, args, kwargs)
        except BaseException as exc:
            if call is not None:
                call.finish(items, error=exc)
            raise
        iterator = source.__aiter__()
        failed = False
        try:
            while True:
                try:
                    item = await _ain_span(call, items, iterator.__anext__)
                except StopAsyncIteration:
                    break
                except BaseException:
                    failed = True
                    raise
                items.append(item)
                yield item
        finally:  # also when broken out of or aclose()d: the span always ends
            if not failed:
                aclose = getattr(source, "aclose", None)
                if aclose is not None:  # the tool's own finally blocks run in its span
                    await _ain_span(call, items, aclose)
                if call is not None:
                    call.finish(items)

    return agen_wrapper


async def _ain_span(
    call: _Call | None, items: list[Any], step: Callable[[], Awaitable[Any]]
) -> Any:
    """Await ``step`` with the tool span current; a failure ends the span with the error."""
    token = call.activate() if call is not None else None
    try:
        return await step()
    except StopAsyncIteration:
        raise
    except BaseException as exc:
        if call is not None:
            call.finish(items, error=exc)
        raise
    finally:
        if token is not None:
            context_api.detach(token)


@overload
def tool(fn: F, /) -> F: ...
@overload
def tool(*, name: str | None = None) -> Callable[[F], F]: ...


def tool(fn: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
    """Record each call of a tool function (sync, async, or generator).

    Used bare (``@tool``) the span is named after the function; ``@tool(name="x")``
    overrides it. Outside a recording the function runs untouched.

    Args:
        fn: The function, when used bare.
        name: The tool's name; defaults to the function's ``__name__``.

    Returns:
        The wrapped function, or a decorator.
    """
    return bare_or_named(fn, name, _wrap)
