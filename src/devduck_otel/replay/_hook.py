"""The replay context that ``@devduck_otel.tool`` and ``@devduck_otel.llm`` consult.

A leaf module (no package imports), so the decorators can import it cheaply. While a
replay runs, :data:`PLAYER` holds something with ``serve(kind, name, request)``: it
returns :data:`LIVE` (run the function) or the recorded value, or raises the
recorded error.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any, Final, Protocol, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

LIVE: Final = object()
"""What ``serve`` returns when the call should run for real."""


class Server(Protocol):
    """What a replay puts in the context."""

    def serve(self, kind: str, name: str, request: Any) -> Any:
        """Return the recorded response, or :data:`LIVE`."""
        ...


PLAYER: contextvars.ContextVar[Server | None] = contextvars.ContextVar(
    "devduck_replay_player", default=None
)


INSIDE_LIVE_STEP: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "devduck_replay_inside_live_step", default=False
)
"""True while a step runs live: the calls it makes are part of it, not steps of their own."""


def _live(fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    token = INSIDE_LIVE_STEP.set(True)
    try:
        return fn(*args, **kwargs)
    finally:
        INSIDE_LIVE_STEP.reset(token)


def served(fn: F, kind: str, name: str, bind: Callable[[Any, Any], dict[str, Any]]) -> F:
    """Wrap ``fn`` so that, during a replay, its recorded result is returned instead.

    Args:
        fn: A sync or async function (not a generator).
        kind: ``"tool"`` or ``"model"``.
        name: The step name.
        bind: Maps ``(args, kwargs)`` to the request dict.

    Returns:
        The wrapped function; outside a replay it calls ``fn`` unchanged.
    """
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_inner(*args: Any, **kwargs: Any) -> Any:
            player = PLAYER.get()
            value = LIVE if player is None else player.serve(kind, name, bind(args, kwargs))
            if value is not LIVE:
                return value
            if player is None:
                return await fn(*args, **kwargs)
            token = INSIDE_LIVE_STEP.set(True)
            try:
                return await fn(*args, **kwargs)
            finally:
                INSIDE_LIVE_STEP.reset(token)

        return async_inner  # type: ignore[return-value]

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        player = PLAYER.get()
        value = LIVE if player is None else player.serve(kind, name, bind(args, kwargs))
        if value is not LIVE:
            return value
        return fn(*args, **kwargs) if player is None else _live(fn, args, kwargs)

    return inner  # type: ignore[return-value]


def _recorded(name: str, bind: Callable[[Any, Any], dict[str, Any]], args: Any, kwargs: Any) -> Any:
    """A generator tool's recorded items during a replay (a list), else :data:`LIVE`."""
    player = PLAYER.get()
    value = LIVE if player is None else player.serve("tool", name, bind(args, kwargs))
    return value if value is LIVE or isinstance(value, list) else [value]


def generated(
    fn: Callable[..., Any],
    name: str,
    bind: Callable[[Any, Any], dict[str, Any]],
    args: Any,
    kwargs: Any,
) -> Generator[Any, Any, Any]:
    """The generator a generator tool yields from: during a replay, the recorded items.

    Raises:
        Exception: The recorded error (the step recorded one), or a divergence.
    """
    items = _recorded(name, bind, args, kwargs)
    return fn(*args, **kwargs) if items is LIVE else (item for item in items)


async def _replayed(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def agenerated(
    fn: Callable[..., Any],
    name: str,
    bind: Callable[[Any, Any], dict[str, Any]],
    args: Any,
    kwargs: Any,
) -> AsyncIterator[Any]:
    """The async iterator an async generator tool yields from (see :func:`generated`)."""
    items = _recorded(name, bind, args, kwargs)
    return fn(*args, **kwargs) if items is LIVE else _replayed(items)
