"""Carry the OpenTelemetry context into threads, so tool spans keep their caller.

``contextvars`` do not cross into a new thread or a pool worker: a tool called there
would start a new trace instead of nesting under the agent or tool that called it.
``wrap_context`` captures the caller's context when it is called and runs the
function in it; ``ContextThreadPoolExecutor`` does that for every ``submit`` (and
so for ``map``). ``asyncio`` tasks need nothing: each task copies the context of
the code that created it.

Example:
    >>> import threading
    >>> import devduck_otel
    >>> @devduck_otel.tool
    ... def lookup(key: str) -> str:
    ...     return key.upper()
    >>> worker = threading.Thread(target=wrap_context(lookup), args=("a",))
    >>> worker.start(); worker.join()
    >>> with ContextThreadPoolExecutor(max_workers=4) as pool:
    ...     list(pool.map(lookup, ["a", "b"]))
    ['A', 'B']
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from opentelemetry import context as context_api
from opentelemetry.context import Context

__all__ = ["ContextThreadPoolExecutor", "wrap_context"]

P = ParamSpec("P")
R = TypeVar("R")


def wrap_context(fn: Callable[P, R], *, context: Context | None = None) -> Callable[P, R]:
    """Return ``fn`` bound to the current OpenTelemetry context, to run in another thread.

    The context is captured now, when ``wrap_context`` is called, and attached around
    every call of the returned function (which may run any number of times, in any
    threads, also at once).

    Args:
        fn: The function to run elsewhere (a thread target, a pool task, a callback).
        context: The context to run it in. Defaults to the current one.

    Returns:
        A function with ``fn``'s signature that runs ``fn`` in the captured context.
    """
    captured = context if context is not None else context_api.get_current()

    @functools.wraps(fn)
    def run_in_context(*args: P.args, **kwargs: P.kwargs) -> R:
        token = context_api.attach(captured)
        try:
            return fn(*args, **kwargs)
        finally:
            context_api.detach(token)

    return run_in_context


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in the context of the code that submitted them.

    A drop-in replacement: ``submit`` (and therefore ``map``) captures the caller's
    OpenTelemetry context, so a tool span started in a worker is a child of the
    caller's span, not the root of a new trace.
    """

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Schedule ``fn(*args, **kwargs)`` to run in the caller's context.

        Args:
            fn: The callable to run in a worker thread.
            *args: Its positional arguments.
            **kwargs: Its keyword arguments.

        Returns:
            The future of its result.
        """
        return super().submit(wrap_context(fn), *args, **kwargs)
