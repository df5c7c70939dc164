"""Reading OpenAI Agents SDK data: input items, model exchanges and their text.

Items are kept as plain JSON (pydantic items through ``model_dump(exclude_unset=True)``,
as the SDK's own ``to_input_list`` does), so a snapshot's items can be passed back to
``Runner.run`` or added to an SDK ``Session`` unchanged.

Example:
    >>> plain_items("hi")
    [{'role': 'user', 'content': 'hi'}]
"""

from __future__ import annotations

import json
from typing import Any

from devduck_otel.capture._genai import message_data


def json_text(value: Any) -> str:
    """Return ``value`` as JSON text (non-ASCII kept; what JSON cannot hold as its ``str``)."""
    return json.dumps(value, default=str, ensure_ascii=False)


def plain_item(item: Any) -> Any:
    """Return one item as plain JSON data."""
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        item = dump(exclude_unset=True)
    return json.loads(json_text(item))


def plain_items(value: Any) -> list[Any]:
    """Return a run input (text or items) as a list of plain items."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return [plain_item(item) for item in value]


def exchange(data: Any) -> tuple[str | None, list[Any], list[Any]] | None:
    """Return ``(model, input items, output items)`` of a generation or response span.

    ``None`` when the span holds no content (``trace_include_sensitive_data=False``).
    """
    if data.type == "generation":
        if data.input is None and data.output is None:
            return None
        model = None if data.model is None else str(data.model)
        return model, plain_items(data.input), plain_items(data.output)
    response = getattr(data, "response", None)
    if response is None:
        return None
    outputs = [plain_item(item) for item in (response.output or [])]
    return getattr(response, "model", None), plain_items(data.input), outputs


def compact(value: Any) -> Any:
    """Return ``value`` without the keys whose value is ``None``, at every depth.

    A reply item and the same item sent back as input differ only there (a full
    ``model_dump`` against one without the unset fields).
    """
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value


def common_prefix(seen: list[Any], items: list[Any]) -> int:
    """Return how many leading ``items`` are the leading ``seen`` ones (``None`` fields aside)."""
    count = 0
    for old, new in zip(seen, items, strict=False):
        if compact(old) != compact(new):
            break
        count += 1
    return count


def message(item: Any) -> dict[str, Any]:
    """Return the ``message`` event data of one item (tool calls and outputs included)."""
    if isinstance(item, dict) and "role" in item:
        return message_data(item)
    role = (
        "tool"
        if isinstance(item, dict) and str(item.get("type", "")).endswith("_output")
        else "assistant"
    )
    return message_data(item, role=role)


def item_text(item: Any) -> str:
    """Return the text of a message item (its content parts joined), else ``""``."""
    if not isinstance(item, dict):
        return ""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return ""


def last_text(items: list[Any], *, role: str) -> str:
    """Return the text of the last message item of ``role`` in ``items``."""
    for item in reversed(items):
        if isinstance(item, dict) and item.get("role") == role:
            return item_text(item)
    return ""
