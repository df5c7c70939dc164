"""Adapter for any agent object with a ``messages`` list, and the call wrapper.

``instrument(agent)`` on such an object wraps its call methods (``__call__``, ``run``,
``invoke``, sync or async) on that instance only: each outermost call becomes an
``invoke_agent`` span with snapshots before and after, and every message appended to
``agent.messages`` during the call becomes a ``message`` event when it is added, so
the timeline reads in the order things happened (the user's message before the tool
call it caused). During the call ``agent.messages`` is a recording copy of the list;
afterwards the original list object is back, holding what the call added.
``uninstrument`` puts the instance back as it was.

Example:
    >>> class Echo:
    ...     def __init__(self):
    ...         self.messages = []
    ...     def __call__(self, query):
    ...         self.messages += [{"role": "user", "content": query}]
    ...         return query
    >>> GenericAdapter(Echo()).instrument()  # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any, Final

from devduck_otel import _state
from devduck_otel._guard import guard
from devduck_otel.capture._wrapping import wrap_call
from devduck_otel.integrations._base import (
    Invocation,
    agent_name,
    begin_invocation,
    emit_message,
    end_invocation,
    suppressed,
)

CALL_METHODS: Final = ("__call__", "run", "invoke")
_QUERY_KEYWORDS: Final = ("prompt", "query", "input", "message", "task")
_MARK: Final = "__devduck_original_class__"

_active: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "devduck_generic_active", default=frozenset()
)
_counters: dict[int, int] = {}
_counted_session: list[str] = [""]
_lock = threading.Lock()
_classes: dict[tuple[type, tuple[str, ...]], type] = {}


class GenericAdapter:
    """Reads, restores and instruments any object with a ``messages`` list."""

    framework = "generic"

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    @staticmethod
    def accepts(agent: Any) -> bool:
        """Return whether ``agent`` has a ``messages`` list."""
        return isinstance(getattr(agent, "messages", None), list)

    def messages(self) -> list[Any]:
        """Return the live message list."""
        value = getattr(self.agent, "messages", None)
        return value if isinstance(value, list) else []

    def system_prompt(self) -> str | None:
        """Return ``agent.system_prompt`` when it is a string."""
        value = getattr(self.agent, "system_prompt", None)
        return value if isinstance(value, str) else None

    def tool_names(self) -> list[str]:
        """Return ``agent.tool_names`` (or the names of ``agent.tools``)."""
        names = getattr(self.agent, "tool_names", None)
        if names is None:
            tools = getattr(self.agent, "tools", None) or []
            names = [getattr(t, "__name__", getattr(t, "name", str(t))) for t in tools]
        return [str(n) for n in names]

    def model_info(self) -> dict[str, str | None]:
        """Return what the agent says of its model (``model_id`` also from its config)."""
        model = getattr(self.agent, "model", None)
        if model is None:
            return {"type": None, "model_id": None, "provider": None}
        if isinstance(model, str):
            return {"type": "str", "model_id": model, "provider": None}
        model_id = getattr(model, "model_id", None)
        config = getattr(model, "config", None)
        if model_id is None and isinstance(config, dict):
            model_id = config.get("model_id")
        provider = getattr(model, "provider", None)
        return {
            "type": type(model).__name__,
            "model_id": None if model_id is None else str(model_id),
            "provider": provider if isinstance(provider, str) else None,
        }

    def state(self) -> Any:
        """Return ``agent.state`` or ``None``."""
        return getattr(self.agent, "state", None)

    def restore(self, *, messages: list[Any], system_prompt: str | None, state: Any) -> None:
        """Set messages, system prompt and state on the agent."""
        self.agent.messages = messages
        if system_prompt is not None and hasattr(self.agent, "system_prompt"):
            self.agent.system_prompt = system_prompt
        if state is not None and hasattr(self.agent, "state"):
            self.agent.state = state

    def invoke(self, query: str) -> Any:
        """Call the agent (``agent(query)``, or ``run``/``invoke``).

        The call is recorded like an instrumented one even when the agent is not.
        """
        methods = _call_methods(self.agent)
        if not methods:
            raise TypeError(f"{type(self.agent).__name__} has no __call__, run or invoke method")
        if getattr(type(self.agent), _MARK, None) is not None:
            return getattr(self.agent, methods[0])(query)
        return _wrap(getattr(type(self.agent), methods[0]))(self.agent, query)

    def instrument(self) -> None:
        """Wrap the agent's call methods on this instance (idempotent).

        Raises:
            TypeError: The agent has no ``__call__``, ``run`` or ``invoke`` method, or its
                class cannot be given a per-instance wrapper.
        """
        agent = self.agent
        if getattr(type(agent), _MARK, None) is not None:
            return
        methods = tuple(_call_methods(agent))
        if not methods:
            raise TypeError(
                f"cannot instrument {type(agent).__name__}: an agent needs a `messages` list "
                "and a __call__, run or invoke method"
            )
        try:
            agent.__class__ = _wrapped_class(type(agent), methods)
        except TypeError as exc:
            raise TypeError(
                f"cannot instrument {type(agent).__name__}: its class cannot take a "
                f"per-instance wrapper ({exc})"
            ) from exc

    def uninstrument(self) -> None:
        """Put the instance's original class back (idempotent)."""
        original = getattr(type(self.agent), _MARK, None)
        if original is not None:
            self.agent.__class__ = original


def _call_methods(agent: Any) -> list[str]:
    """Names of the call methods the agent's class defines (not ``type.__call__``)."""
    defined = [vars(k) for k in type(agent).__mro__ if k is not object]
    return [n for n in CALL_METHODS if any(callable(d.get(n)) for d in defined)]


def _wrapped_class(cls: type, methods: tuple[str, ...]) -> type:
    """Return (cached) the subclass of ``cls`` whose ``methods`` record each call."""
    key = (cls, methods)
    with _lock:
        cached = _classes.get(key)
        if cached is None:
            namespace: dict[str, Any] = {
                "__slots__": (),
                "__module__": cls.__module__,
                "__qualname__": cls.__qualname__,
                _MARK: cls,
            }
            for name in methods:
                namespace[name] = _wrap(getattr(cls, name))
            cached = type(cls.__name__, (cls,), namespace)
            _classes[key] = cached
    return cached


def _wrap(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an unbound call method (sync or async) so each outermost call is recorded."""
    return wrap_call(method, lambda args, kwargs: _start(args[0], args[1:], kwargs))


class _RecordingList(list[Any]):
    """The agent's messages during a call: each added message is recorded at once."""

    __slots__ = ("emitted", "inv")

    def __init__(self, items: list[Any], inv: Invocation) -> None:
        super().__init__(items)
        self.inv = inv
        self.emitted: list[Any] = []  # keeps the recorded messages alive: ids stay unique

    def _record(self, messages: list[Any]) -> None:
        for message in messages:
            self.emitted.append(message)
            emit_message(self.inv, message)

    def append(self, message: Any) -> None:
        """Append and record ``message``."""
        super().append(message)
        self._record([message])

    def extend(self, messages: Any) -> None:
        """Extend and record each message."""
        added = list(messages)
        super().extend(added)
        self._record(added)

    def insert(self, index: Any, message: Any) -> None:
        """Insert and record ``message``."""
        super().insert(index, message)
        self._record([message])

    def __iadd__(self, messages: Any) -> _RecordingList:  # type: ignore[misc]
        self.extend(messages)
        return self


class _Call:
    """One recorded call of a generic agent (see ``devduck_otel.capture._wrapping.Call``)."""

    __slots__ = ("adapter", "before", "inv", "live", "original", "token")

    def __init__(
        self,
        inv: Invocation,
        adapter: GenericAdapter,
        token: contextvars.Token[frozenset[int]],
    ) -> None:
        self.inv, self.adapter, self.token = inv, adapter, token
        self.original = adapter.messages()
        self.before = list(self.original)
        self.live: _RecordingList | None = None
        live = _RecordingList(self.original, inv)
        try:
            adapter.agent.messages = live
        except (AttributeError, TypeError):  # a read-only list: recorded when the call ends
            return
        self.live = live

    def _put_back(self) -> list[Any]:
        """Give the agent its own list again, holding what the call added."""
        messages = self.adapter.messages()
        if self.live is not None and messages is self.live:
            self.original[:] = messages
            self.adapter.agent.messages = self.original
        return list(messages)

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        """Record the messages not seen being added, snapshot after, end the span."""
        _active.reset(self.token)
        with guard("generic agent call end"):
            messages = self._put_back()
            # ``before`` and ``live.emitted`` keep those messages alive: ids stay unique.
            seen = {id(m) for m in self.before}
            seen.update(id(m) for m in (self.live.emitted if self.live is not None else ()))
            for message in messages:
                if id(message) not in seen:
                    emit_message(self.inv, message)
        end_invocation(self.inv, self.adapter, result=result, error=error)


def _start(agent: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call | None:
    """Begin recording an outermost call; ``None`` when nothing records or it is nested."""
    rec = _state.active()
    active = _active.get()
    if rec is None or id(agent) in active or suppressed():
        return None
    with guard("generic agent call start"):
        adapter = GenericAdapter(agent)
        number = _next_number(id(agent), rec.session_id)
        query = _query_text(args, kwargs)
        inv = begin_invocation(rec, adapter, name=agent_name(agent), number=number, query=query)
        return _Call(inv, adapter, _active.set(active | {id(agent)}))
    return None


def _next_number(key: int, session_id: str) -> int:
    """Count invocations per agent, from 1 in each recording."""
    with _lock:
        if _counted_session[0] != session_id:
            _counters.clear()
            _counted_session[0] = session_id
        number = _counters[key] = _counters.get(key, 0) + 1
    return number


def _query_text(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    value: Any = args[0] if args else next((kwargs[k] for k in _QUERY_KEYWORDS if k in kwargs), "")
    return value if isinstance(value, str) else repr(value)
