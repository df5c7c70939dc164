"""A recorded agent run reaches a real OTLP backend (Arize Phoenix) over HTTP and gRPC."""

from __future__ import annotations

import re
import uuid
import zipfile
from typing import Any

import pytest
import requests

import devduck_otel
from tests.support.http_server import serve
from tests.support.phoenix import PROJECT_ATTRIBUTE, PhoenixServer, attributes, phoenix

__all__ = ["phoenix"]  # the session fixture, shared with the other Phoenix tests

pytestmark = pytest.mark.phoenix

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class _Agent:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.system_prompt = "You add numbers."
        self.state = {"visited": {"a", "b"}}  # not JSON: stored as a dill blob


@devduck_otel.tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@devduck_otel.tool(name="fetch_page")
def fetch(url: str) -> int:
    """GET a page (a sys-layer HTTP span under the tool span)."""
    return requests.get(url, timeout=5).status_code


def _run_agent(base_url: str) -> str:
    """Record one agent turn with tools, HTTP and two snapshots; return the ZIP path."""
    agent_state = _Agent()

    @devduck_otel.agent(name="calculator")
    def ask(query: str) -> str:
        agent_state.messages.append({"role": "user", "content": query})
        devduck_otel.snapshot(agent_state, "before tools")
        total = add(2, 3)
        fetch(f"{base_url}/page")
        agent_state.messages.append({"role": "assistant", "content": str(total)})
        devduck_otel.snapshot(agent_state, "after tools")
        return str(total)

    devduck_otel.start_recording()
    assert ask("what is 2 + 3?") == "5"
    path = devduck_otel.stop_recording()
    assert path is not None
    return path


def _send_run(monkeypatch: pytest.MonkeyPatch, protocol: str, endpoint: str, project: str) -> str:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "phoenix-test-agent")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"{PROJECT_ATTRIBUTE}={project}")
    with serve() as base_url:
        return _run_agent(base_url)


def _check_spans(spans: list[dict[str, Any]], path: str) -> None:
    by_name = {span["name"]: span for span in spans}
    agent = attributes(by_name["invoke_agent calculator"])
    assert agent["devduck.layer"] == "agent"
    assert agent["gen_ai.operation.name"] == "invoke_agent"
    assert agent["gen_ai.agent.name"] == "calculator"
    assert agent["gen_ai.conversation.id"]
    tool = attributes(by_name["execute_tool add"])
    assert tool["devduck.layer"] == "tool"
    assert tool["gen_ai.operation.name"] == "execute_tool"
    assert tool["gen_ai.tool.name"] == "add"
    assert tool["gen_ai.tool.call.id"]
    layers = {attributes(span).get("devduck.layer") for span in spans}
    assert layers == {"agent", "tool", "sys"}
    trace_ids = {span["trace_id"] for span in spans}
    assert len(trace_ids) == 1  # one turn, one trace
    snapshots = [
        event
        for span in spans
        for event in span.get("events") or []
        if event["name"] == "snapshot.created"
    ]
    assert len(snapshots) == 2
    with zipfile.ZipFile(path) as zf:
        blobs = [name for name in zf.namelist() if name.startswith("blobs/")]
    assert blobs, "the ZIP keeps the state blob"
    for event, expected_id in zip(sorted(snapshots, key=_snap_id), (1, 2), strict=True):
        attrs = attributes(event)
        assert attrs["devduck.snapshot.id"] == expected_id
        assert _HEX64.match(attrs["devduck.snapshot.sha256"])
        assert attrs["devduck.snapshot.size"] > 0
        for pair in event["attributes"]:
            assert pair["value"].get("bytes_value") is None, pair["key"]


def _snap_id(event: dict[str, Any]) -> int:
    return int(attributes(event)["devduck.snapshot.id"])


def test_agent_run_over_otlp_http(phoenix: PhoenixServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """OTLP/HTTP: layers, GenAI attributes and snapshot events arrive in Phoenix."""
    project = f"http-{uuid.uuid4().hex[:8]}"
    path = _send_run(monkeypatch, "http/protobuf", phoenix.base_url, project)
    _check_spans(phoenix.spans(project, expect=4), path)


def test_agent_run_over_otlp_grpc(phoenix: PhoenixServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """OTLP/gRPC: the same run arrives with the same content."""
    project = f"grpc-{uuid.uuid4().hex[:8]}"
    path = _send_run(monkeypatch, "grpc", phoenix.otlp_grpc, project)
    _check_spans(phoenix.spans(project, expect=4), path)
