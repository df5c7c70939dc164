"""What devduck-otel reads from LangGraph and LangChain data, and how it writes it as JSON.

LangChain messages become their ``messages_to_dict`` form (``{"type", "data"}``), which
:func:`decode` turns back into the same message objects; anything else JSON cannot
hold is left as it is (the snapshot then keeps it in a dill blob). ``langchain_core``
is imported only when a message is met, so this module imports without it.

Example:
    >>> encode({"n": 1, "tags": ["a"]})
    {'n': 1, 'tags': ['a']}
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

from devduck_otel.capture._genai import text_preview

TESTED: Final = {"langgraph": "1.2.24", "langchain-core": "1.8.3"}
"""The versions the integration is tested with."""

MESSAGES_KEY: Final = "messages"
"""The state channel whose messages are a snapshot's ``agent_messages``."""

MESSAGE_TAG: Final = "__langchain_message__"
"""Marks an encoded LangChain message found outside the ``messages`` channel."""

_warned: set[tuple[str, str]] = set()


def warn_untested() -> None:
    """Warn once per version when langgraph or langchain-core is not the tested one."""
    for package, tested in TESTED.items():
        try:
            found = version(package)
        except PackageNotFoundError:  # pragma: no cover - vendored copies
            continue
        if found != tested and (package, found) not in _warned:
            _warned.add((package, found))
            tested_all = ", ".join(f"{p} {v}" for p, v in TESTED.items())
            warnings.warn(
                f"devduck-otel: {package} {found} is untested (tested: {tested_all}); "
                "recording goes on",
                UserWarning,
                stacklevel=4,
            )


def _base_message() -> type | None:
    module = sys.modules.get("langchain_core.messages.base")
    cls = getattr(module, "BaseMessage", None)
    return cls if isinstance(cls, type) else None


def is_message(value: Any) -> bool:
    """Return whether ``value`` is a LangChain ``BaseMessage``."""
    cls = _base_message()
    return cls is not None and isinstance(value, cls)


def encode_message(message: Any) -> dict[str, Any]:
    """Return a LangChain message as its ``{"type", "data"}`` dict."""
    from langchain_core.messages import message_to_dict

    return message_to_dict(message)


def encode_messages(messages: Any) -> list[Any]:
    """Return the ``messages`` channel as a list of JSON dicts (other items as they are)."""
    if not isinstance(messages, (list, tuple)):
        return [] if messages is None else [encode(messages)]
    return [encode_message(m) if is_message(m) else _coerced(m) for m in messages]


def _coerced(item: Any) -> Any:
    """A ``("user", "hi")`` or ``"hi"`` input item as the message LangGraph makes of it."""
    if isinstance(item, (str, tuple)):
        from langchain_core.messages import convert_to_messages

        try:
            return encode_message(convert_to_messages([item])[0])
        except Exception:  # not message-shaped after all: kept as it is
            return encode(item)
    return encode(item)


def encode(value: Any) -> Any:
    """Return ``value`` with every LangChain message inside made a tagged JSON dict."""
    if is_message(value):
        return {MESSAGE_TAG: encode_message(value)}
    if isinstance(value, Mapping):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def _is_encoded_message(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"type", "data"}
        and isinstance(value["type"], str)
        and isinstance(value["data"], dict)
    )


def decode_messages(messages: list[Any]) -> list[Any]:
    """Turn encoded messages back into LangChain message objects (others stay as they are)."""
    from langchain_core.messages import messages_from_dict

    return [messages_from_dict([m])[0] if _is_encoded_message(m) else m for m in messages]


def decode(value: Any) -> Any:
    """Undo :func:`encode`: tagged message dicts become message objects again."""
    if isinstance(value, dict):
        if set(value) == {MESSAGE_TAG} and _is_encoded_message(value[MESSAGE_TAG]):
            return decode_messages([value[MESSAGE_TAG]])[0]
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def model_name(metadata: Mapping[str, Any] | None, params: Mapping[str, Any]) -> str:
    """Return the chat model's name from LangChain's ``ls_model_name`` or its parameters."""
    for value in (
        (metadata or {}).get("ls_model_name"),
        params.get("model"),
        params.get("model_name"),
        params.get("_type"),
    ):
        if isinstance(value, str) and value:
            return value
    return "chat_model"


def chat_request(messages: Any, params: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Return the whole request of a chat-model call: messages, tools, model, params."""
    batch = messages[0] if isinstance(messages, list) and messages else []
    rest = {k: encode(v) for k, v in params.items() if k not in ("tools", "_type")}
    return {
        "messages": encode_messages(list(batch)),
        "tools": encode(params.get("tools") or []),
        "model": name,
        "params": rest,
    }


def chat_response(result: Any) -> tuple[dict[str, Any] | None, Any]:
    """Return ``(response, message)`` of an ``LLMResult``: the message as JSON and as is."""
    generations = getattr(result, "generations", None) or [[]]
    first = generations[0][0] if generations and generations[0] else None
    message = getattr(first, "message", None)
    if message is None:
        text = getattr(first, "text", None)
        return ({"text": text, "llm_output": encode(result.llm_output)}, None)
    response = {
        "message": encode_message(message),
        "llm_output": encode(getattr(result, "llm_output", None)),
    }
    return response, message


def usage_of(message: Any) -> tuple[Any, Any]:
    """Return ``(input_tokens, output_tokens)`` of an AI message's ``usage_metadata``."""
    usage = getattr(message, "usage_metadata", None) or {}
    return usage.get("input_tokens"), usage.get("output_tokens")


def message_event(message: Any) -> dict[str, Any]:
    """Return the ``message`` event data of a LangChain message."""
    role = getattr(message, "type", None)
    content = getattr(message, "content", message)
    data: dict[str, Any] = {
        "role": None if role is None else str(role),
        "content_preview": text_preview(content),
        "content": encode(content),
    }
    calls = getattr(message, "tool_calls", None)
    if calls:
        data["tool_calls"] = encode(calls)
    return data


def tool_output(output: Any) -> tuple[Any, str | None]:
    """Return ``(result, error)`` of a tool's output (a ``ToolMessage`` or a value)."""
    if is_message(output):
        content = encode(getattr(output, "content", None))
        failed = getattr(output, "status", None) == "error"
        return content, (text_preview(content) or "tool error") if failed else None
    return encode(output), None
