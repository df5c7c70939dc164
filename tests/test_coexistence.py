"""Beside other OpenTelemetry set-ups: one trace, nothing lost.

Logfire's proxy provider, Strands' own telemetry set up after ``instrument()``, and
OpenInference's Strands processor. Each scenario sets a global provider, which a process can do once, so it runs in a child
interpreter and prints what it saw as JSON.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

import devduck_otel
from tests.support.recording import run_json_child

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import json, sys
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import devduck_otel
from tests.support.otlp import zip_spans
from tests.support.recording import run_json_child

def report(path, exporter, **extra):
    app = [
        {"name": s.name, "id": format(s.context.span_id, "016x"),
         "parent": format(s.parent.span_id, "016x") if s.parent else ""}
        for s in exporter.get_finished_spans()
    ]
    recorded = [
        {"name": v["name"], "id": k, "parent": v["parentSpanId"]}
        for k, v in zip_spans(path).items()
    ]
    json.dump({"path": path, "app": app, "zip": recorded, **extra}, sys.stdout)
"""


def _run(body: str, *args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["LOGFIRE_SEND_TO_LOGFIRE"] = "false"
    return run_json_child(PRELUDE + textwrap.dedent(body), *args, env=env)


LOGFIRE = """
import logfire, requests
exporter = InMemorySpanExporter()
logfire.configure(send_to_logfire=False, console=False,
                  additional_span_processors=[SimpleSpanProcessor(exporter)])
logfire.instrument_requests()

@devduck_otel.tool
def fetch(url: str) -> int:
    with logfire.span("inside tool"):
        return requests.get(url, timeout=5).status_code

from opentelemetry import trace
explicit = sys.argv[2] == "explicit"
devduck_otel.start_recording(
    sys_layer=False, tracer_provider=trace.get_tracer_provider() if explicit else None
)
with logfire.span("app root"):
    status = fetch(sys.argv[1])
report(devduck_otel.stop_recording(), exporter, status=status)
"""


@pytest.mark.parametrize("how", ["global", "explicit"])
def test_logfire_proxy_provider_is_joined_one_trace(how: str) -> None:
    """Logfire's proxy is joined (global or passed): one trace, in Logfire and the ZIP."""
    from tests.support.http_server import serve

    with serve() as url:
        result = _run(LOGFIRE, url, how)
    assert result["status"] == 200
    app = {s["id"]: s for s in result["app"]}
    recorded = {s["id"]: s for s in result["zip"]}
    names = {s["name"] for s in app.values()}
    assert {"app root", "execute_tool fetch", "inside tool"} <= names
    assert any(s["name"] == "GET" for s in app.values())  # Logfire's requests span
    assert set(app) <= set(recorded)  # every span Logfire got is in the ZIP
    for span in app.values():  # one trace: every parent is a span both sides have
        assert span["parent"] == "" or span["parent"] in app
        assert recorded[span["id"]]["parent"] == span["parent"]
    session = devduck_otel.load_session(result["path"])
    assert [e["data"]["status_code"] for e in session.get_events_by_type("http.get")] == [200]


def test_a_provider_of_another_kind_is_a_clear_type_error(recordings_dir: Path) -> None:
    """Anything that is not, and does not wrap, an SDK provider: TypeError, nothing left."""
    with pytest.raises(TypeError, match="SDK TracerProvider"):
        devduck_otel.start_recording(tracer_provider=object())
    assert list(recordings_dir.iterdir()) == []
    assert devduck_otel.stop_recording() is None  # nothing is left running either


STRANDS_LATE = """
from strands import Agent, tool
from strands.telemetry import StrandsTelemetry
from devduck_otel.testing import ScriptedModel, tool_turn

@tool
def add(a: int, b: int) -> int:
    '''Add.

    Args:
        a: first.
        b: second.
    '''
    return a + b

agent = Agent(model=ScriptedModel([tool_turn("add", {"a": 1, "b": 2}), "3"]),
              tools=[add], callback_handler=None, name="calc")
devduck_otel.instrument(agent)          # first devduck...
telemetry = StrandsTelemetry()          # ...then Strands' own global provider
exporter = InMemorySpanExporter()
telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
if sys.argv[1] == "openinference":
    from openinference.instrumentation.strands_agents import (
        StrandsAgentsToOpenInferenceProcessor,
    )
    telemetry.tracer_provider.add_span_processor(StrandsAgentsToOpenInferenceProcessor())
agent("1 + 2?")
path = devduck_otel.stop_recording()
session = devduck_otel.load_session(path)
report(path, exporter, kinds=[e["event_type"] for e in session.events],
       attrs={v["name"]: [a["key"] for a in v["attributes"]] for v in zip_spans(path).values()})
"""


@pytest.mark.parametrize("extra", ["plain", "openinference"])
def test_strands_telemetry_after_instrument_is_recorded(extra: str) -> None:
    """instrument() before StrandsTelemetry(): Strands' spans are in the ZIP all the same.

    With OpenInference's processor rewriting Strands' spans in place after they end,
    the ZIP keeps them as they ended (GenAI attributes and all), every span there.
    """
    result = _run(STRANDS_LATE, extra)
    assert result["zip"]
    names = [s["name"] for s in result["zip"]]
    assert {"invoke_agent calc", "execute_tool add"} <= set(names)
    assert len([n for n in names if n.startswith("chat")]) == 2
    app_ids = {s["id"] for s in result["app"]}
    assert app_ids <= {s["id"] for s in result["zip"]}
    assert result["kinds"].count("tool.call") == 1 and result["kinds"].count("model.call") == 2
    assert "gen_ai.operation.name" in result["attrs"]["execute_tool add"]
