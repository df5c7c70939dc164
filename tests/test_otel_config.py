"""OTEL_* configuration of a recording: sampling, clean collector data, collector faults."""

from __future__ import annotations

import json
import logging
import time
import zipfile
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased

import devduck_otel
from tests.support.phoenix import OtlpHttpSink, free_port


class _Agent:
    """A minimal agent: a message list and state that JSON cannot hold."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]
        self.system_prompt = "be brief"
        self.state = {"seen": {1, 2, 3}}  # a set: goes into a dill blob


@devduck_otel.tool
def add(a: int, b: int) -> int:
    """Add two numbers; also puts bytes on the span, which collectors must not get."""
    trace.get_current_span().set_attribute("payload.raw", b"\x00secret-bytes")
    return a + b


def _point_at(sink: OtlpHttpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")


def _zip_spans(path: str) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = []
    with zipfile.ZipFile(path) as zf:
        for line in zf.read("spans.otlp.jsonl").decode().splitlines():
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    spans.extend(ss["spans"])
    return spans


def _zip_events(path: str, event_type: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as zf:
        lines = zf.read("events.jsonl").decode().splitlines()
    events = [json.loads(line) for line in lines]
    return [e for e in events if e["event_type"] == event_type]


def test_sampling_applies_to_collectors_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """At traceidratio 0.1 the collector gets exactly the sampled traces, the ZIP all."""
    with OtlpHttpSink() as sink:
        _point_at(sink, monkeypatch)
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
        monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.1")
        devduck_otel.start_recording(sys_layer=False)
        for i in range(120):
            add(i, 1)
        path = devduck_otel.stop_recording()
        assert path is not None
        sent = {span.trace_id.hex() for span in sink.spans()}
    recorded = [s for s in _zip_spans(path) if s["name"] == "execute_tool add"]
    assert len(recorded) == 120
    assert len(_zip_events(path, "tool.call")) == 120
    sampler = TraceIdRatioBased(0.1)
    expected = {
        s["traceId"]
        for s in recorded
        if sampler.should_sample(None, int(s["traceId"], 16), "x").decision
        is Decision.RECORD_AND_SAMPLE
    }
    assert 0 < len(expected) < 60
    assert sent == expected


def _all_attribute_values(sink: OtlpHttpSink) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for span in sink.spans():
        found += [(kv.key, kv.value) for kv in span.attributes]
        for event in span.events:
            found += [(kv.key, kv.value) for kv in event.attributes]
    return found


@pytest.mark.parametrize("capture", [False, True])
def test_collectors_get_no_bytes_and_content_only_when_captured(
    monkeypatch: pytest.MonkeyPatch, capture: bool
) -> None:
    """No bytes or blob ever; message and tool content only with capture on."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", str(capture).lower())
    with OtlpHttpSink() as sink:
        _point_at(sink, monkeypatch)
        devduck_otel.start_recording(sys_layer=False)
        add(2, 3)
        assert devduck_otel.snapshot(_Agent(), "after add") == 1
        path = devduck_otel.stop_recording()
        assert path is not None
        values = _all_attribute_values(sink)
        snapshot_events = [
            e for s in sink.spans() for e in s.events if e.name == "snapshot.created"
        ]
    assert not [key for key, value in values if value.WhichOneof("value") == "bytes_value"]
    keys = {key for key, _ in values}
    assert ("devduck.content" in keys) is capture
    assert len(snapshot_events) == 1
    attrs = {kv.key: kv.value for kv in snapshot_events[0].attributes}
    assert attrs["devduck.snapshot.id"].int_value == 1
    assert len(attrs["devduck.snapshot.sha256"].string_value) == 64
    assert attrs["devduck.snapshot.size"].int_value > 0
    with zipfile.ZipFile(path) as zf:  # the ZIP keeps the blob and the bytes
        assert [n for n in zf.namelist() if n.startswith("blobs/")]
    zip_attrs = [a for s in _zip_spans(path) for a in s["attributes"]]
    assert any(a["key"] == "payload.raw" for a in zip_attrs)


def _agent_run(calls: int) -> tuple[float, float, str]:
    """Record ``calls`` tool calls; return (run seconds, stop seconds, ZIP path)."""
    devduck_otel.start_recording(sys_layer=False)
    start = time.monotonic()
    for i in range(calls):
        add(i, i)
    devduck_otel.snapshot(_Agent(), "end")
    run = time.monotonic() - start
    start = time.monotonic()
    path = devduck_otel.stop_recording()
    assert path is not None
    return run, time.monotonic() - start, path


@pytest.mark.parametrize("mode", ["down", "slow", "error", "unavailable"])
def test_collector_faults_never_cost_the_agent(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    """A down, slow or failing collector: no exception, no slowdown, complete ZIP."""
    with OtlpHttpSink("ok" if mode == "down" else mode, delay=5.0) as sink:
        _point_at(sink, monkeypatch)
        if mode == "down":
            url = f"http://127.0.0.1:{free_port()}/v1/traces"
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url)
        monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10")
        with caplog.at_level(logging.WARNING, logger="devduck_otel"):
            run, stop, path = _agent_run(200)
    assert run < 5.0, f"the agent was slowed down: {run:.2f}s"
    # One exporter timeout (1 s) at most, plus writing the ZIP.
    assert stop < 4.0, f"stop_recording waited {stop:.2f}s on the collector"
    assert len(_zip_events(path, "tool.call")) == 200
    assert len(_zip_events(path, "snapshot.created")) == 1
    failures = [r for r in caplog.records if "collector exporter" in r.getMessage()]
    assert len(failures) == 1


def test_otlp_headers_and_compression_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_EXPORTER_OTLP_HEADERS and _COMPRESSION reach the collector, as in the SDK."""
    with OtlpHttpSink() as sink:
        _point_at(sink, monkeypatch)
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=team-a,authorization=Bearer%20t0k"
        )
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
        devduck_otel.start_recording(sys_layer=False)
        add(1, 1)
        devduck_otel.stop_recording()
        assert [s.name for s in sink.spans()] == ["execute_tool add"]
        headers = sink.headers[0]
    assert headers["x-tenant"] == "team-a"
    assert headers["authorization"] == "Bearer t0k"
    assert headers["content-encoding"] == "gzip"


@devduck_otel.tool
def connect(dsn: str, password: str) -> str:
    """Pretend to connect; puts a credential-bearing URL on the span."""
    trace.get_current_span().set_attribute("app.dsn", dsn)
    return "connected"


def test_collectors_get_redacted_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets in span attributes and captured content never reach a collector."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    with OtlpHttpSink() as sink:
        _point_at(sink, monkeypatch)
        devduck_otel.start_recording(sys_layer=False)
        connect("postgres://admin:hunter2@db.internal/app", password="s3cr3t-pw")  # noqa: S106
        devduck_otel.stop_recording()
        strings = [
            value.string_value
            for _, value in _all_attribute_values(sink)
            if value.WhichOneof("value") == "string_value"
        ]
    assert any("devduck" in s or "connect" in s for s in strings)
    assert not [s for s in strings if "hunter2" in s or "s3cr3t-pw" in s]
    assert any("[REDACTED]" in s for s in strings)
