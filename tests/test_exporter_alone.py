"""The exporter alone makes a session: GenAI spans from any producer, no devduck_otel API.

``DevduckZipSpanExporter`` behind an ordinary SDK ``TracerProvider`` (or named in
``OTEL_TRACES_EXPORTER``) turns ``invoke_agent``, ``chat``, ``execute_tool`` and HTTP
client spans into agent, model, tool and sys events, in the older and the latest
GenAI conventions and in OpenInference's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from devduck_otel_exporter_zip import DevduckZipSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

import devduck_otel

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENT = Path(sys.executable).with_name("opentelemetry-instrument")


def _session(tmp_path: Path, produce: Any) -> devduck_otel.LoadedSession:
    exporter = DevduckZipSpanExporter(directory=tmp_path)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    produce(provider.get_tracer("hand.made"))
    provider.shutdown()
    assert exporter.zip_path is not None
    return devduck_otel.load_session(exporter.zip_path)


def _hand_made(tracer: Any) -> None:
    user = [{"role": "user", "parts": [{"type": "text", "content": "weather in Lisbon?"}]}]
    answer = [{"role": "assistant", "parts": [{"type": "text", "content": "Sunny, 24 C"}]}]
    with tracer.start_as_current_span("invoke_agent planner") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        agent.set_attribute("gen_ai.input.messages", json.dumps(user))
        with tracer.start_as_current_span("chat m1") as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "m1",
                    "gen_ai.input.messages": json.dumps(user),
                    "gen_ai.output.messages": json.dumps(answer),
                    "gen_ai.response.finish_reasons": ["stop"],
                    "gen_ai.usage.input_tokens": 12,
                }
            )
        with tracer.start_as_current_span("execute_tool weather") as tool:
            tool.set_attributes(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "weather",
                    "gen_ai.tool.call.id": "c1",
                    "gen_ai.tool.call.arguments": '{"city": "Lisbon"}',
                    "gen_ai.tool.call.result": '{"sky": "sunny"}',
                }
            )
        with tracer.start_as_current_span("execute_tool broken") as tool:
            tool.set_attributes(
                {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "broken"}
            )
            tool.set_status(StatusCode.ERROR, "ValueError: no")
        with tracer.start_as_current_span("GET", kind=SpanKind.CLIENT) as http:
            http.set_attributes(
                {
                    "http.request.method": "GET",
                    "url.full": "http://x/",
                    "http.response.status_code": 200,
                }
            )
        agent.set_attribute("gen_ai.output.messages", json.dumps(answer))


def test_hand_made_genai_spans_give_a_session(tmp_path: Path) -> None:
    """A hand-made tracer's GenAI spans become messages, model, tool and HTTP events."""
    session = _session(tmp_path, _hand_made)
    kinds = [e["event_type"] for e in session.events]
    assert kinds[0] == "session.start" and kinds[-1] == "session.stop"
    messages = session.get_events_by_type("message")
    assert [m["data"]["role"] for m in messages] == ["user", "assistant"]
    assert "Lisbon" in messages[0]["data"]["content_preview"]
    (model,) = session.get_events_by_type("model.call")
    assert model["data"]["name"] == "m1"
    assert model["data"]["response"]["stop_reason"] == "stop"
    assert model["data"]["request"]["messages"][0]["parts"][0]["content"] == "weather in Lisbon?"
    calls = {e["data"]["name"]: e["data"] for e in session.get_events_by_type("tool.call")}
    assert calls["weather"]["args"] == {"city": "Lisbon"} and calls["broken"]["args"] == {}
    results = {e["data"]["name"]: e["data"] for e in session.get_events_by_type("tool.result")}
    assert results["weather"]["result"] == {"sky": "sunny"}
    assert results["broken"]["error"] == "ValueError: no"
    (http,) = session.get_events_by_type("http.get")
    assert http["layer"] == "sys" and http["data"]["status_code"] == 200


def _open_inference(tracer: Any) -> None:
    with tracer.start_as_current_span("agent") as agent:
        agent.set_attributes({"openinference.span.kind": "AGENT", "input.value": "hello"})
        with tracer.start_as_current_span("lookup") as tool:
            tool.set_attributes(
                {
                    "openinference.span.kind": "TOOL",
                    "tool.name": "lookup",
                    "input.value": '{"q": 1}',
                    "output.value": "found",
                    "llm.token_count.prompt": 7,
                }
            )
        agent.set_attribute("output.value", "bye")


def test_openinference_spans_give_a_session(tmp_path: Path) -> None:
    """OpenInference's span kinds and input/output values are read as well."""
    session = _session(tmp_path, _open_inference)
    assert [m["data"]["content"] for m in session.get_events_by_type("message")] == ["hello", "bye"]
    (call,) = session.get_events_by_type("tool.call")
    assert call["data"] == {"name": "lookup", "args": {"q": 1}, "call_id": None}
    (result,) = session.get_events_by_type("tool.result")
    assert result["data"]["result"] == "found"


def test_spans_without_genai_content_still_load(tmp_path: Path) -> None:
    """Empty and odd GenAI spans (no content, broken JSON) give events, never a failure."""

    def odd(tracer: Any) -> None:
        with tracer.start_as_current_span("invoke_agent") as span:
            span.set_attribute("gen_ai.operation.name", "invoke_agent")
            span.set_attribute("gen_ai.input.messages", "{not json")
        with tracer.start_as_current_span("chat") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
        with tracer.start_as_current_span("execute_tool") as span:
            span.set_attribute("gen_ai.operation.name", "execute_tool")
            span.set_attribute("gen_ai.tool.call.result", "[1, 2")

    session = _session(tmp_path, odd)
    assert session.get_events_by_type("message") == []
    (model,) = session.get_events_by_type("model.call")
    assert model["data"]["request"]["messages"] is None
    (result,) = session.get_events_by_type("tool.result")
    assert result["data"]["result"] == "[1, 2"


STRANDS_AGENT = textwrap.dedent(
    """
    import sys
    from strands import Agent, tool
    from devduck_otel.testing import ScriptedModel, tool_turn

    @tool
    def read_note(path: str) -> str:
        '''Read a note.

        Args:
            path: The file.
        '''
        with open(path) as fh:
            return fh.read()

    model = ScriptedModel([tool_turn("read_note", {"path": sys.argv[1]}), "It says hi.", "bye"])
    agent = Agent(model=model, tools=[read_note], callback_handler=None, name="reader")
    agent("what does the note say?")
    agent("thanks")
    """
)


@pytest.mark.parametrize("conventions", ["default", "gen_ai_latest_experimental"])
def test_strands_own_telemetry_alone_records_a_usable_session(
    tmp_path: Path, recordings_dir: Path, conventions: str
) -> None:
    """OTEL_TRACES_EXPORTER=devduck_zip on a Strands agent that devduck never instruments."""
    note = tmp_path / "note.txt"
    note.write_text("hi")
    script = tmp_path / "agent.py"
    script.write_text(STRANDS_AGENT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_TRACES_EXPORTER="devduck_zip",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        DEVDUCK_AUTO_RECORD="false",
        DEVDUCK_RECORDINGS_DIR=str(recordings_dir),
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
    )
    if conventions != "default":
        env["OTEL_SEMCONV_STABILITY_OPT_IN"] = conventions
    done = subprocess.run(
        [str(INSTRUMENT), sys.executable, str(script), str(note)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (path,) = recordings_dir.glob("*.zip")
    session = devduck_otel.load_session(path)
    (call,) = session.get_events_by_type("tool.call")
    assert call["data"]["name"] == "read_note" and call["data"]["args"] == {"path": str(note)}
    (result,) = session.get_events_by_type("tool.result")
    assert "hi" in json.dumps(result["data"]["result"])
    models = session.get_events_by_type("model.call")
    assert len(models) == 3
    assert all(m["data"]["response"]["content"] for m in models)
    roles = [m["data"]["role"] for m in session.get_events_by_type("message")]
    assert roles.count("user") == 2 and roles.count("assistant") == 2
