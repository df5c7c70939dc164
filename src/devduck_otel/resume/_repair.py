"""Making a snapshot taken mid-turn valid for the next model call.

A snapshot taken while a tool ran holds an assistant message that asks for a tool
whose result never came. Model APIs reject such a conversation, so before a resume:

* **Strands / Bedrock shape** (``{"role", "content": [blocks]}``): every ``toolUse``
  block of an assistant message needs a ``toolResult`` with the same ``toolUseId`` in
  the next message, which must be a user message. Missing results are added as
  ``{"toolResult": {"toolUseId": id, "status": "error", "content": [{"text":
  INTERRUPTED_TEXT}]}}`` blocks: at the start of the next user message when there is
  one (roles must alternate), else in a new user message right after the assistant
  message. This is what Strands itself appends when its last message is a tool use.
  ``toolResult`` blocks whose ``toolUseId`` the previous assistant message never asked
  for are dropped (and a message left empty by that is removed).
* **OpenAI shape** (``{"role": "assistant", "tool_calls": [{"id"}]}`` followed by
  ``{"role": "tool", "tool_call_id"}`` messages): a ``tool`` message with
  ``INTERRUPTED_TEXT`` is inserted for every call without one.

Example:
    >>> messages = [{"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1"}}]}]
    >>> repair_messages(messages)
    ['added an error toolResult for interrupted tool use t1']
    >>> messages[1]["content"][0]["toolResult"]["status"]
    'error'
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["INTERRUPTED_TEXT", "repair_messages"]

INTERRUPTED_TEXT: Final = (
    "Tool was interrupted: the snapshot was taken before this call returned, "
    "and the session was resumed from it."
)
"""The result text given to tool calls that had no result when the snapshot was taken."""


def _blocks(message: Any) -> list[Any] | None:
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    return content if isinstance(content, list) else None


def _ids(message: Any, kind: str) -> list[str]:
    out: list[str] = []
    for block in _blocks(message) or []:
        inner = block.get(kind) if isinstance(block, dict) else None
        if isinstance(inner, dict) and isinstance(inner.get("toolUseId"), str):
            out.append(inner["toolUseId"])
    return out


def _role(message: Any) -> Any:
    return message.get("role") if isinstance(message, dict) else None


def _error_result(tool_use_id: str) -> dict[str, Any]:
    return {
        "toolResult": {
            "toolUseId": tool_use_id,
            "status": "error",
            "content": [{"text": INTERRUPTED_TEXT}],
        }
    }


def repair_messages(messages: list[Any]) -> list[str]:
    """Repair interrupted tool calls in ``messages``, in place (see the module docstring).

    Args:
        messages: A deep copy of a snapshot's messages.

    Returns:
        One line per change made; empty when the messages were already valid.
    """
    notes = _drop_orphan_results(messages)
    notes += _answer_tool_uses(messages)
    notes += _answer_tool_calls(messages)
    return notes


def _answer_tool_uses(messages: list[Any]) -> list[str]:
    notes: list[str] = []
    index = 0
    while index < len(messages):
        asked = _ids(messages[index], "toolUse") if _role(messages[index]) == "assistant" else []
        if asked:
            following = messages[index + 1] if index + 1 < len(messages) else None
            user_blocks = _blocks(following) if _role(following) == "user" else None
            answered = set(_ids(following, "toolResult")) if user_blocks is not None else set()
            missing = [i for i in dict.fromkeys(asked) if i not in answered]
            if missing:
                added = [_error_result(i) for i in missing]
                if user_blocks is not None:
                    user_blocks[:0] = added
                else:
                    messages.insert(index + 1, {"role": "user", "content": added})
                notes.extend(
                    f"added an error toolResult for interrupted tool use {i}" for i in missing
                )
        index += 1
    return notes


def _drop_orphan_results(messages: list[Any]) -> list[str]:
    notes: list[str] = []
    index = 0
    while index < len(messages):
        message = messages[index]
        blocks = _blocks(message)
        if _role(message) != "user" or blocks is None or not _ids(message, "toolResult"):
            index += 1
            continue
        previous = messages[index - 1] if index > 0 else None
        asked = set(_ids(previous, "toolUse")) if _role(previous) == "assistant" else set()
        kept = [b for b in blocks if not _is_orphan(b, asked)]
        if len(kept) != len(blocks):
            notes.append(f"dropped {len(blocks) - len(kept)} toolResult(s) with no tool use")
            blocks[:] = kept
        if not kept:
            del messages[index]
            continue
        index += 1
    return notes


def _is_orphan(block: Any, asked: set[str]) -> bool:
    inner = block.get("toolResult") if isinstance(block, dict) else None
    return isinstance(inner, dict) and inner.get("toolUseId") not in asked


def _answer_tool_calls(messages: list[Any]) -> list[str]:
    notes: list[str] = []
    index = 0
    while index < len(messages):
        message = messages[index]
        calls = message.get("tool_calls") if _role(message) == "assistant" else None
        index += 1
        if not isinstance(calls, list):
            continue
        asked = [c["id"] for c in calls if isinstance(c, dict) and isinstance(c.get("id"), str)]
        answered: set[Any] = set()
        while index < len(messages) and _role(messages[index]) == "tool":
            answered.add(messages[index].get("tool_call_id"))
            index += 1
        for call_id in dict.fromkeys(asked):
            if call_id not in answered:
                messages.insert(
                    index, {"role": "tool", "tool_call_id": call_id, "content": INTERRUPTED_TEXT}
                )
                index += 1
                notes.append(f"added an error tool message for interrupted tool call {call_id}")
    return notes
