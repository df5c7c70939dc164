"""Zero-code: ``opentelemetry-instrument python agent.py`` records a ZIP and feeds a collector."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import opentelemetry
import pytest
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased

import devduck_otel
from devduck_otel.otel import SysLayerInstrumentor
from tests.support.http_server import serve
from tests.support.otlp import zip_spans
from tests.support.phoenix import OtlpHttpSink

INSTRUMENT = Path(sys.executable).with_name("opentelemetry-instrument")
# What that script runs, for an interpreter of another environment.
RUN_INSTRUMENT = "from opentelemetry.instrumentation.auto_instrumentation import run; run()"

# A plain OpenTelemetry agent: it never imports devduck_otel.
AGENT = """
import json, os, sys
import requests
from opentelemetry import trace

tracer = trace.get_tracer("my.agent")
with tracer.start_as_current_span("invoke_agent planner") as span:
    span.set_attribute("gen_ai.operation.name", "invoke_agent")
    with open(sys.argv[1], "w") as fh:
        fh.write("notes")
    with tracer.start_as_current_span("execute_tool lookup"):
        status = requests.get(sys.argv[2], timeout=5).status_code
for i in range(int(sys.argv[3])):
    with tracer.start_as_current_span(f"step {i}"):
        pass
print(json.dumps({
    "status": status,
    "metrics": os.environ.get("OTEL_METRICS_EXPORTER"),
    "logs": os.environ.get("OTEL_LOGS_EXPORTER"),
}))
"""

OURS = {"OTEL_PYTHON_DISTRO": "devduck_otel", "OTEL_PYTHON_CONFIGURATOR": "devduck_otel"}
UPSTREAM = {"OTEL_PYTHON_DISTRO": "distro", "OTEL_PYTHON_CONFIGURATOR": "configurator"}


def _run(
    tmp_path: Path,
    sink: OtlpHttpSink,
    env: dict[str, str],
    steps: int = 0,
    python: Path = Path(sys.executable),
) -> tuple[dict[str, Any], str]:
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    child = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    child.update(
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=sink.endpoint,
        OTEL_SERVICE_NAME="zero-code-agent",
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    child.update(env)
    with serve() as url:
        done = subprocess.run(
            [
                *_instrument_command(python),
                str(python),
                str(script),
                str(tmp_path / "notes.txt"),
                url,
                str(steps),
            ],
            env=child,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def _instrument_command(python: Path) -> list[str]:
    if python == Path(sys.executable):
        return [str(INSTRUMENT)]
    return [str(python), "-c", RUN_INSTRUMENT]


def _zip(recordings: Path) -> Path:
    zips = list(recordings.glob("*.zip"))
    assert len(zips) == 1, f"expected one session ZIP in {recordings}: {zips}"
    return zips[0]


def _zip_event_types(path: Path) -> list[tuple[str, str, Any]]:
    with zipfile.ZipFile(path) as zf:
        lines = zf.read("events.jsonl").decode().splitlines()
    events = [json.loads(line) for line in lines]
    return [(e["layer"], e["event_type"], e["data"]) for e in events]


@pytest.mark.parametrize("pick", ["ours", "unset", "upstream"])
def test_zip_and_collector_get_the_same_spans(
    tmp_path: Path, recordings_dir: Path, pick: str
) -> None:
    """Whichever distro and configurator load, the ZIP and the collector agree."""
    env = {"OTEL_TRACES_EXPORTER": "otlp,devduck_zip"}
    env.update({"ours": OURS, "unset": {}, "upstream": UPSTREAM}[pick])
    if pick == "upstream":
        env.update(OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
    with OtlpHttpSink() as sink:
        out, _ = _run(tmp_path, sink, env)
        sent = {span.span_id.hex(): span for span in sink.spans()}
    assert out["status"] == 200
    path = _zip(recordings_dir)
    recorded = zip_spans(path)
    assert set(recorded) == set(sent)
    assert {s["name"] for s in recorded.values()} >= {"invoke_agent planner", "execute_tool lookup"}
    events = _zip_event_types(path)
    assert ("sys", "file.open", {"path": str(tmp_path / "notes.txt"), "mode": "w"}) in events
    assert any(layer == "sys" and kind == "http.get" for layer, kind, _ in events)
    kinds = [(layer, kind) for layer, kind, _ in events]
    assert kinds[0] == ("agent", "session.start") and kinds[-1] == ("agent", "session.stop")


def test_our_distro_defaults_metrics_and_logs_to_none(tmp_path: Path, recordings_dir: Path) -> None:
    """Our distro sets no metrics or logs exporter unless asked; HTTP spans are sys."""
    with OtlpHttpSink() as sink:
        out, _ = _run(tmp_path, sink, {"OTEL_TRACES_EXPORTER": "otlp,devduck_zip", **OURS})
        get = next(s for s in sink.spans() if s.name == "GET")
    assert out["metrics"] == "none" and out["logs"] == "none"
    attrs = {kv.key: kv.value.string_value for kv in get.attributes}
    assert attrs["devduck.layer"] == "sys" and attrs["devduck.event_type"] == "http.get"


def test_sampling_keeps_the_zip_complete(tmp_path: Path, recordings_dir: Path) -> None:
    """Under zero-code at traceidratio 0.1 the ZIP has every trace, the collector a tenth."""
    env = {
        "OTEL_TRACES_EXPORTER": "otlp,devduck_zip",
        "OTEL_TRACES_SAMPLER": "traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
        **OURS,
    }
    with OtlpHttpSink() as sink:
        _run(tmp_path, sink, env, steps=100)
        sent = {span.trace_id.hex() for span in sink.spans()}
    recorded = zip_spans(_zip(recordings_dir))
    steps = [s for s in recorded.values() if s["name"].startswith("step ")]
    assert len(steps) == 100
    sampler = TraceIdRatioBased(0.1)
    expected = {
        s["traceId"]
        for s in recorded.values()
        if sampler.should_sample(None, int(s["traceId"], 16), "x").decision
        is Decision.RECORD_AND_SAMPLE
    }
    assert 0 < len(expected) < 50
    assert sent == expected


def test_zip_without_devduck_zip_in_the_exporter_list(tmp_path: Path, recordings_dir: Path) -> None:
    """OTEL_TRACES_EXPORTER=otlp alone: the recording still writes its ZIP at exit."""
    with OtlpHttpSink() as sink:
        _run(tmp_path, sink, {"OTEL_TRACES_EXPORTER": "otlp", **OURS})
        sent = {span.span_id.hex() for span in sink.spans()}
    recorded = zip_spans(_zip(recordings_dir))
    assert sent and sent <= set(recorded)


def test_auto_record_off(tmp_path: Path, recordings_dir: Path) -> None:
    """DEVDUCK_AUTO_RECORD=false and no devduck_zip: spans to the collector, no ZIP."""
    env = {"OTEL_TRACES_EXPORTER": "otlp", "DEVDUCK_AUTO_RECORD": "false", **OURS}
    with OtlpHttpSink() as sink:
        _run(tmp_path, sink, env)
        assert sink.spans()
    assert not list(recordings_dir.glob("*.zip"))


def test_unknown_exporter_name_is_logged_and_recording_works(
    tmp_path: Path, recordings_dir: Path
) -> None:
    """An unknown name in OTEL_TRACES_EXPORTER: one line naming it; ZIP and collector fine."""
    env = {"OTEL_TRACES_EXPORTER": "otlp,devduck_zip,jaegr", **OURS}
    with OtlpHttpSink() as sink:
        _, stderr = _run(tmp_path, sink, env)
        assert sink.spans()
    lines = [line for line in stderr.splitlines() if "jaegr" in line]
    assert len(lines) == 1 and "OTEL_TRACES_EXPORTER" in lines[0]
    assert zip_spans(_zip(recordings_dir))


def test_sdk_disabled_records_nothing(tmp_path: Path, recordings_dir: Path) -> None:
    """OTEL_SDK_DISABLED=true: the agent runs, nothing is exported or written."""
    env = {"OTEL_TRACES_EXPORTER": "otlp,devduck_zip", "OTEL_SDK_DISABLED": "true", **OURS}
    with OtlpHttpSink() as sink:
        out, _ = _run(tmp_path, sink, env)
        assert sink.spans() == []
    assert out["status"] == 200
    assert not list(recordings_dir.glob("*.zip"))


def test_instrumentor_starts_and_uninstrument_stops(recordings_dir: Path) -> None:
    """In process: instrument() starts a recording, uninstrument() writes its ZIP."""
    instrumentor = SysLayerInstrumentor()
    instrumentor.instrument()
    try:
        assert devduck_otel.recording_status()["recording"]

        @devduck_otel.tool
        def square(x: int) -> int:
            return x * x

        assert square(4) == 16
    finally:
        instrumentor.uninstrument()
    assert not devduck_otel.recording_status()["recording"]
    events = _zip_event_types(_zip(recordings_dir))
    assert (
        "tool",
        "tool.call",
        {"name": "square", "args": {"x": 4}, "call_id": "call_1"},
    ) in events


def test_bad_metrics_exporter_is_logged_and_tracing_works(
    tmp_path: Path, recordings_dir: Path
) -> None:
    """OTEL_METRICS_EXPORTER naming nothing installed: one line naming it; traces fine."""
    env = {"OTEL_TRACES_EXPORTER": "otlp,devduck_zip", "OTEL_METRICS_EXPORTER": "nometrics", **OURS}
    with OtlpHttpSink() as sink:
        _, stderr = _run(tmp_path, sink, env)
        assert sink.spans()
    lines = [line for line in stderr.splitlines() if "nometrics" in line]
    assert len(lines) == 1 and "OTEL_METRICS_EXPORTER" in lines[0]
    assert zip_spans(_zip(recordings_dir))


def _site_without_distro(root: Path) -> Path:
    """A virtual environment seeing every installed package but opentelemetry-distro."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    source = Path(opentelemetry.__path__[0]).parent
    target = next((root / "lib").glob("python3*")) / "site-packages"
    for entry in source.iterdir():
        if entry.name.startswith("opentelemetry_distro-") or entry.name == "opentelemetry":
            continue
        (target / entry.name).symlink_to(entry)
    (target / "opentelemetry").mkdir()
    for entry in (source / "opentelemetry").iterdir():
        if entry.name != "distro":
            (target / "opentelemetry" / entry.name).symlink_to(entry)
    return root / "bin" / "python"


def test_works_without_opentelemetry_distro(tmp_path: Path, recordings_dir: Path) -> None:
    """With only our distro and configurator installed, no OTEL_PYTHON_* is needed."""
    python = _site_without_distro(tmp_path / "venv")
    probe = "import importlib.util as u; print(u.find_spec('opentelemetry.distro') is None)"
    assert (
        subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "True"
    )
    with OtlpHttpSink() as sink:
        out, _ = _run(
            tmp_path,
            sink,
            {"OTEL_TRACES_EXPORTER": "otlp,devduck_zip"},
            python=python,
        )
        sent = {span.span_id.hex() for span in sink.spans()}
    assert out["metrics"] == "none"  # our distro was the one loaded
    assert set(zip_spans(_zip(recordings_dir))) == sent


def test_no_warning_about_the_configurator_we_did_not_load(
    tmp_path: Path, recordings_dir: Path
) -> None:
    """With opentelemetry-distro installed too, picking ours prints no configurator warning."""
    with OtlpHttpSink() as sink:
        _, err = _run(tmp_path, sink, {"OTEL_TRACES_EXPORTER": "devduck_zip", **OURS})
    assert "Configuration of" not in err, err
