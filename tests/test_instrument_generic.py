"""``instrument(agent)`` on plain agent objects: a per-instance, removable call wrapper."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import devduck_otel
from devduck_otel._instrument import uninstrument
from devduck_otel.integrations import adapter_for


class EchoAgent:
    """Answers with its query; keeps an OpenAI-style message list."""

    def __init__(self, name: str = "echo") -> None:
        self.name = name
        self.messages: list[dict[str, Any]] = []
        self.system_prompt = "Repeat the user."

    def __call__(self, query: str) -> str:
        """Echo ``query`` in upper case."""
        self.messages.append({"role": "user", "content": query})
        if query == "fail":
            raise LookupError("no echo today")
        answer = self.run_inner(query)
        self.messages.append({"role": "assistant", "content": answer})
        return answer

    def run_inner(self, query: str) -> str:
        """Do the work."""
        return query.upper()


class Runner:
    """An agent with ``run`` that calls ``invoke`` (nested calls record once)."""

    __slots__ = ("messages",)

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def run(self, prompt: str) -> str:
        """Delegate to invoke."""
        return self.invoke(prompt)

    def invoke(self, prompt: str) -> str:
        """Replace the message list with one more message."""
        self.messages = [*self.messages, {"role": "user", "content": prompt}]
        return "ok"


class AsyncAgent:
    """An agent whose ``run`` is a coroutine."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def run(self, query: str) -> str:
        """Answer later."""
        self.messages.append({"role": "user", "content": query})
        self.messages.append({"role": "assistant", "content": "later"})
        return "later"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """In-memory spans of the test's provider."""
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    """A non-global SDK TracerProvider the recording joins."""
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    return tp


def _invocations(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("invoke_agent")]


def _load() -> devduck_otel.LoadedSession:
    path = devduck_otel.stop_recording()
    assert path is not None
    return devduck_otel.load_session(path)


def test_call_is_recorded_with_span_messages_and_snapshots(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Each call: an invoke_agent span, message events, snapshots before and after."""
    agent = EchoAgent()
    rec = devduck_otel.instrument(agent, tracer_provider=provider)
    assert agent("hello") == "HELLO"
    assert agent("again") == "AGAIN"
    spans = _invocations(exporter)
    assert [s.name for s in spans] == ["invoke_agent echo", "invoke_agent echo"]
    assert spans[0].attributes is not None
    assert spans[0].attributes["gen_ai.conversation.id"] == rec.session_id
    session = _load()
    messages = session.get_events_by_type("message")
    assert [(m["data"]["role"], m["data"]["content"]) for m in messages] == [
        ("user", "hello"),
        ("assistant", "HELLO"),
        ("user", "again"),
        ("assistant", "AGAIN"),
    ]
    assert messages[0]["span_id"] == format(spans[0].context.span_id, "016x")
    assert [(s["description"], s["agent_messages_count"]) for s in session.snapshots] == [
        ("before invocation 1", 0),
        ("after invocation 1", 2),
        ("before invocation 2", 2),
        ("after invocation 2", 4),
    ]
    assert session.snapshots[1]["last_result"] == "HELLO"


def test_only_the_instrumented_instance_is_wrapped(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Another instance of the same class is not recorded; isinstance still holds."""
    agent, other = EchoAgent("a"), EchoAgent("b")
    devduck_otel.instrument(agent, tracer_provider=provider)
    assert isinstance(agent, EchoAgent)
    other("x")
    agent("y")
    assert [s.name for s in _invocations(exporter)] == ["invoke_agent a"]
    assert type(other) is EchoAgent


def test_nested_call_methods_record_once(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """run() calling invoke() is one invocation; a replaced message list is still seen."""
    agent = Runner()
    devduck_otel.instrument(agent, tracer_provider=provider)
    agent.run("go")
    (span,) = _invocations(exporter)
    assert span.name == "invoke_agent Runner"
    session = _load()
    assert [m["data"]["content"] for m in session.get_events_by_type("message")] == ["go"]


async def test_async_call_is_recorded(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """An async run() is awaited inside its span."""
    agent = AsyncAgent()
    devduck_otel.instrument(agent, tracer_provider=provider)
    assert await agent.run("soon") == "later"
    (span,) = _invocations(exporter)
    assert span.end_time is not None
    session = _load()
    assert len(session.get_events_by_type("message")) == 2
    assert [s["agent_messages_count"] for s in session.snapshots] == [0, 2]


def test_exception_reaches_caller_and_marks_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """The agent's own exception is re-raised unchanged after error.type is recorded."""
    agent = EchoAgent()
    devduck_otel.instrument(agent, tracer_provider=provider)
    with pytest.raises(LookupError, match="no echo today"):
        agent("fail")
    (span,) = _invocations(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "LookupError"
    session = _load()
    assert len(session.snapshots) == 2
    assert [m["data"]["content"] for m in session.get_events_by_type("message")] == ["fail"]


def test_uninstrument_restores_the_instance(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Uninstrumenting puts the original class back and calls go unrecorded."""
    agent = EchoAgent()
    devduck_otel.instrument(agent, tracer_provider=provider)
    devduck_otel.instrument(agent)
    uninstrument(agent)
    assert type(agent) is EchoAgent
    agent("quiet")
    assert _invocations(exporter) == []


def test_agent_without_call_method_is_refused() -> None:
    """A messages list alone is not enough: the error names the methods it needs."""

    class Inert:
        def __init__(self) -> None:
            self.messages: list[Any] = []

    with pytest.raises(TypeError, match=r"__call__, run or invoke"):
        devduck_otel.instrument(Inert())


def test_object_without_messages_is_refused() -> None:
    """An object without a messages list gets a TypeError that says so."""

    class NotAnAgent:
        def run(self, query: str) -> str:
            return query

    with pytest.raises(TypeError, match="`messages` list"):
        devduck_otel.instrument(NotAnAgent())


def test_instrument_without_agent_only_starts_recording() -> None:
    """instrument() with no agent starts (or returns) the running recording."""
    rec = devduck_otel.instrument(session_id="plain")
    assert rec.session_id == "plain"
    assert devduck_otel.instrument() is rec


def test_adapter_invoke_records_without_instrumenting(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """The turn resume runs through the adapter is recorded; the agent stays unwrapped."""
    agent = EchoAgent()
    devduck_otel.start_recording(tracer_provider=provider)
    assert adapter_for(agent).invoke("resumed") == "RESUMED"
    assert type(agent) is EchoAgent
    assert [s.name for s in _invocations(exporter)] == ["invoke_agent echo"]
    agent("unrecorded")
    assert len(_invocations(exporter)) == 1


class _Unprintable(Exception):
    """An exception whose str() raises."""

    def __str__(self) -> str:
        raise RuntimeError("str refused")


class _BrokenAgent:
    """Fails with an exception that cannot be shown."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def run(self, query: str) -> str:
        """Append the query, then fail."""
        self.messages.append({"role": "user", "content": query})
        raise _Unprintable


def test_unprintable_agent_error_reaches_the_caller_unchanged(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """An exception whose str() fails is re-raised as is, and still recorded."""
    monkeypatch.setenv("DEVDUCK_RAISE_INTERNAL_ERRORS", "false")
    agent = _BrokenAgent()
    devduck_otel.instrument(agent, tracer_provider=provider)
    with pytest.raises(_Unprintable):
        agent.run("q")
    (span,) = _invocations(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "_Unprintable: <str() failed>"


def test_works_without_strands_installed() -> None:
    """With strands (and langgraph, langchain-core) unimportable the package records plain agents."""
    script = textwrap.dedent(
        """
        import sys
        for name in ("strands", "langgraph", "langchain_core"):
            sys.modules[name] = None  # any import of them now fails
        import devduck_otel

        class Agent:
            def __init__(self):
                self.messages = []
            def run(self, query):
                self.messages.append({"role": "user", "content": query})
                return "ok"

        agent = Agent()
        devduck_otel.instrument(agent)
        assert agent.run("hi") == "ok"
        session = devduck_otel.load_session(devduck_otel.stop_recording())
        assert len(session.get_events_by_type("message")) == 1
        assert "strands.agent.agent" not in sys.modules
        assert not [m for m in sys.modules if m.startswith(("langgraph.", "langchain_core."))]
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


@devduck_otel.tool
def weather(city: str) -> str:
    """Answer for any city."""
    return f"sunny in {city}"


class WeatherAgent:
    """Adds the user's message, asks a tool, then answers (the order `show` must keep)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def __call__(self, query: str) -> str:
        """Look the weather up."""
        self.messages.append({"role": "user", "content": query})
        self.messages += [{"role": "assistant", "content": "Let me look."}]
        answer = weather("Lisbon")
        self.messages.extend([{"role": "assistant", "content": answer}])
        return answer


def _show_rows(capsys: pytest.CaptureFixture[str], path: str) -> list[str]:
    from devduck_otel.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["show", path])
    assert exited.value.code == 0
    return capsys.readouterr().out.splitlines()[1:]


def _row(rows: list[str], text: str) -> int:
    return next(i for i, row in enumerate(rows) if text in row)


def test_messages_are_recorded_when_added_so_show_reads_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`show` lists the user's message, then the tool call it caused, then the answer."""
    agent = WeatherAgent()
    own_list = agent.messages
    devduck_otel.instrument(agent)
    assert agent("What's the weather in Lisbon?") == "sunny in Lisbon"
    assert agent.messages is own_list and len(own_list) == 3
    path = devduck_otel.stop_recording()
    assert path is not None
    rows = _show_rows(capsys, path)
    order = [
        _row(rows, "user: What's the weather in Lisbon?"),
        _row(rows, "assistant: Let me look."),
        _row(rows, "tool.call"),
        _row(rows, "tool.result"),
        _row(rows, "assistant: sunny in Lisbon"),
        _row(rows, "after invocation 1"),
    ]
    assert order == sorted(order), rows


def test_messages_of_a_rebound_list_are_still_recorded_once() -> None:
    """An agent that replaces its list mid-call keeps it; each message is recorded once."""
    agent = Runner()
    devduck_otel.instrument(agent)
    agent.run("first")
    agent.run("second")
    messages = _load().get_events_by_type("message")
    assert [m["data"]["content"] for m in messages] == ["first", "second"]
    assert type(agent.messages) is list


class ReadOnlyList:
    """An agent whose ``messages`` cannot be assigned."""

    def __init__(self) -> None:
        self._messages: list[dict[str, Any]] = []

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The list itself, read-only as an attribute."""
        return self._messages

    def __call__(self, query: str) -> str:
        """Answer."""
        self._messages.append({"role": "user", "content": query})
        return "ok"


def test_a_read_only_message_list_is_recorded_when_the_call_ends() -> None:
    """A ``messages`` that cannot be swapped still has its messages recorded, once."""
    agent = ReadOnlyList()
    devduck_otel.instrument(agent)
    assert agent("hi") == "ok"
    messages = _load().get_events_by_type("message")
    assert [m["data"]["content"] for m in messages] == ["hi"]
