"""push_session: a recorded session replayed to Phoenix keeps ids, parents and times."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace

import devduck_otel
from devduck_otel.cli import main as cli_main
from devduck_otel.exceptions import SessionFormatError, SessionNotFoundError
from devduck_otel.tracing import _exporters
from devduck_otel.tracing._push import PushError, push_session, push_target
from tests.support.otlp import zip_spans
from tests.support.otlp_grpc import OtlpGrpcSink
from tests.support.phoenix import (
    PROJECT_ATTRIBUTE,
    OtlpHttpSink,
    PhoenixServer,
    attributes,
    free_port,
    phoenix,
)

__all__ = ["phoenix"]  # the session fixture, shared with the other Phoenix tests


@devduck_otel.tool
def multiply(a: int, b: int) -> int:
    """Multiply two numbers (with a bytes attribute only the ZIP may keep)."""
    trace.get_current_span().set_attribute("raw.bytes", b"\x01\x02")
    return a * b


def _record(monkeypatch: pytest.MonkeyPatch, project: str) -> str:
    """Record an agent turn offline (no collector at all) and return the ZIP."""
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"{PROJECT_ATTRIBUTE}={project}")

    @devduck_otel.agent(name="offline")
    def ask(query: str) -> int:
        devduck_otel.snapshot(None, "mid-turn")
        return multiply(6, 7) + multiply(1, 1)

    devduck_otel.start_recording(sys_layer=False)
    assert ask("6 * 7 + 1?") == 43
    path = devduck_otel.stop_recording()
    assert path is not None
    return path


def _nanos(value: Any) -> int:
    if isinstance(value, str):
        return int(datetime.fromisoformat(value).timestamp() * 1_000_000) * 1000
    return int(value)


def _assert_same(recorded: dict[str, dict[str, Any]], received: list[dict[str, Any]]) -> None:
    assert {s["span_id"] for s in received} == set(recorded)
    for span in received:
        original = recorded[span["span_id"]]
        assert span["trace_id"] == original["traceId"]
        assert (span["parent_span_id"] or "") == original["parentSpanId"]
        # Phoenix keeps microseconds.
        assert abs(_nanos(span["start_time_unix_nano"]) - int(original["startTimeUnixNano"])) < 2000
        assert abs(_nanos(span["end_time_unix_nano"]) - int(original["endTimeUnixNano"])) < 2000


@pytest.mark.phoenix
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_push_replays_session_to_phoenix(
    phoenix: PhoenixServer, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    """A session recorded offline arrives in Phoenix with its ids, parents and times."""
    project = f"push-{uuid.uuid4().hex[:8]}"
    path = _record(monkeypatch, project)
    recorded = zip_spans(path)
    assert len(recorded) == 3
    endpoint = phoenix.otlp_grpc if protocol == "grpc" else phoenix.base_url
    assert push_session(path, endpoint=endpoint, protocol=protocol) == 3
    received = phoenix.spans(project, expect=3)
    _assert_same(recorded, received)
    agent = next(s for s in received if s["name"] == "invoke_agent offline")
    assert attributes(agent)["gen_ai.operation.name"] == "invoke_agent"
    snapshot = next(e for e in agent["events"] if e["name"] == "snapshot.created")
    assert len(attributes(snapshot)["devduck.snapshot.sha256"]) == 64


@pytest.mark.phoenix
def test_cli_push_with_env_endpoint(
    phoenix: PhoenixServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``devduck-otel push SESSION.zip --endpoint URL`` sends the session."""
    project = f"cli-{uuid.uuid4().hex[:8]}"
    path = _record(monkeypatch, project)
    cli = Path(sys.executable).with_name("devduck-otel")
    done = subprocess.run(
        [str(cli), "push", path, "--endpoint", phoenix.base_url, "--protocol", "http/protobuf"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"sent 3 spans to {phoenix.base_url}/v1/traces over OTLP/HTTP"
    _assert_same(zip_spans(path), phoenix.spans(project, expect=3))


def test_push_drops_bytes_and_uncaptured_content(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pushed spans follow the live rules: no bytes, content only when captured."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    path = _record(monkeypatch, "unused")
    recorded = json.dumps(zip_spans(path))
    assert "devduck.content" in recorded and "bytesValue" in recorded
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    with OtlpHttpSink() as sink:
        assert push_session(path, endpoint=sink.endpoint, protocol="http/protobuf") == 3
        spans = sink.spans()
    keys = {kv.key for s in spans for e in s.events for kv in e.attributes}
    assert "devduck.content" not in keys
    assert "devduck.snapshot.sha256" in keys
    span_keys = {kv.key for s in spans for kv in s.attributes}
    assert "raw.bytes" not in span_keys and "gen_ai.tool.name" in span_keys


def test_push_to_a_down_endpoint_raises_push_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nobody listening: a PushError naming the endpoint, not a hang."""
    path = _record(monkeypatch, "unused")
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    with pytest.raises(PushError, match=r"127\.0\.0\.1"):
        push_session(path, endpoint=url, protocol="http/protobuf")


def test_push_refused_by_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint answering 500 is a PushError, after no retry."""
    path = _record(monkeypatch, "unused")
    with OtlpHttpSink("error") as sink, pytest.raises(PushError, match="HTTP 500"):
        push_session(path, endpoint=sink.endpoint, protocol="http/protobuf")
    assert sink.hits == 1


def test_push_missing_or_foreign_file(tmp_path: Path) -> None:
    """A missing file or a ZIP without spans is reported as such."""
    with pytest.raises(SessionNotFoundError):
        push_session(tmp_path / "nope.zip")
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("events.jsonl", "")
    with pytest.raises(SessionFormatError, match=r"spans\.otlp\.jsonl"):
        push_session(foreign)


def test_push_bad_protocol() -> None:
    """An explicit protocol other than grpc or http/protobuf is a ValueError."""
    with pytest.raises(ValueError, match="protocol"):
        push_session("whatever.zip", protocol="carrier-pigeon")


def test_push_sends_configured_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers come from OTEL_EXPORTER_OTLP_HEADERS, or the ``headers`` argument."""
    path = _record(monkeypatch, "unused")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=team-b")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    with OtlpHttpSink() as sink:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        assert push_session(path) == 3
        assert push_session(path, headers={"x-tenant": "team-c"}) == 3
        tenants = [h["x-tenant"] for h in sink.headers]
        assert {h["content-encoding"] for h in sink.headers} == {"gzip"}
    assert set(tenants) == {"team-b", "team-c"}


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        {
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
        },
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"},
    ],
)
def test_push_speaks_what_the_live_exporter_speaks(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    """With the same variables, push picks the protocol the live `otlp` exporter picks."""
    for name in ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    live = _exporters._otlp_name(lambda message: None)
    protocol, _ = push_target()
    assert {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}[protocol] == live


def test_push_defaults_to_grpc_at_the_env_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only OTEL_EXPORTER_OTLP_ENDPOINT set: the spans go over OTLP/gRPC, as live ones do."""
    path = _record(monkeypatch, "unused")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
    with OtlpGrpcSink() as sink:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.endpoint)
        assert push_target() == ("grpc", sink.endpoint)
        assert push_session(path) == 3
        assert sink.span_count() == 3


def test_push_over_http_to_a_grpc_endpoint_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTLP/HTTP sent to a gRPC port: an error naming the other protocol, not raw bytes."""
    path = _record(monkeypatch, "unused")
    with OtlpGrpcSink() as sink, pytest.raises(PushError) as caught:
        push_session(path, endpoint=sink.endpoint, protocol="http/protobuf")
    message = str(caught.value)
    assert "OTLP/gRPC" in message and "--protocol grpc" in message
    assert "\\x00" not in message and "BadStatusLine" not in message


def test_push_over_grpc_to_an_http_endpoint_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTLP/gRPC sent to an OTLP/HTTP receiver: an error naming --protocol http/protobuf."""
    path = _record(monkeypatch, "unused")
    with OtlpHttpSink() as sink:
        base = sink.endpoint.removesuffix("/v1/traces")
        with pytest.raises(PushError, match=r"--protocol http/protobuf"):
            push_session(path, endpoint=base, protocol="grpc")
        assert sink.hits == 0


def test_cli_push_says_where_it_sent_the_spans(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --endpoint, push names the endpoint and protocol it used."""
    path = _record(monkeypatch, "unused")
    with OtlpGrpcSink() as sink:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.endpoint)
        with pytest.raises(SystemExit) as exited:
            cli_main(["push", path])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert out.strip() == f"sent 3 spans to {sink.endpoint} over OTLP/gRPC"
