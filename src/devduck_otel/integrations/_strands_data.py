"""What devduck-otel reads from Strands' data: model info, queries, model and tool results."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from devduck_otel.capture._genai import error_text, text_preview
from devduck_otel.session import _jsonsafe

if TYPE_CHECKING:
    from strands.hooks import AfterModelCallEvent, AfterToolCallEvent


def strands_model_info(model: Any) -> dict[str, str | None]:
    """Return ``{"type", "model_id", "provider"}`` for a Strands model object."""
    if model is None:
        return {"type": None, "model_id": None, "provider": None}
    config = getattr(model, "config", None)
    if not isinstance(config, dict) and callable(getattr(model, "get_config", None)):
        config = model.get_config()
    model_id = config.get("model_id") if isinstance(config, dict) else None
    model_id = model_id or getattr(model, "model_id", None)
    module = type(model).__module__
    provider = module.split(".")[2] if module.startswith("strands.models.") else None
    return {
        "type": type(model).__name__,
        "model_id": None if model_id is None else str(model_id),
        "provider": provider,
    }


def query_text(messages: Any) -> str:
    """Return the text of the invocation's input messages."""
    if not messages:
        return ""
    return "\n".join(text_preview(m.get("content"), limit=10_000) for m in messages)


def model_request(agent: Any, pickler: Any = None) -> orjson.Fragment:
    """Return the whole request of the model call about to be made (for replay), encoded.

    Strands changes the conversation in place once the model answers, so the request
    is kept as it is now: encoded to JSON once, here (about 25 times cheaper than a
    deep copy of a long conversation that would be encoded later anyway), and put
    into the ``model.call`` event as it is.
    """
    config = agent.model.get_config() if callable(getattr(agent.model, "get_config", None)) else {}
    request = {
        "messages": list(agent.messages),
        "system_prompt": agent.system_prompt,
        "tools": agent.tool_registry.get_all_tool_specs(),
        "model": strands_model_info(agent.model)["model_id"],
        "params": dict(config) if isinstance(config, dict) else {},
    }
    return orjson.Fragment(_jsonsafe.dumps(request, pickler))


def model_call_data(
    event: AfterModelCallEvent, seconds: float, request: orjson.Fragment | None = None
) -> dict[str, Any]:
    """Return the data of a ``model.call`` event: model, duration, stop reason, tokens.

    With the ``request`` taken before the call the event holds the whole call:
    ``request`` and ``response`` (message, stop reason, usage), which replay serves.
    """
    info = strands_model_info(event.agent.model)
    data: dict[str, Any] = {
        "name": info["model_id"],
        "model_id": info["model_id"],
        "provider": info["provider"],
        "duration_ms": round(seconds * 1000, 3),
    }
    response = event.stop_response
    if response is not None:
        usage: Any = (response.message.get("metadata") or {}).get("usage") or {}
        data["stop_reason"] = str(response.stop_reason)
        data["input_tokens"] = usage.get("inputTokens")
        data["output_tokens"] = usage.get("outputTokens")
    if request is not None:
        data["request"] = request
        data["response"] = _response(event)
    if event.exception is not None:
        data["error"] = error_text(event.exception)
    return data


def _response(event: AfterModelCallEvent) -> dict[str, Any] | None:
    response = event.stop_response
    if response is None:
        return None
    usage = (response.message.get("metadata") or {}).get("usage")
    message = {"role": response.message.get("role"), "content": response.message.get("content")}
    return {"message": message, "stop_reason": str(response.stop_reason), "usage": usage}


def tool_result_data(event: AfterToolCallEvent, started: float) -> dict[str, Any]:
    """Return the data of a ``tool.result`` event for a Strands tool call."""
    result = event.result
    content = result.get("content") if isinstance(result, dict) else result
    data: dict[str, Any] = {
        "name": str(event.tool_use.get("name")),
        "call_id": str(event.tool_use.get("toolUseId")),
        "result": content,
        "result_preview": text_preview(content),
        "duration_ms": round(
            (event.duration if event.duration is not None else time.monotonic() - started) * 1000,
            3,
        ),
        "status": result.get("status") if isinstance(result, dict) else None,
    }
    if event.exception is not None:
        data["error"] = error_text(event.exception)
    elif event.cancel_message is not None:
        data["error"] = event.cancel_message
    elif data["status"] == "error":
        data["error"] = data["result_preview"] or "tool error"
    return data
