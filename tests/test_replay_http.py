"""HTTP-level replay: an agent that calls its model's HTTP API directly replays offline.

The "model" is a real loopback HTTP server (tests/support/http_server.py), called with
real requests and httpx (sync and async). The server is stopped before each replay, so
any exchange not served from the record would fail to connect.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import requests.adapters
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import devduck_otel
from devduck_otel.capture._httpbody import BODY_LIMIT, TRUNCATED_MARKER, body_bytes
from devduck_otel.environment_variables import DEVDUCK_CAPTURE_HTTP_BODIES
from devduck_otel.replay._steps import MissingStepsError, steps_of
from tests.support.http_server import serve

TOKEN = "sk-proj-Zq8VtR2mXw4LpN6yHs0KdJf3Gb7Ce9Ua"  # noqa: S105 (a planted test secret)
TOOL_RUNS: list[str] = []
BASE: dict[str, str] = {}


@devduck_otel.tool
def lookup(key: str) -> str:
    """A tool that calls the server too: its exchange is part of the tool step."""
    TOOL_RUNS.append(key)
    return str(requests.get(f"{BASE['url']}/kv/{key}", timeout=10).json()["path"])


class HttpAgent:
    """A hand-written agent with no ``@llm``: its model is the server's /chat API."""

    def __init__(
        self, client: str = "requests", system: str = "be brief", path: str = "/chat"
    ) -> None:
        self.messages: list[dict[str, Any]] = []
        self.client, self.system, self.path = client, system, path

    def _ask(self) -> dict[str, Any]:
        url = BASE["url"] + self.path
        payload = {"system": self.system, "messages": self.messages, "api_key": TOKEN}
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if self.client == "requests":
            reply = requests.post(url, json=payload, headers=headers, timeout=10).json()
        elif self.client == "httpx":
            with httpx.Client() as client:
                reply = client.post(url, json=payload, headers=headers).json()
        else:
            reply = asyncio.run(self._ask_async(url, payload, headers))
        return dict(reply["message"])

    async def _ask_async(self, url: str, payload: Any, headers: dict[str, str]) -> Any:
        async with httpx.AsyncClient() as client:
            return (await client.post(url, json=payload, headers=headers)).json()

    def __call__(self, query: str) -> str:
        """One turn: model, tool, model."""
        self.messages.append({"role": "user", "content": query})
        reply = self._ask()
        while "tool" in reply:
            self.messages.append({"role": "tool", "content": lookup(**reply["args"])})
            reply = self._ask()
        self.messages.append({"role": "assistant", "content": reply["content"]})
        return str(reply["content"])


class Poster:
    """An agent whose one step posts its query, repeated, to the echo endpoint."""

    def __init__(self, repeat: int = 1) -> None:
        self.messages: list[dict[str, Any]] = []
        self.repeat = repeat

    def __call__(self, query: str) -> str:
        """Post and keep the echo."""
        self.messages.append({"role": "user", "content": query})
        echo = requests.post(f"{BASE['url']}/echo", data=query * self.repeat, timeout=10).json()
        self.messages.append({"role": "assistant", "content": echo["path"]})
        return str(echo["path"])


@pytest.fixture(autouse=True)
def bodies_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Record HTTP bodies; clear the tool log."""
    monkeypatch.setenv(DEVDUCK_CAPTURE_HTTP_BODIES, "true")
    TOOL_RUNS.clear()
    yield
    BASE.clear()


def _record(agent: Any, query: str = "alpha", port: int = 0) -> devduck_otel.LoadedSession:
    """Record one turn of ``agent`` against a live server, then stop the server."""
    with serve(port) as base:
        BASE["url"] = base
        devduck_otel.instrument(agent)
        agent(query)
        path = devduck_otel.stop_recording()
    assert path is not None
    TOOL_RUNS.clear()
    return devduck_otel.load_session(path)


def _port() -> int:
    return int(BASE["url"].rsplit(":", 1)[1])


def test_http_steps_hold_request_and_response() -> None:
    """The model's exchanges are steps in time order; the tool's own GET is part of the tool."""
    steps = _record(HttpAgent()).steps
    url = BASE["url"] + "/chat"
    assert [(s.kind, s.name) for s in steps] == [
        ("http", f"POST {url}"),
        ("tool", "lookup"),
        ("http", f"POST {url}"),
    ]
    first = steps[0]
    assert (first.request["method"], first.request["url"]) == ("POST", url)
    assert first.request["body"]["messages"] == [{"role": "user", "content": "alpha"}]
    assert first.request["body_format"] == "json"
    assert first.response["status"] == 200
    assert first.response["body"]["message"]["args"] == {"key": "alpha"}
    assert first.span_id and first.error is None


@pytest.mark.parametrize("client", ["requests", "httpx", "async"])
def test_full_replay_with_the_server_stopped(client: str) -> None:
    """Every exchange is served from the record: the server is gone, the tool never runs."""
    session = _record(HttpAgent(client))
    agent = HttpAgent(client)
    result = session.replay(agent)
    assert not result.diverged, result.divergence
    assert (result.steps_replayed, result.steps_live) == (3, 0)
    assert result.agent_result == "answer: /kv/alpha"
    assert agent.messages[-1] == {"role": "assistant", "content": "answer: /kv/alpha"}
    assert TOOL_RUNS == []


def test_changed_request_body_diverges_at_the_first_step() -> None:
    """Another system prompt in the body: step 1, field body, nothing sent."""
    session = _record(HttpAgent())
    d = session.replay(HttpAgent(system="be verbose"), record=False).divergence
    assert d is not None
    assert (d.step, d.kind, d.field) == (1, "http", "body")
    assert (d.expected["system"], d.actual["system"]) == ("be brief", "be verbose")


def test_changed_url_diverges_with_field_url() -> None:
    """Another endpoint: step 1, field url."""
    session = _record(HttpAgent("httpx"))
    d = session.replay(HttpAgent("httpx", path="/chat/v2"), record=False).divergence
    assert d is not None
    assert (d.step, d.kind, d.field) == (1, "http", "url")
    assert str(d.actual).endswith("/chat/v2")


def test_fork_goes_live_after_until_and_writes_a_linked_session() -> None:
    """until=1: the first exchange from the record, then the tool and the model live."""
    session = _record(HttpAgent())
    with serve(_port()):  # the server is back, on the recorded address
        fork = session.replay(HttpAgent(), until=1)
    assert TOOL_RUNS == ["alpha"]
    assert (fork.steps_replayed, fork.steps_live) == (1, 2)
    assert fork.agent_result == "answer: /kv/alpha"
    assert fork.session_path is not None
    child = devduck_otel.load_session(fork.session_path)
    assert child.metadata["parent_session"] == session.session_id
    assert child.metadata["parent_step"] == 1
    assert [s.kind for s in child.steps] == ["http", "tool", "http"]  # the served one too


def test_body_over_the_limit_is_cut_and_marked() -> None:
    """A 100 KiB body is kept up to the limit, marked, and refused by replay."""
    session = _record(Poster(repeat=100 * 1024), query="x")
    step = session.steps[0]
    for part in (step.request, step.response):
        assert part["body_truncated"] is True
        assert part["body"].endswith(TRUNCATED_MARKER)
        assert len(part["body"]) == BODY_LIMIT + len(TRUNCATED_MARKER)
    assert step.request["body_size"] == 100 * 1024
    with pytest.raises(ValueError, match=r"step 1 \(http POST .*\) cannot be served: .*cut"):
        session.replay(Poster(repeat=100 * 1024), record=False)


def test_secret_is_redacted_in_the_zip_and_replay_still_matches() -> None:
    """The token (header and body) never reaches the ZIP; the live request is redacted too."""
    session = _record(HttpAgent())
    with zipfile.ZipFile(session.path) as archive:
        for name in archive.namelist():
            assert TOKEN.encode() not in archive.read(name), name
    request = session.steps[0].request
    assert request["headers"]["Authorization"] == "[REDACTED]"
    assert request["body"]["api_key"] == "[REDACTED]"
    result = session.replay(HttpAgent(), record=False)
    assert not result.diverged, result.divergence


def test_replay_restores_the_transports_also_when_it_raises() -> None:
    """The three patched methods are the originals again after a replay that raised."""
    session = _record(Poster(repeat=100 * 1024), query="x")
    before = (
        requests.adapters.HTTPAdapter.__dict__["send"],
        httpx.HTTPTransport.__dict__["handle_request"],
        httpx.AsyncHTTPTransport.__dict__["handle_async_request"],
    )
    with pytest.raises(ValueError, match="cannot be served"):
        session.replay(Poster(repeat=100 * 1024), record=False)
    after = (
        requests.adapters.HTTPAdapter.__dict__["send"],
        httpx.HTTPTransport.__dict__["handle_request"],
        httpx.AsyncHTTPTransport.__dict__["handle_async_request"],
    )
    assert after == before


def test_session_without_bodies_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recorded with DEVDUCK_CAPTURE_HTTP_BODIES off: replay names the variable."""
    monkeypatch.setenv(DEVDUCK_CAPTURE_HTTP_BODIES, "false")
    only_http = _record(Poster(), query="x")
    assert only_http.steps == []
    with pytest.raises(MissingStepsError, match="DEVDUCK_CAPTURE_HTTP_BODIES=true"):
        only_http.replay(Poster())
    with_tool = _record(HttpAgent())
    assert [s.kind for s in with_tool.steps] == ["tool"]
    with pytest.raises(ValueError, match=r"recorded without their bodies.*DEVDUCK_CAPTURE_HTTP"):
        with_tool.replay(HttpAgent(), record=False)


def test_bodies_reach_collectors_only_with_content_capture(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A collector gets the HTTP bodies only with the GenAI content switch on."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    for capture in ("false", "true"):
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", capture)
        session = _record(Poster(), query="x")
        assert session.steps[0].request["body"] == "x"  # the ZIP has them either way
        out = capfd.readouterr().out
        assert '"name": "POST"' in out  # the HTTP span reached the collector
        assert ("devduck.http.request" in out) is (capture == "true")


def test_a_bad_switch_value_warns_and_records_no_bodies(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """DEVDUCK_CAPTURE_HTTP_BODIES=maybe: one warning naming it, bodies stay off."""
    monkeypatch.setenv(DEVDUCK_CAPTURE_HTTP_BODIES, "maybe")
    session = _record(Poster(), query="x")
    assert session.steps == []
    assert "http.post" in {e["event_type"] for e in session.events}
    assert any(DEVDUCK_CAPTURE_HTTP_BODIES in r.getMessage() for r in caplog.records)


def _http_event(span: str, parent: str | None, data: Any) -> dict[str, Any]:
    return {"event_type": "http.get", "span_id": span, "parent_span_id": parent, "data": data}


def test_hostile_http_events_are_skipped_not_trusted() -> None:
    """Broken HTTP records are no steps; a parent cycle does not hang; empty is empty."""
    whole = {"request": {"method": "GET", "url": "http://h/p"}, "response": {"status": 200}}
    events = [
        _http_event("a" * 16, "b" * 16, whole),  # a cycle: a -> b -> a
        _http_event("b" * 16, "a" * 16, {"request": "GET /", "response": None}),
        _http_event("c" * 16, None, {"request": {"method": "GET"}, "response": 7}),
        _http_event("d" * 16, None, "not a dict"),
        _http_event("e" * 16, None, whole),
    ]
    steps = steps_of(events)
    assert [(s.kind, s.name, s.span_id) for s in steps] == [("http", "GET http://h/p", "e" * 16)]
    assert steps_of([]) == []
    with pytest.raises(ValueError, match="base64 body is broken"):
        body_bytes({"body": "%%%", "body_format": "base64"})
    assert body_bytes({"body": None, "body_format": "empty"}) == b""


class Streamer:
    """An agent that reads a server-sent event stream (httpx) and a streamed GET (requests)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def __call__(self, query: str) -> str:
        """Read both streams whole."""
        self.messages.append({"role": "user", "content": query})
        with httpx.Client() as client, client.stream("GET", f"{BASE['url']}/events") as r:
            events = [line for line in r.iter_lines() if line]
        with requests.get(f"{BASE['url']}/kv/{query}", stream=True, timeout=10) as r:
            events.append(r.json()["path"])
        self.messages.append({"role": "assistant", "content": " | ".join(events)})
        return " | ".join(events)


def test_streamed_responses_are_passed_on_whole_and_not_served() -> None:
    """An event stream and a stream=True response reach the agent whole, bodiless in the record."""
    agent = Streamer()
    session = _record(agent, query="x")
    assert agent.messages[-1]["content"] == "data: event 1 | data: event 2 | /kv/x"
    assert [s.response["body_format"] for s in session.steps] == ["not-captured"] * 2
    assert all(s.response["body"] is None for s in session.steps)
    with pytest.raises(ValueError, match=r"step 1 \(http GET .*/events\) cannot be served: .*not"):
        session.replay(Streamer(), record=False)


class Unpacker:
    """An agent that GETs a gzip-encoded JSON answer with httpx and with requests."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def __call__(self, query: str) -> str:
        """Both clients undo the encoding."""
        self.messages.append({"role": "user", "content": query})
        with httpx.Client() as client:
            first = client.get(f"{BASE['url']}/gzip/{query}").json()
        second = requests.get(f"{BASE['url']}/gzip/{query}", timeout=10).json()
        answer = f"{first['path']} {second['packed']}"
        self.messages.append({"role": "assistant", "content": answer})
        return answer


def test_encoded_bodies_are_recorded_decoded_and_served_again() -> None:
    """A gzip body is recorded as the JSON the client read, and served as such offline."""
    session = _record(Unpacker(), query="x")
    assert [s.response["body"] for s in session.steps] == [{"path": "/gzip/x", "packed": True}] * 2
    agent = Unpacker()
    result = session.replay(agent, record=False)
    assert not result.diverged, result.divergence
    assert result.agent_result == "/gzip/x True"


def test_application_processors_after_the_session_get_no_bodies() -> None:
    """A processor the application adds after devduck-otel joined sees the span, no bodies."""
    provider = TracerProvider()
    devduck_otel.start_recording(tracer_provider=provider)
    later = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(later))
    with serve() as base:
        BASE["url"] = base
        Poster()("x")
    path = devduck_otel.stop_recording()
    assert path is not None
    (span,) = [s for s in later.get_finished_spans() if s.name == "POST"]
    assert span.attributes is not None and span.attributes["http.method"] == "POST"
    assert not set(span.attributes) & {"devduck.http.request", "devduck.http.response"}
    assert devduck_otel.load_session(path).steps[0].request["body"] == "x"
