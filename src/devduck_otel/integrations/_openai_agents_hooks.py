"""The agent hooks ``instrument(agent)`` puts on an ``agents.Agent``, around the user's own.

The SDK's ``AgentHooks`` (``agent.hooks``) is its public per-agent extension point.
devduck's hooks forward every call to the hooks the agent had (so nothing the user set
is lost or replaced) and tell the trace processor what only hooks know: the agent
object and the input items of each model call (``on_llm_start``) and the output items
of its reply (``on_llm_end``). The processor takes the snapshots from them.

Example:
    >>> hooks = install(agent, processor)  # doctest: +SKIP
    >>> agent.hooks is hooks  # doctest: +SKIP
    True
"""

from __future__ import annotations

import threading
from typing import Any, Final, Protocol, cast

from devduck_otel._guard import guard

FORWARDED: Final = ("on_start", "on_end", "on_handoff", "on_tool_start", "on_tool_end")
"""Hook methods devduck only passes on to the user's hooks."""

_kind_lock = threading.Lock()
_kind: type | None = None


class RunFeed(Protocol):
    """What the hooks tell the trace processor."""

    def llm_start(self, agent: Any, input_items: Any) -> None:
        """A model call of ``agent`` starts with ``input_items``."""
        ...

    def llm_end(self, agent: Any, response: Any) -> None:
        """The model call of ``agent`` returned ``response`` (a ``ModelResponse``)."""
        ...


class DevduckAgentHooks:
    """Agent hooks that feed devduck's processor and forward to the user's hooks."""

    def __init__(self, inner: Any, feed: RunFeed) -> None:
        self.inner = inner
        self.feed = feed
        self.enabled = True

    async def on_llm_start(
        self, context: Any, agent: Any, system_prompt: str | None, input_items: Any
    ) -> None:
        """Tell the processor the model call's input items; then call the user's hook."""
        if self.enabled:
            with guard("openai-agents llm start"):
                self.feed.llm_start(agent, input_items)
        if self.inner is not None:
            await self.inner.on_llm_start(context, agent, system_prompt, input_items)

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        """Tell the processor the model's reply; then call the user's hook."""
        if self.enabled:
            with guard("openai-agents llm end"):
                self.feed.llm_end(agent, response)
        if self.inner is not None:
            await self.inner.on_llm_end(context, agent, response)

    def __getattr__(self, name: str) -> Any:
        """Other attributes are the user's hooks' (hooks added by later SDK versions too)."""
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)


def _hooks_kind() -> type:
    """The hooks class: a real ``agents.AgentHooks`` subclass (the SDK checks), built lazily."""
    global _kind
    with _kind_lock:
        if _kind is None:
            from agents.lifecycle import AgentHooksBase

            # Forwarders, so that the base class's no-op methods do not hide the user's.
            namespace = {name: _forwarder(name) for name in FORWARDED}
            _kind = type("DevduckAgentHooks", (DevduckAgentHooks, AgentHooksBase), namespace)
        return _kind


def _forwarder(name: str) -> Any:
    async def forward(self: DevduckAgentHooks, *args: Any, **kwargs: Any) -> None:
        if self.inner is not None:
            await getattr(self.inner, name)(*args, **kwargs)

    forward.__name__ = name
    forward.__doc__ = f"Call the user's ``{name}`` hook, if any."
    return forward


def install(agent: Any, feed: RunFeed) -> DevduckAgentHooks:
    """Put devduck's hooks on ``agent`` around its own (once), enabled; return them."""
    hooks = agent.hooks
    if not isinstance(hooks, DevduckAgentHooks):
        hooks = cast("DevduckAgentHooks", _hooks_kind()(hooks, feed))
        agent.hooks = hooks
    hooks.enabled = True
    return hooks


def remove(agent: Any) -> None:
    """Give ``agent`` back the hooks it had before :func:`install` (or switch ours off)."""
    hooks = agent.hooks
    if isinstance(hooks, DevduckAgentHooks):
        agent.hooks = hooks.inner
        hooks.enabled = False
