"""Message content as a person reads it: text as text, tool uses, results and images named.

Understands plain strings, Strands / Bedrock content blocks (``{"text"}``,
``{"toolUse"}``, ``{"toolResult"}``, ``{"image"}``), Anthropic-style typed blocks and
OpenAI messages (``tool_calls``, ``role: "tool"``, ``image_url`` data URLs, Responses
``function_call`` items). Anything else is shown as compact JSON, never dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from devduck_otel.session._jsonsafe import TAG

_DATA_URL = re.compile(r"^data:image/([a-z0-9.+-]+);base64,(.*)$", re.IGNORECASE | re.DOTALL)
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_TEXT_TYPES = {None, "text", "input_text", "output_text"}
_DEPTH = 20


def message_text(message: Any) -> str:
    """Return a message's content as readable lines (no role).

    Args:
        message: A message mapping (``content`` and maybe OpenAI ``tool_calls``),
            or bare content.

    Returns:
        One line per content block, e.g. ``tool_use add(a=1, b=2)``.
    """
    if not isinstance(message, Mapping):
        return content_text(message)
    content = message.get("content")
    parts = [content_text(message.get("content_preview") if content is None else content)]
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, Mapping) else None
        function = function if isinstance(function, Mapping) else {}
        parts.append(_tool_use(function.get("name"), function.get("arguments")))
    if message.get("role") == "tool" and parts[0]:
        parts[0] = f"tool_result: {parts[0]}"
    return "\n".join(p for p in parts if p)


def content_text(content: Any, depth: int = 0) -> str:
    """Return message content (a string, a block or a list of blocks) as readable lines.

    Args:
        content: The content.
        depth: How deep in nested results this is (a guard against hostile nesting).

    Returns:
        The text, one line per block.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if depth > _DEPTH:
        return "…"
    if isinstance(content, (list, tuple)):
        return "\n".join(p for p in (content_text(b, depth + 1) for b in content) if p)
    if isinstance(content, Mapping):
        return _block(content, depth)
    if isinstance(content, (bytes, bytearray, memoryview)):
        return f"[{len(bytes(content))} bytes]"
    return _json(content)


def _block(block: Mapping[str, Any], depth: int) -> str:
    kind = block.get("type")
    if isinstance(block.get("text"), str) and kind in _TEXT_TYPES:
        return str(block["text"])
    use = block.get("toolUse")
    if isinstance(use, Mapping):
        return _tool_use(use.get("name"), use.get("input"))
    if kind in ("tool_use", "function_call"):
        return _tool_use(block.get("name"), block.get("input", block.get("arguments")))
    result = block.get("toolResult")
    if isinstance(result, Mapping):
        return _tool_result(result.get("status"), result.get("content"), depth)
    if kind == "tool_result":
        status = "error" if block.get("is_error") else None
        return _tool_result(status, block.get("content"), depth)
    if kind == "function_call_output":
        return _tool_result(None, block.get("output"), depth)
    if isinstance(block.get("image"), Mapping):
        return _strands_image(block["image"])
    if kind in ("image", "image_url", "input_image") or "image_url" in block:
        return _typed_image(block)
    if "json" in block:
        return _json(block["json"])
    reasoning = block.get("reasoningContent")
    if isinstance(reasoning, Mapping):
        inner = reasoning.get("reasoningText")
        text = inner.get("text") if isinstance(inner, Mapping) else None
        return f"reasoning: {text if isinstance(text, str) else _json(reasoning)}"
    return _json(block)


def _tool_use(name: Any, args: Any) -> str:
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return f"tool_use {name}({args})"
    if isinstance(args, Mapping):
        inner = ", ".join(f"{k}={_arg(v)}" for k, v in args.items())
    else:
        inner = "" if args is None else _json(args)
    return f"tool_use {name}({inner})"


def _arg(value: Any) -> str:
    return value if isinstance(value, str) else _json(value)


def _tool_result(status: Any, content: Any, depth: int) -> str:
    text = " ".join(content_text(content, depth + 1).split())
    head = "tool_result" if status in (None, "") else f"tool_result {status}"
    return f"{head}: {text}"


def _strands_image(image: Mapping[str, Any]) -> str:
    source = image.get("source")
    raw = source.get("bytes") if isinstance(source, Mapping) else None
    return _image_line(image.get("format"), _size(raw))


def _typed_image(block: Mapping[str, Any]) -> str:
    url = block.get("image_url")
    url = url.get("url") if isinstance(url, Mapping) else url
    if isinstance(url, str):
        found = _DATA_URL.match(url)
        if found is None:
            return f"[image {url[:80]}]"
        return _image_line(found.group(1), _size(found.group(2)))
    source = block.get("source")
    if isinstance(source, Mapping):
        media = str(source.get("media_type") or "")
        return _image_line(media.removeprefix("image/") or None, _size(source.get("data")))
    return "[image]"


def _image_line(fmt: Any, size: int | None) -> str:
    kind = "image" if fmt in (None, "") else f"image {fmt}"
    return f"[{kind}]" if size is None else f"[{kind}, {size} bytes]"


def _size(raw: Any) -> int | None:
    """The byte count of raw bytes, a tagged bytes value or a base64 string."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return len(bytes(raw))
    if isinstance(raw, Mapping) and raw.get(TAG) == "bytes":
        if isinstance(raw.get("size"), int):
            return int(raw["size"])
        raw = raw.get("base64")
    if isinstance(raw, str):
        clean = "".join(raw.split())
        if not _BASE64.fullmatch(clean):
            return None
        return len(clean) * 3 // 4 - len(clean) + len(clean.rstrip("="))
    return None


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    except (ValueError, RecursionError):
        return str(value)
