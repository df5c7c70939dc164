"""Session ZIPs built by hand, exactly in the documented format, for CLI and viewer tests.

Example:
    >>> path = conversation_zip(tmp_path / "a.zip", [("add", {"a": 1, "b": 2}, 3)])
"""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import dill
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

T0 = 1_767_000_000_000_000_000  # 2025-12-29, in epoch nanoseconds
TRACE = "0af7651916cd43dd8448eb211c80319c"
ToolCall = tuple[str, dict[str, Any], Any]


def _span_id(n: int) -> str:
    return f"{n + 1:016x}"


def event(
    ts: int,
    layer: str,
    kind: str,
    data: dict[str, Any],
    span: str | None,
    parent: str | None,
    seq: int,
) -> dict[str, Any]:
    """Return an ``events.jsonl`` record with the keys in the documented order."""
    return {
        "timestamp_ns": ts,
        "layer": layer,
        "event_type": kind,
        "data": data,
        "trace_id": TRACE if span else None,
        "span_id": span,
        "parent_span_id": parent,
        "seq": seq,
    }


def otlp_span(
    name: str, layer: str, span: str, parent: str, start: int, end: int
) -> dict[str, Any]:
    """Return one OTLP-JSON span, as the exporter writes it."""
    return {
        "traceId": TRACE,
        "spanId": span,
        "parentSpanId": parent,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": [
            {"key": "devduck.layer", "value": {"stringValue": layer}},
            {"key": "gen_ai.operation.name", "value": {"stringValue": name.split(" ")[0]}},
        ],
        "status": {"code": 0},
    }


def write_zip(
    path: Path,
    events: Sequence[dict[str, Any]],
    snapshots: Sequence[dict[str, Any]],
    *,
    session_id: str,
    spans: Sequence[dict[str, Any]] = (),
    messages: Sequence[Any] = (),
) -> Path:
    """Write a session ZIP (format ``devduck-otel-session`` 1) from its parts.

    Snapshots given with an inline ``agent_messages`` list are stored
    content-addressed: ``messages.jsonl`` rows and ``agent_messages_ref`` ranges.
    """
    rows: list[Any] = list(messages)
    records = []
    for snap in snapshots:
        record = dict(snap)
        inline = record.pop("agent_messages", None)
        if inline is not None:
            record["agent_messages_ref"] = [[len(rows), len(rows) + len(inline)]]
            record["agent_messages_count"] = len(inline)
            rows.extend(inline)
        records.append(record)
    start = datetime.fromtimestamp(T0 / 1e9, timezone.utc)
    end_ns = max([e["timestamp_ns"] for e in events] or [T0])
    metadata = {
        "session_id": session_id,
        "start_time": start.isoformat(),
        "end_time": datetime.fromtimestamp(end_ns / 1e9, timezone.utc).isoformat(),
        "duration_seconds": (end_ns - T0) / 1e9,
        "total_events": len(events),
        "total_snapshots": len(records),
        "hostname": "testhost",
        "platform": "Linux",
        "python_version": "3.11.2",
        "serializer": "json+dill",
        "format": "devduck-otel-session",
        "format_version": 1,
        "messages_storage": "content-addressed",
        "resource": {"service.name": "cli-test"},
        "recording": False,
        "parent_session": None,
        "parent_snapshot": None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("events.jsonl", "\n".join(json.dumps(e) for e in events))
        zf.writestr("snapshots.json", json.dumps(records, indent=2))
        zf.writestr("metadata.json", json.dumps(metadata, indent=2))
        zf.writestr(
            "session.pkl",
            dill.dumps({"metadata": metadata, "snapshots": records, "messages": rows}),
        )
        zf.writestr(
            "messages.jsonl",
            "\n".join(
                json.dumps(
                    {"sha256": hashlib.sha256(json.dumps(m).encode()).hexdigest(), "message": m}
                )
                for m in rows
            ),
        )
        if spans:
            request = {
                "resourceSpans": [
                    {
                        "resource": {"attributes": []},
                        "scopeSpans": [{"scope": {"name": "devduck_otel"}, "spans": list(spans)}],
                    }
                ]
            }
            zf.writestr("spans.otlp.jsonl", json.dumps(request))
    return path


def conversation_zip(
    path: Path,
    calls: Sequence[ToolCall],
    *,
    session_id: str = "session-test",
    question: str = "What is 1 + 2?",
    answer: str = "It is 3.",
    with_spans: bool = True,
) -> Path:
    """Write a small agent run: user message, tool calls (each opening a file), answer.

    A snapshot follows the question and another the answer.
    """
    agent = _span_id(0)
    events: list[dict[str, Any]] = []
    spans = []
    ts = T0 + 1_000_000

    def add(
        layer: str, kind: str, data: dict[str, Any], span: str | None, parent: str | None
    ) -> None:
        nonlocal ts
        ts += 2_000_000
        events.append(event(ts, layer, kind, data, span, parent, len(events)))

    history: list[dict[str, Any]] = [{"role": "user", "content": [{"text": question}]}]
    add("agent", "message", {"role": "user", "content": question}, agent, None)
    add(
        "agent",
        "snapshot.created",
        {"snapshot_id": 1, "description": "after question"},
        agent,
        None,
    )
    snapshots = [_snapshot(1, ts, "after question", history)]
    for n, (name, args, result) in enumerate(calls, start=1):
        tool = _span_id(n)
        start = ts
        add("tool", "tool.call", {"name": name, "args": args}, tool, agent)
        add("sys", "file.open", {"path": f"/data/{name}.txt", "mode": "r"}, tool, agent)
        add(
            "tool",
            "tool.result",
            {"name": name, "result": result, "result_preview": str(result), "duration_ms": 4.0},
            tool,
            agent,
        )
        spans.append(otlp_span(f"execute_tool {name}", "tool", tool, agent, start, ts + 1000))
        history.append(
            {"role": "assistant", "content": [{"toolUse": {"name": name, "input": args}}]}
        )
    add("agent", "message", {"role": "assistant", "content": answer}, agent, None)
    history.append({"role": "assistant", "content": [{"text": answer}]})
    add("agent", "snapshot.created", {"snapshot_id": 2, "description": "after answer"}, agent, None)
    snapshots.append(_snapshot(2, ts, "after answer", history))
    spans.insert(0, otlp_span("invoke_agent demo", "agent", agent, "", T0, ts + 1000))
    return write_zip(
        path, events, snapshots, session_id=session_id, spans=spans if with_spans else ()
    )


def _snapshot(sid: int, ts: int, description: str, history: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "snapshot_id": sid,
        "timestamp": ts / 1e9,
        "time": datetime.fromtimestamp(ts / 1e9, timezone.utc).isoformat(),
        "description": description,
        "agent_messages": [dict(m) for m in history],
        "system_prompt": "You are a careful calculator.",
        "system_prompt_hash": hashlib.sha256(b"You are a careful calculator.").hexdigest(),
        "tools_loaded": ["add"],
        "cwd": "/work",
        "env_vars_redacted": {},
        "last_query": "",
        "last_result": "",
        "model_info": {"type": "Fake", "model_id": "fake-1", "provider": "test"},
        "agent_state": None,
        "state_blob": None,
        "notes": [],
        "events_since_last": 2,
        "trace_id": TRACE,
        "span_id": _span_id(0),
        "sha256": "0" * 64,
        "size": 10,
    }


def big_zip(path: Path, count: int) -> Path:
    """Write a session of ``count`` events across the three layers, one snapshot."""
    layers = ("sys", "tool", "agent")
    kinds = {"sys": "file.open", "tool": "tool.call", "agent": "message"}
    events = []
    for i in range(count):
        layer = layers[i % 3]
        data: dict[str, Any] = {"path": f"/tmp/f{i}", "mode": "r"}
        if layer == "tool":
            data = {"name": "step", "args": {"i": i}}
        elif layer == "agent":
            data = {"role": "assistant", "content": f"message {i}"}
        events.append(event(T0 + i * 1_000_000, layer, kinds[layer], data, None, None, i))
    snap = _snapshot(1, T0 + count * 500_000, "halfway", [{"role": "user", "content": "go"}])
    return write_zip(path, events, [snap], session_id="big-session")


class OtlpCollector(BaseHTTPRequestHandler):
    """An OTLP/HTTP traces endpoint on loopback that keeps what it receives."""

    received: ClassVar[list[ExportTraceServiceRequest]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        """Store the protobuf request and answer with the configured status."""
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        type(self).received.append(request)
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


@contextmanager
def serve_collector() -> Iterator[tuple[str, type[OtlpCollector]]]:
    """Serve a fresh :class:`OtlpCollector`; yield its base URL and handler class."""
    handler = type("Collector", (OtlpCollector,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
