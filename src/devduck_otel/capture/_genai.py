"""What every devduck span shares: GenAI attributes, error marks, message data, previews.

One place for the ``invoke_agent`` and ``execute_tool`` attribute sets, the ERROR
marking of a failed span and the ``message`` event data, used by the decorators and by
every framework integration alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from devduck_otel_exporter_zip.schema import PREVIEW_CHARS, cut_preview
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from devduck_otel import _attributes as attr
from devduck_otel.session._jsonsafe import error_text

if TYPE_CHECKING:
    from devduck_otel._recorder import Recorder

__all__ = [
    "EVENT_INVOKE_AGENT",
    "PREVIEW_CHARS",
    "agent_attributes",
    "error_text",
    "mark_error",
    "message_data",
    "start_agent_span",
    "text_preview",
    "tool_attributes",
]

EVENT_INVOKE_AGENT: Final = "agent.invoke"


def agent_attributes(rec: Recorder, name: str) -> dict[str, AttributeValue]:
    """The attributes of an ``invoke_agent`` span of ``rec``'s session."""
    return {
        attr.DEVDUCK_LAYER: "agent",
        attr.DEVDUCK_EVENT_TYPE: EVENT_INVOKE_AGENT,
        attr.GEN_AI_OPERATION_NAME: attr.OP_INVOKE_AGENT,
        attr.GEN_AI_AGENT_NAME: name,
        attr.GEN_AI_CONVERSATION_ID: rec.session_id,
    }


def start_agent_span(rec: Recorder, name: str) -> Span:
    """Start an ``invoke_agent {name}`` span linked to the parent session, if any."""
    return rec.tracer.start_span(
        f"{attr.OP_INVOKE_AGENT} {name}", attributes=agent_attributes(rec, name), links=rec.links
    )


def tool_attributes(name: str, call_id: str) -> dict[str, AttributeValue]:
    """The attributes every ``execute_tool`` span of devduck starts with."""
    return {
        attr.DEVDUCK_LAYER: "tool",
        attr.DEVDUCK_EVENT_TYPE: "tool.call",
        attr.GEN_AI_OPERATION_NAME: attr.OP_EXECUTE_TOOL,
        attr.GEN_AI_TOOL_NAME: name,
        attr.GEN_AI_TOOL_CALL_ID: call_id,
    }


def mark_error(span: Span, error: BaseException | str) -> None:
    """Set ``error.type`` and an ERROR status on ``span`` (a string is a tool's own error)."""
    if isinstance(error, BaseException):
        span.set_attribute(attr.ERROR_TYPE, type(error).__qualname__)
        span.set_status(Status(StatusCode.ERROR, cut_preview(error_text(error))))
    else:
        span.set_attribute(attr.ERROR_TYPE, "ToolError")
        span.set_status(Status(StatusCode.ERROR, cut_preview(error)))


def text_preview(content: Any, limit: int = PREVIEW_CHARS) -> str:
    """Return readable text of a message's content, cut to ``limit`` characters.

    The cut never falls inside a short token (see ``schema.cut_preview``), so that a
    secret is in a preview whole, and redacted, or not at all.

    Args:
        content: A string, a list of content blocks (Strands / Bedrock shape), or anything.
        limit: Maximum length.

    Returns:
        The text blocks joined by newlines, with tool uses and results summarised.
    """
    if isinstance(content, str):
        return cut_preview(content, limit)
    if isinstance(content, list):
        return cut_preview("\n".join(p for p in (_block_text(b) for b in content) if p), limit)
    try:
        return cut_preview("" if content is None else str(content), limit)
    except Exception:  # a broken __str__ must not break recording
        return f"<unprintable {type(content).__name__}>"


def _block_text(block: Any) -> str:
    if not isinstance(block, Mapping):
        return text_preview(block)
    if isinstance(block.get("text"), str):
        return str(block["text"])
    if isinstance(block.get("toolUse"), Mapping):
        use = block["toolUse"]
        return f"[toolUse {use.get('name')}({use.get('input')!r})]"
    if isinstance(block.get("toolResult"), Mapping):
        return f"[toolResult {text_preview(block['toolResult'].get('content'))}]"
    kinds = ",".join(str(k) for k in block)
    return f"[{kinds}]"


def message_data(message: Any, role: str | None = None) -> dict[str, Any]:
    """Return the ``message`` event data: ``role``, ``content_preview``, ``content``.

    Args:
        message: A message (a mapping or an object with ``role`` and ``content``), or,
            with ``role`` given, the content itself.
        role: The role, when ``message`` is bare content.
    """
    if role is not None:
        content: Any = message
    elif isinstance(message, Mapping):
        role, content = message.get("role"), message.get("content")
    else:
        role, content = getattr(message, "role", None), getattr(message, "content", message)
    return {
        "role": None if role is None else str(role),
        "content_preview": text_preview(content),
        "content": content,
    }
