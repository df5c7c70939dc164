"""Capturing an agent's full state for a snapshot, cheaply, on the agent's thread.

Each message is serialized once to compact JSON bytes (orjson); those immutable
bytes are the snapshot, so later changes to the live agent never reach it, and the
journal stores each distinct message once (content-addressed).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from devduck_otel.integrations import adapter_for
from devduck_otel.redaction._redactor import Redactor
from devduck_otel.session import _jsonsafe

_EMPTY_MODEL: dict[str, str | None] = {"type": None, "model_id": None, "provider": None}


@dataclass
class CapturedSnapshot:
    """A snapshot record (without messages), its messages as JSON, and a state blob."""

    record: dict[str, Any]
    messages: list[bytes]
    state_blob: bytes | None = None
    notes: list[str] = field(default_factory=list)


PICKLED_STATE_RULE = "pickled-state"
"""The rule a snapshot's ``redactions`` names for secrets redacted inside the state blob."""


def _state(
    value: Any, notes: list[str], redactions: list[dict[str, str]], redactor: Redactor
) -> tuple[Any, bytes | None]:
    """Return ``(json_state, blob)``: JSON when it can be, else a dill blob, else a note."""
    if value is None:
        return None, None
    getter = getattr(value, "get", None)
    if callable(getter) and type(value).__name__ == "AgentState":
        value = getter()
    try:
        return orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)), None
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        blob, redacted = redactor.dill_dumps_counted(value)
    except Exception as exc:  # anything dill cannot carry is left out, with a note
        notes.append(
            f"agent state left out: dill cannot serialize it ({type(exc).__name__}: {exc})"
        )
        return None, None
    if redacted:
        redactions.append({"path": "$.state_blob", "rule": PICKLED_STATE_RULE})
    return None, blob


class MessageEncoder:
    """Encodes an agent's messages as one JSON document each, reusing the last call's work.

    Conversations grow by appending. When the JSON of the whole list starts with the
    JSON of the list seen last time, only the new tail is split into messages; any
    other change (an edited or removed message) encodes every message again. The
    result is the same bytes either way.
    """

    def __init__(self, pickler: _jsonsafe.Pickler) -> None:
        self.pickler = pickler
        self._whole = b"[]"
        self._parts: list[bytes] = []

    def encode(self, messages: list[Any]) -> list[bytes]:
        """Return each message as compact JSON bytes."""
        if not self._parts:
            return self._encode_all(messages)
        whole = _jsonsafe.dumps(messages, self.pickler)
        last = self._whole
        if whole == last:
            return list(self._parts)
        cut = len(last) - 1
        if whole.startswith(last[:cut]) and whole[cut : cut + 1] == b",":
            tail = _jsonsafe.loads(b"[" + whole[cut + 1 :])
            self._parts = self._parts + [_jsonsafe.dumps(m) for m in tail]
            self._whole = whole
            return list(self._parts)
        return self._encode_all(messages)

    def _encode_all(self, messages: list[Any]) -> list[bytes]:
        parts = [_jsonsafe.dumps(m, self.pickler) for m in messages]
        # orjson writes a list as its items joined by commas: the same bytes as dumps(list).
        self._whole, self._parts = b"[" + b",".join(parts) + b"]", parts
        return list(parts)


def _text(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return _jsonsafe.safe_repr(value, limit=100_000)


def _read(notes: list[str], what: str, read: Callable[[], Any], default: Any) -> Any:
    """Call ``read``; when the agent's property raises, note why and use ``default``."""
    try:
        return read()
    except Exception as exc:  # an agent's own property must not break the snapshot
        notes.append(f"{what} left out: reading it raised {_jsonsafe.error_text(exc)}")
        return default


def _prompt_hash(prompt: Any) -> str:
    if not prompt:
        return ""
    return hashlib.sha256(str(prompt).encode("utf-8", "surrogatepass")).hexdigest()


def capture_snapshot(
    agent: Any,
    *,
    snapshot_id: int,
    description: str,
    last_query: Any,
    last_result: Any,
    redactor: Redactor,
    pickler: _jsonsafe.Pickler | None = None,
    encoder: MessageEncoder | None = None,
) -> CapturedSnapshot:
    """Capture ``agent`` (or only the process context when ``agent`` is ``None``).

    Args:
        agent: Any object with a ``messages`` list, or ``None``.
        snapshot_id: The snapshot's id (from 1).
        description: Free text.
        last_query: The last query given to the agent.
        last_result: The agent's last result.
        redactor: Redacts the environment variables and the pickled state (a blob lists
            in ``redactions`` that it holds ``[REDACTED]``; the exporter adds the rest).
        pickler: The redacting pickler, bound once by the recorder (default:
            ``redactor.dill_dumps``).
        encoder: The agent's message encoder, kept between snapshots so that a
            growing conversation is only encoded where it grew.

    Returns:
        The captured snapshot.
    """
    notes: list[str] = []
    adapter = adapter_for(agent) if agent is not None else None
    pickler = redactor.dill_dumps if pickler is None else pickler
    encoder = encoder or MessageEncoder(pickler)
    messages = (
        _read(notes, "messages", lambda: encoder.encode(adapter.messages()), []) if adapter else []
    )
    prompt = _read(notes, "system_prompt", adapter.system_prompt, None) if adapter else None
    redactions: list[dict[str, str]] = []
    state, blob = (
        _read(
            notes,
            "agent state",
            lambda: _state(adapter.state(), notes, redactions, redactor),
            (None, None),
        )
        if adapter
        else (None, None)
    )
    now = time.time()
    record: dict[str, Any] = {
        "snapshot_id": snapshot_id,
        "timestamp": now,
        "time": datetime.fromtimestamp(now, timezone.utc).astimezone().isoformat(),
        "description": description,
        "agent_messages_count": len(messages),
        "system_prompt": prompt,
        "system_prompt_hash": _prompt_hash(prompt),
        "tools_loaded": _read(notes, "tool names", adapter.tool_names, []) if adapter else [],
        "cwd": os.getcwd(),
        "env_vars_redacted": redactor.redact_env(os.environ),
        "last_query": _text(last_query),
        "last_result": _text(last_result),
        "model_info": (
            _read(notes, "model info", adapter.model_info, dict(_EMPTY_MODEL))
            if adapter
            else dict(_EMPTY_MODEL)
        ),
        "framework": adapter.framework if adapter else None,
        "agent_state": state,
        "state_blob": None,
        "notes": notes,
        "redactions": redactions,
    }
    return CapturedSnapshot(record=record, messages=messages, state_blob=blob, notes=notes)
