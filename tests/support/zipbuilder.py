"""Build session ZIPs for tests: our format (version 1) and the original devduck's (1.15.x).

Example:
    >>> path = build_zip(tmp_path / "s.zip", snapshots=[[user("hi")], [user("hi"), bot("yo")]])
"""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from devduck_otel_exporter_zip import SIGNATURE_SCHEME, entry_mac

START_NS = 1_764_000_000_000_000_000
"""Wall-clock start of the built sessions (ns since the epoch)."""

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


def user(text: str) -> dict[str, Any]:
    """Return a Strands-shaped user message."""
    return {"role": "user", "content": [{"text": text}]}


def bot(text: str) -> dict[str, Any]:
    """Return a Strands-shaped assistant message."""
    return {"role": "assistant", "content": [{"text": text}]}


def tool_use(tool_use_id: str, name: str = "add") -> dict[str, Any]:
    """Return an assistant message asking for one tool call."""
    block = {"toolUse": {"toolUseId": tool_use_id, "name": name, "input": {"a": 1}}}
    return {"role": "assistant", "content": [block]}


def tool_result(tool_use_id: str, text: str = "2") -> dict[str, Any]:
    """Return a user message holding one successful tool result."""
    block = {
        "toolResult": {"toolUseId": tool_use_id, "status": "success", "content": [{"text": text}]}
    }
    return {"role": "user", "content": [block]}


def event(
    index: int, layer: str = "tool", event_type: str = "tool.call", data: Any = None
) -> dict[str, Any]:
    """Return one event of our format, ``index`` milliseconds after the start."""
    return {
        "timestamp_ns": START_NS + index * 1_000_000,
        "layer": layer,
        "event_type": event_type,
        "data": {"name": "add", "args": {"a": index}} if data is None else data,
        "trace_id": TRACE_ID,
        "span_id": f"{index + 1:016x}",
        "parent_span_id": None,
        "seq": index,
    }


def jsonl(values: Sequence[Any]) -> bytes:
    """Return JSON lines with a trailing newline, as our recorder writes them."""
    return b"".join(orjson.dumps(v) + b"\n" for v in values)


def _snapshot_records(
    snapshots: Sequence[Sequence[Any]], first_event: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[bytes]]:
    rows: dict[bytes, int] = {}
    records, events = [], []
    for number, messages in enumerate(snapshots, 1):
        ranges: list[list[int]] = []
        for message in messages:
            raw = orjson.dumps(message)
            row = rows.setdefault(raw, len(rows))
            if ranges and ranges[-1][1] == row:
                ranges[-1][1] = row + 1
            else:
                ranges.append([row, row + 1])
        index = first_event + number
        records.append(_record(number, len(messages), ranges, index))
        data = {
            "snapshot_id": number,
            "description": f"snap {number}",
            "messages_captured": len(messages),
            "has_system_prompt": True,
        }
        events.append(event(index, "agent", "snapshot.created", data))
    lines = [
        orjson.dumps({"sha256": hashlib.sha256(r).hexdigest(), "message": orjson.loads(r)})
        for r in rows
    ]
    return records, events, lines


def _record(number: int, count: int, ranges: list[list[int]], index: int) -> dict[str, Any]:
    stamp = (START_NS + index * 1_000_000) / 1e9
    return {
        "snapshot_id": number,
        "timestamp": stamp,
        "time": "2025-11-24T16:00:00+00:00",
        "description": f"snap {number}",
        "agent_messages_count": count,
        "agent_messages_ref": ranges,
        "system_prompt": "You are a duck.",
        "system_prompt_hash": hashlib.sha256(b"You are a duck.").hexdigest(),
        "tools_loaded": ["add", "shell"],
        "cwd": "/tmp",
        "env_vars_redacted": {},
        "last_query": f"query {number}",
        "last_result": f"result {number}",
        "model_info": {"type": "ScriptedModel", "model_id": "duck-1", "provider": "test"},
        "agent_state": {"counter": number},
        "state_blob": None,
        "notes": [],
        "events_since_last": 1,
        "trace_id": TRACE_ID,
        "span_id": f"{index + 1:016x}",
        "sha256": "0" * 64,
        "size": 0,
    }


def metadata(session_id: str = "session-test", **extra: Any) -> dict[str, Any]:
    """Return the ``metadata.json`` of our format."""
    meta = {
        "session_id": session_id,
        "start_time": "2025-11-24T16:00:00+00:00",
        "end_time": "2025-11-24T16:02:04.500000+00:00",
        "duration_seconds": 124.5,
        "hostname": "test",
        "platform": "Linux",
        "python_version": "3.11.7",
        "serializer": "json+dill",
        "format": "devduck-otel-session",
        "format_version": 1,
        "messages_storage": "content-addressed",
        "resource": {},
        "recording": False,
        "parent_session": None,
        "parent_snapshot": None,
        "devduck_otel_version": "0.1.0",
    }
    meta.update(extra)
    return meta


def session_entries(
    *,
    events: int = 5,
    snapshots: Sequence[Sequence[Any]] = (),
    meta: dict[str, Any] | None = None,
) -> dict[str, bytes]:
    """Return the entries of a session ZIP of our format, in order.

    Args:
        events: How many ``tool.call`` events come first.
        snapshots: Each snapshot's messages (stored content-addressed).
        meta: The metadata; default :func:`metadata`.
    """
    records, snap_events, lines = _snapshot_records(snapshots, events)
    all_events = [event(i) for i in range(events)] + snap_events
    meta = (
        metadata(total_events=len(all_events), total_snapshots=len(records))
        if meta is None
        else meta
    )
    state = {"metadata": meta, "snapshots": records, "messages": [orjson.loads(x) for x in lines]}
    return {
        "events.jsonl": jsonl(all_events),
        "snapshots.json": orjson.dumps(records, option=orjson.OPT_INDENT_2),
        "metadata.json": orjson.dumps(meta, option=orjson.OPT_INDENT_2),
        "session.pkl": pickle.dumps(state),
        "messages.jsonl": b"".join(x + b"\n" for x in lines),
    }


def sign(entries: dict[str, bytes], key: bytes, names: Sequence[str] | None = None) -> None:
    """Add ``signatures.json`` signing ``names`` (default: session.pkl and blobs/*)."""
    if names is None:
        names = [n for n in entries if n == "session.pkl" or n.startswith("blobs/")]
    signed = {}
    for name in names:
        mac = entry_mac(key, name)
        mac.update(entries[name])
        signed[name] = mac.hexdigest()
    doc = {"algorithm": "hmac-sha256", "scheme": SIGNATURE_SCHEME, "entries": signed}
    entries["signatures.json"] = orjson.dumps(doc)


def write_zip(
    path: Path, entries: dict[str, bytes] | Sequence[tuple[str, bytes]], *, stored: bool = False
) -> Path:
    """Write ``entries`` (a dict, or pairs that may repeat a name) to a ZIP at ``path``."""
    pairs = list(entries.items()) if isinstance(entries, dict) else list(entries)
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in pairs:
            zf.writestr(zipfile.ZipInfo(name, (2025, 11, 24, 16, 0, 0)), data, method)
    return path


def build_zip(path: Path, **kwargs: Any) -> Path:
    """Write a session ZIP of our format; keyword arguments as :func:`session_entries`."""
    return write_zip(path, session_entries(**kwargs))


class _Touch:
    """Pickles to ``Path(marker).touch()``: unpickling it creates a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (Path.touch, (self.marker,))


def evil_pickle(marker: Path) -> bytes:
    """Return a pickle that creates the file ``marker`` when it is unpickled."""
    return pickle.dumps(_Touch(marker))


def devduck_class_pickle() -> bytes:
    """Return a pickle naming a devduck class, as devduck's ``session.pkl`` does."""
    module, name = b"devduck.tools.session_recorder", b"SessionSnapshot"
    return (
        b"\x80\x04"
        + b"\x8c"
        + bytes([len(module)])
        + module
        + b"\x8c"
        + bytes([len(name)])
        + name
        + b"\x93)\x81."  # STACK_GLOBAL, EMPTY_TUPLE, NEWOBJ, STOP
    )


def legacy_entries(*, exported_only: bool = False, nan: bool = True) -> dict[str, bytes]:
    """Return the entries of a ZIP written by the original devduck recorder (1.15.x).

    Two snapshots (the second taken mid-turn), naive local times, float timestamps,
    inline messages, a running ``events_since_last`` total, ``NaN`` in one event,
    no trailing newline, and a ``session.pkl`` of devduck class instances.

    Args:
        exported_only: Exported without stopping: no stop fields in the metadata.
        nan: Put a ``NaN`` in one event's data.
    """
    start = 1_764_000_000.0
    messages_1 = [user("list files"), bot("Sure.")]
    messages_2 = [*messages_1, user("add 1 and 1"), tool_use("t-1")]
    meta: dict[str, Any] = {
        "session_id": "session-20251124-160000",
        "start_time": "2025-11-24T16:00:00.123456",
        "hostname": "duckhost",
        "platform": "Linux-6.1",
        "python_version": "3.11.7",
        "serializer": "dill",
    }
    if not exported_only:
        meta.update(
            end_time="2025-11-24T16:02:04.623456",
            duration_seconds=124.5,
            total_events=8,
            total_snapshots=2,
        )
    meta["export_time"] = "2025-11-24T16:02:05.000000"
    events = _legacy_events(start, meta, nan=nan)
    snapshots = [
        _legacy_snapshot(1, start + 1.5, messages_1, events_total=3),
        _legacy_snapshot(2, start + 3.5, messages_2, events_total=6),
    ]
    lines = [json.dumps(e, ensure_ascii=True) for e in events]
    return {
        "events.jsonl": "\n".join(lines).encode("ascii"),
        "snapshots.json": json.dumps(snapshots, indent=2).encode(),
        "metadata.json": json.dumps(meta, indent=2).encode(),
        "session.pkl": devduck_class_pickle(),
    }


def _legacy_events(start: float, meta: dict[str, Any], *, nan: bool) -> list[dict[str, Any]]:
    def ev(sec: float, layer: str, kind: str, data: Any) -> dict[str, Any]:
        return {
            "timestamp_ns": int((start + sec) * 1e9),
            "layer": layer,
            "event_type": kind,
            "data": data,
            "trace_id": None,
        }

    return [
        ev(0.0, "agent", "session.start", dict(meta)),
        ev(0.5, "agent", "message", {"role": "user", "content_preview": "list files ünïcode"}),
        ev(1.0, "sys", "file.open", {"path": "/tmp/x.txt", "mode": "r"}),
        ev(
            1.5,
            "agent",
            "snapshot.created",
            {
                "snapshot_id": 1,
                "description": "after listing",
                "messages_captured": 2,
                "has_system_prompt": True,
            },
        ),
        ev(
            2.0,
            "tool",
            "tool.call",
            {"name": "add", "args": {"a": "1", "b": float("nan") if nan else 1}},
        ),
        ev(2.5, "tool", "tool.result", {"name": "add", "result_preview": "2", "duration_ms": 1.5}),
        ev(
            3.5,
            "agent",
            "snapshot.created",
            {
                "snapshot_id": 2,
                "description": "mid-turn",
                "messages_captured": 4,
                "has_system_prompt": True,
            },
        ),
        ev(124.5, "agent", "session.stop", {"duration": 124.5, "events": 8}),
    ]


def _legacy_snapshot(
    number: int, stamp: float, messages: list[Any], events_total: int
) -> dict[str, Any]:
    return {
        "timestamp": stamp,
        "snapshot_id": number,
        "agent_messages_count": len(messages),
        "tools_loaded": ["shell", "add"],
        "system_prompt_hash": "-4412871236",
        "env_vars_redacted": {"HOME": "/home/duck", "API_KEY": "***"},
        "cwd": "/tmp",
        "events_since_last": events_total,
        "agent_messages": messages,
        "system_prompt": "You are devduck.",
        "last_query": "add 1 and 1",
        "last_result": "",
        "model_info": {"type": "BedrockModel", "model_id": "claude", "provider": "bedrock"},
    }


def build_legacy_zip(path: Path, **kwargs: Any) -> Path:
    """Write a ZIP of the original devduck recorder; arguments as :func:`legacy_entries`."""
    return write_zip(path, legacy_entries(**kwargs))


def build_journal(folder: Path, *, torn: bool = False, **kwargs: Any) -> Path:
    """Write a journal directory (``<id>.journal/``) from :func:`session_entries`.

    Args:
        folder: The journal directory to create.
        torn: End ``events.jsonl`` with half a line, as a killed process leaves it.
        **kwargs: As :func:`session_entries`.
    """
    entries = session_entries(**kwargs)
    folder.mkdir(parents=True)
    records = orjson.loads(entries["snapshots.json"])
    meta = orjson.loads(entries["metadata.json"])
    meta.pop("end_time")
    meta.pop("duration_seconds")
    meta["recording"] = True
    events = entries["events.jsonl"] + (b'{"timestamp_ns": 17640000' if torn else b"")
    (folder / "meta.json").write_bytes(orjson.dumps(meta))
    (folder / "events.jsonl").write_bytes(events)
    (folder / "snapshots.jsonl").write_bytes(jsonl(records))
    (folder / "messages.jsonl").write_bytes(entries["messages.jsonl"])
    (folder / "spans.jsonl").write_bytes(b"")
    (folder / "blobs").mkdir()
    return folder


CENTRAL_FLAGS = 8
"""Offset of the general purpose flags in a central directory record (2 bytes)."""
CENTRAL_METHOD = 10
"""Offset of the compression method in a central directory record (2 bytes)."""
CENTRAL_SIZE = 24
"""Offset of the uncompressed size in a central directory record (4 bytes)."""


def patch_central(path: Path, name: str, offset: int, value: int, width: int = 4) -> None:
    """Overwrite one little-endian field of ``name``'s central directory record in place."""
    data = bytearray(path.read_bytes())
    start = 0
    while True:
        start = data.index(b"PK\x01\x02", start)
        length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + length] == name.encode():
            break
        start += 4
    data[start + offset : start + offset + width] = value.to_bytes(width, "little")
    path.write_bytes(bytes(data))
