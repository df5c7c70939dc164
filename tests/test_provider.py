"""setup_tracing: joining an SDK provider, building a private one, collectors from OTEL_*."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from devduck_otel.tracing._provider import CollectorSafeExporter, TracingSetup, setup_tracing
from tests.support.phoenix import OtlpHttpSink


@pytest.fixture
def session() -> InMemorySpanExporter:
    """The exporter behind the session processor (stands in for the ZIP side)."""
    return InMemorySpanExporter()


@pytest.fixture
def global_reset() -> Iterator[None]:
    """Let a test set the global tracer provider, and restore it afterwards."""
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    yield
    trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved


def _setup(session: InMemorySpanExporter, provider: TracerProvider | None = None) -> TracingSetup:
    setup = setup_tracing(
        SimpleSpanProcessor(session),
        redactor=None,
        capture_content=False,
        tracer_provider=provider,
    )
    assert setup is not None
    return setup


def _emit(provider: trace.TracerProvider, names: list[str]) -> None:
    tracer = provider.get_tracer("test")
    for name in names:
        with tracer.start_as_current_span(name):
            pass


def test_disabled_sdk_gives_no_setup(
    session: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_SDK_DISABLED=true: no provider at all (events-only recording)."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "TRUE")
    assert setup_tracing(SimpleSpanProcessor(session), redactor=None, capture_content=False) is None


def test_private_provider_is_not_global_and_honours_resource_vars(
    session: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch, global_reset: None
) -> None:
    """Without an SDK provider, a private one is built from OTEL_SERVICE_NAME etc."""
    monkeypatch.setenv("OTEL_SERVICE_NAME", "my-agent")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    setup = _setup(session)
    assert setup.owned
    assert trace.get_tracer_provider() is not setup.tracer_provider
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    _emit(setup.tracer_provider, ["a", "b"])
    spans = session.get_finished_spans()
    assert [s.name for s in spans] == ["a", "b"]  # always_off applies to collectors only
    assert spans[0].resource.attributes["service.name"] == "my-agent"
    assert spans[0].resource.attributes["deployment.environment"] == "test"
    setup.shutdown()


def test_joins_given_provider_and_detaches(session: InMemorySpanExporter) -> None:
    """A given provider keeps its exporter; the session sees spans only while attached."""
    app_exporter = InMemorySpanExporter()
    app = TracerProvider()
    app.add_span_processor(SimpleSpanProcessor(app_exporter))
    setup = _setup(session, app)
    assert not setup.owned and setup.tracer_provider is app
    _emit(app, ["during"])
    setup.shutdown()
    setup.shutdown()  # idempotent
    _emit(app, ["after"])
    assert [s.name for s in session.get_finished_spans()] == ["during"]
    assert [s.name for s in app_exporter.get_finished_spans()] == ["during", "after"]


def test_one_processor_per_provider_across_recordings(session: InMemorySpanExporter) -> None:
    """Recording twice on one provider re-targets one processor: no span is doubled."""
    app = TracerProvider()
    first = _setup(session, app)
    first.shutdown()
    second_session = InMemorySpanExporter()
    second = _setup(second_session, app)
    _emit(app, ["x"])
    second.shutdown()
    assert [s.name for s in second_session.get_finished_spans()] == ["x"]
    assert session.get_finished_spans() == ()
    assert len(app._active_span_processor._span_processors) == 1


def test_joins_global_sdk_provider(session: InMemorySpanExporter, global_reset: None) -> None:
    """An application that set an SDK provider globally is joined, not replaced."""
    app_exporter = InMemorySpanExporter()
    app = TracerProvider()
    app.add_span_processor(SimpleSpanProcessor(app_exporter))
    trace.set_tracer_provider(app)
    setup = _setup(session)
    assert not setup.owned and setup.tracer_provider is app
    _emit(trace.get_tracer_provider(), ["y"])
    setup.shutdown()
    assert [s.name for s in session.get_finished_spans()] == ["y"]
    assert [s.name for s in app_exporter.get_finished_spans()] == ["y"]


def test_no_collector_without_exporter_or_endpoint(session: InMemorySpanExporter) -> None:
    """OTEL_TRACES_EXPORTER unset and no OTLP endpoint: no collector is set up."""
    setup = _setup(session)
    assert setup.collectors is None
    setup.shutdown()


def test_endpoint_alone_enables_otlp(
    session: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT alone sends the spans over OTLP."""
    with OtlpHttpSink() as sink:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        setup = _setup(session)
        _emit(setup.tracer_provider, ["one", "two"])
        setup.shutdown()
        assert sorted(s.name for s in sink.spans()) == ["one", "two"]


def test_devduck_zip_and_none_are_not_collectors(
    session: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``devduck_zip`` (always written) and ``none`` add no collector."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "devduck_zip, none")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    setup = _setup(session)
    assert setup.collectors is None
    setup.shutdown()


def test_unknown_exporter_logs_once_and_records(
    session: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unknown OTEL_TRACES_EXPORTER name: one line naming the variable; spans recorded."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "nosuchexporter,nosuchexporter")
    with caplog.at_level(logging.WARNING, logger="devduck_otel"):
        setup = _setup(session)
    lines = [r.getMessage() for r in caplog.records if "nosuchexporter" in r.getMessage()]
    assert len(lines) == 1 and "OTEL_TRACES_EXPORTER" in lines[0]
    _emit(setup.tracer_provider, ["kept"])
    setup.shutdown()
    assert [s.name for s in session.get_finished_spans()] == ["kept"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_TRACES_SAMPLER_ARG", "a lot"),
        ("OTEL_TRACES_SAMPLER", "coin_flip"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
    ],
)
def test_malformed_value_logs_its_variable(
    session: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    variable: str,
    value: str,
) -> None:
    """A malformed OTEL_* value: one warning naming it; every span still recorded."""
    with OtlpHttpSink() as sink:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink.endpoint)
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
        if variable != "OTEL_EXPORTER_OTLP_PROTOCOL":
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        monkeypatch.setenv(variable, value)
        with caplog.at_level(logging.WARNING, logger="devduck_otel"):
            setup = _setup(session)
        named = [r for r in caplog.records if variable in r.getMessage()]
        assert len(named) == 1
        _emit(setup.tracer_provider, ["a", "b"])
        setup.shutdown()
    assert len(session.get_finished_spans()) == 2


def test_bad_batch_settings_fall_back(
    session: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An OTEL_BSP_* value the SDK rejects is logged; spans still reach the collector."""
    with OtlpHttpSink() as sink:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp_proto_http")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink.endpoint)
        monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "-5")
        with caplog.at_level(logging.WARNING, logger="devduck_otel"):
            setup = _setup(session)
        assert any("OTEL_BSP_" in r.getMessage() for r in caplog.records)
        _emit(setup.tracer_provider, ["a"])
        setup.shutdown()
        assert [s.name for s in sink.spans()] == ["a"]


def test_force_flush_reaches_collectors(
    session: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """force_flush pushes batched spans to the collector before shutdown."""
    with OtlpHttpSink() as sink:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink.endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")
        setup = _setup(session)
        _emit(setup.tracer_provider, ["flushed"])
        assert setup.force_flush(5000)
        assert [s.name for s in sink.spans()] == ["flushed"]
        setup.shutdown()


class _RaisingProcessor(SimpleSpanProcessor):
    """An application processor that fails on every span."""

    def __init__(self) -> None:
        super().__init__(InMemorySpanExporter())

    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("application processor exploded")


def test_session_sees_spans_an_application_processor_chokes_on(
    session: InMemorySpanExporter,
) -> None:
    """Our processor runs before the application's, so a raising one costs no span."""
    app = TracerProvider()
    app.add_span_processor(_RaisingProcessor())
    setup = _setup(session, app)
    span = app.get_tracer("test").start_span("survives")
    with pytest.raises(RuntimeError, match="exploded"):
        span.end()
    setup.shutdown()
    assert [s.name for s in session.get_finished_spans()] == ["survives"]


class _ExplodingExporter(InMemorySpanExporter):
    """A collector exporter that raises on export."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("collector unreachable")


def _finished_span() -> ReadableSpan:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("test").start_span("s").end()
    return exporter.get_finished_spans()[0]


def test_collector_safe_exporter_follows_the_sdk_contract() -> None:
    """Export passes spans through; shutdown is idempotent; export after it fails."""
    inner = InMemorySpanExporter()
    safe = CollectorSafeExporter(inner, name="memory", redactor=None, capture_content=False)
    assert safe.export([_finished_span()]) is SpanExportResult.SUCCESS
    assert len(inner.get_finished_spans()) == 1
    safe.shutdown()
    safe.shutdown()
    assert safe.export([_finished_span()]) is SpanExportResult.FAILURE


def test_collector_safe_exporter_never_raises_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A raising collector exporter: FAILURE, one warning, never an exception."""
    safe = CollectorSafeExporter(
        _ExplodingExporter(), name="exploding", redactor=None, capture_content=False
    )
    with caplog.at_level(logging.WARNING, logger="devduck_otel"):
        results = [safe.export([_finished_span()]) for _ in range(3)]
    assert results == [SpanExportResult.FAILURE] * 3
    assert len([r for r in caplog.records if "exploding" in r.getMessage()]) == 1


def test_a_processor_added_to_our_provider_later_gets_spans_without_content() -> None:
    """With nothing after the session processor spans are not stripped; added later, they are.

    The check is made at each span end, so a processor added to devduck's own provider
    after the recording started still never sees tool arguments or results.
    """
    import devduck_otel

    @devduck_otel.tool
    def add(a: int, b: int) -> int:
        return a + b

    rec = devduck_otel.start_recording(sys_layer=False)
    assert isinstance(rec, devduck_otel.Recorder) and rec.tracing is not None
    assert rec.tracing.owned
    add(1, 2)
    late = InMemorySpanExporter()
    rec.tracing.tracer_provider.add_span_processor(SimpleSpanProcessor(late))
    add(3, 4)
    path = devduck_otel.stop_recording()
    assert path is not None
    (span,) = late.get_finished_spans()
    assert span.name == "execute_tool add"
    assert "gen_ai.tool.call.arguments" not in (span.attributes or {})
    assert "gen_ai.tool.call.result" not in (span.attributes or {})
    session = devduck_otel.load_session(path)
    assert [e["data"]["args"] for e in session.get_events_by_type("tool.call")] == [
        {"a": 1, "b": 2},
        {"a": 3, "b": 4},
    ]
