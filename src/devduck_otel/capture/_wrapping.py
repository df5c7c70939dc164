"""One wrapper for sync and async callables, shared by ``@tool`` and ``@agent``.

``begin(args, kwargs)`` returns a call record (or ``None`` outside a recording); the
record's ``finish(result, error=...)`` ends it. User exceptions are re-raised unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Call(Protocol):
    """What ``begin`` returns: something to finish with the result or the error."""

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        """End the call."""
        ...


Begin = Callable[[tuple[Any, ...], dict[str, Any]], "Call | None"]


def wrap_call(fn: F, begin: Begin) -> F:
    """Wrap a sync or async function so each call is begun and finished."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            call = begin(args, kwargs)
            if call is None:
                return await fn(*args, **kwargs)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                call.finish(error=exc)
                raise
            call.finish(result)
            return result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = begin(args, kwargs)
        if call is None:
            return fn(*args, **kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            call.finish(error=exc)
            raise
        call.finish(result)
        return result

    return wrapper  # type: ignore[return-value]


def bare_or_named(
    fn: F | None, name: str | None, wrap: Callable[[F, str], F]
) -> F | Callable[[F], F]:
    """Serve a decorator used bare (``@tool``) or with options (``@tool(name="x")``)."""
    if fn is not None:
        return wrap(fn, name or fn.__name__)

    def decorate(inner: F) -> F:
        return wrap(inner, name or inner.__name__)

    return decorate
