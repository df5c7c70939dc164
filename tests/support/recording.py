"""Recording a function in a fresh session and loading what it recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import devduck_otel


def record(fn: Callable[[], Any]) -> devduck_otel.LoadedSession:
    """Run ``fn`` inside a recording (sys layer on) and return the loaded session."""
    devduck_otel.start_recording()
    try:
        fn()
    finally:
        path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)


def joined_memory_exporter() -> InMemorySpanExporter:
    """Start a recording that joins an application provider with an in-memory exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    devduck_otel.start_recording(tracer_provider=provider)
    return exporter


def run_json_child(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``code`` in a child interpreter at the repository root; return its JSON stdout."""
    root = Path(__file__).resolve().parents[2]
    child = dict(os.environ if env is None else env)
    child["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), child.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=child,
        cwd=root,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result
