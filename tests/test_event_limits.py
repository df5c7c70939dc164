"""Nothing is lost at any length: span event limits never cost a devduck event.

An application's provider keeps 128 events a span (the SDK default); devduck's own
spans hold 1024. Past either, events go onto ``devduck.events`` carrier spans and the
session files them under the span they belong to.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import orjson
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import devduck_otel
from tests.support.otlp import zip_spans


def _lines(path: str) -> list[dict[str, object]]:
    with zipfile.ZipFile(path) as zf:
        return [orjson.loads(line) for line in zf.read("events.jsonl").splitlines()]


def test_a_span_of_the_application_keeps_every_event(recordings_dir: Path) -> None:
    """1,000 events on an application span (limit 128): all in the ZIP, under that span."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    rec = devduck_otel.start_recording(tracer_provider=provider, sys_layer=False)
    assert isinstance(rec, devduck_otel.Recorder)
    with provider.get_tracer("app").start_as_current_span("app work") as span:
        for i in range(1000):
            rec.emit("sys", "file.open", {"path": f"/f{i}", "mode": "r"})
    path = devduck_otel.stop_recording()
    assert path is not None
    opens = [e for e in _lines(path) if e["event_type"] == "file.open"]
    assert [e["data"]["path"] for e in opens] == [f"/f{i}" for i in range(1000)]  # type: ignore[index]
    assert {e["span_id"] for e in opens} == {f"{span.get_span_context().span_id:016x}"}
    collected = exporter.get_finished_spans()
    app = next(s for s in collected if s.name == "app work")
    assert app.dropped_events == 0
    carried = sum(len(s.events) for s in collected if s.name == "devduck.events")
    assert carried == 1000  # collectors get every event too, on the carrier children


def test_devduck_span_past_its_chunk_keeps_every_event(recordings_dir: Path) -> None:
    """5,000 events inside one @agent call: every one filed under the agent's span."""

    @devduck_otel.agent(name="busy")
    def busy(rec: devduck_otel.Recorder) -> str:
        for i in range(5000):
            rec.emit("sys", "file.open", {"path": f"/g{i}", "mode": "r"})
        return trace.get_current_span().get_span_context().span_id.to_bytes(8, "big").hex()

    rec = devduck_otel.start_recording(sys_layer=False)
    assert isinstance(rec, devduck_otel.Recorder)
    span_id = busy(rec)
    path = devduck_otel.stop_recording()
    assert path is not None
    opens = [e for e in _lines(path) if e["event_type"] == "file.open"]
    assert len(opens) == 5000 and {e["span_id"] for e in opens} == {span_id}
    spans = zip_spans(path)
    assert max(len(s.get("events", [])) for s in spans.values()) <= 1024
    assert spans[span_id]["name"] == "invoke_agent busy"


def test_events_outside_any_span_are_kept_under_no_span(recordings_dir: Path) -> None:
    """Events with no current span (300 of them) are filed under no span, none lost."""
    rec = devduck_otel.start_recording(sys_layer=False)
    assert isinstance(rec, devduck_otel.Recorder)
    for i in range(300):
        rec.emit("sys", "file.open", {"path": f"/h{i}", "mode": "r"})
    path = devduck_otel.stop_recording()
    assert path is not None
    opens = [e for e in _lines(path) if e["event_type"] == "file.open"]
    assert len(opens) == 300
    assert {(e["trace_id"], e["span_id"], e["parent_span_id"]) for e in opens} == {
        (None, None, None)
    }
