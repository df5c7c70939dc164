"""Zero-code entry points: a distro, a configurator and the sys-layer instrumentor.

``opentelemetry-instrument`` finds them through entry points, so an agent records a
session ZIP and sends the same spans to a collector with no line changed:

Example:
    .. code-block:: shell

        export OTEL_TRACES_EXPORTER=otlp,devduck_zip
        export OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317
        opentelemetry-instrument python agent.py

With ``opentelemetry-distro`` installed too, pick ours with
``OTEL_PYTHON_DISTRO=devduck_otel`` and ``OTEL_PYTHON_CONFIGURATOR=devduck_otel``
(otherwise the first one found wins; the recording works either way, but only our
configurator keeps the ZIP complete under ``OTEL_TRACES_SAMPLER``).

The configurator installs the global SDK ``TracerProvider``: it samples every span,
feeds ``devduck_zip`` (when named) through a ``SimpleSpanProcessor`` and the other
``OTEL_TRACES_EXPORTER`` exporters through the sampling filter and
``CollectorSafeExporter``. The distro defaults ``OTEL_METRICS_EXPORTER`` and
``OTEL_LOGS_EXPORTER`` to ``none``. ``SysLayerInstrumentor`` starts the recording
(unless ``DEVDUCK_AUTO_RECORD=false``), adopting the ``devduck_zip`` exporter.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Collection
from typing import Any

from devduck_otel_exporter_zip import DevduckZipSpanExporter, active_exporter
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.environment_variables import (
    OTEL_LOGS_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_TRACES_EXPORTER,
)
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.sdk import _configuration as _sdk_configuration
from opentelemetry.sdk._configuration import _BaseConfigurator
from opentelemetry.sdk.environment_variables import (
    _OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from devduck_otel import _api
from devduck_otel._config import RecorderConfig, env_bool, sdk_disabled
from devduck_otel._guard import guard
from devduck_otel._recorder import Recorder
from devduck_otel.environment_variables import DEVDUCK_AUTO_RECORD, DEVDUCK_RECORDINGS_DIR
from devduck_otel.redaction._redactor import Redactor
from devduck_otel.tracing._exporters import build_collector_processors
from devduck_otel.tracing._layers import tag_layer

__all__ = ["DevduckConfigurator", "DevduckDistro", "SysLayerInstrumentor"]

logger = logging.getLogger("devduck_otel")

_ZIP_EXPORTER = "devduck_zip"
_NAME = "devduck_otel"  # our distro and configurator entry point names
_AUTO_VERSION = "telemetry.auto.version"
_sdk: Any = _sdk_configuration  # its helpers are untyped


class DevduckDistro(BaseDistro):  # type: ignore[misc]
    """Defaults for zero-code runs: no metrics or logs exporters unless asked for."""

    def _configure(self, **kwargs: Any) -> None:
        os.environ.setdefault(OTEL_METRICS_EXPORTER, "none")
        os.environ.setdefault(OTEL_LOGS_EXPORTER, "none")
        loader = logging.getLogger("opentelemetry.instrumentation.auto_instrumentation._load")
        if not any(isinstance(f, _OursChosen) for f in loader.filters):
            loader.addFilter(_OursChosen())


class _OursChosen(logging.Filter):
    """Drops the loader's warning that another configurator was skipped for ours.

    With opentelemetry-distro installed beside us, every run would warn
    "Configuration of configurator not loaded, devduck_otel already loaded": one
    configurator was picked, as intended, so nothing is wrong.
    """

    _SKIPPED = (
        "Configuration of %s not loaded, %s already loaded",
        "Configuration of %s not loaded because %s is set by %s",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the skipped-for-devduck_otel warning."""
        args = record.args if isinstance(record.args, tuple) else ()
        return not (record.msg in self._SKIPPED and len(args) > 1 and args[1] == _NAME)


def _zip_named() -> bool:
    names = os.environ.get(OTEL_TRACES_EXPORTER, "")
    return any(part.strip().lower() == _ZIP_EXPORTER for part in names.split(","))


class _HttpLayerProcessor(SpanProcessor):
    """Marks HTTP client and GenAI spans of any instrumentation with their layer.

    Under ``opentelemetry-instrument`` the HTTP libraries are instrumented by their
    own instrumentors, without the hooks of a programmatic recording.
    """

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        with guard("tagging a span's layer"):
            tag_layer(span)


def _configure_tracing(resource: Resource) -> TracerProvider:
    config = RecorderConfig.resolve()
    provider = TracerProvider(sampler=ALWAYS_ON, resource=resource)
    provider.add_span_processor(_HttpLayerProcessor())
    if _zip_named():
        # Synchronous, so that the recording sees every span before it stops.
        with guard(f"creating the devduck_zip exporter (is {DEVDUCK_RECORDINGS_DIR} writable?)"):
            provider.add_span_processor(SimpleSpanProcessor(DevduckZipSpanExporter()))
    collectors = build_collector_processors(
        redactor=Redactor.from_env(), capture_content=config.capture_content
    )
    if collectors is not None:
        provider.add_span_processor(collectors)
    trace.set_tracer_provider(provider)
    return provider


def _configure_metrics_and_logs(resource: Resource) -> None:
    for variable, init in (
        (OTEL_METRICS_EXPORTER, _init_metrics),
        (OTEL_LOGS_EXPORTER, _init_logs),
    ):
        raw = os.environ.get(variable, "").strip()
        if not raw or raw.lower() == "none":
            continue
        try:
            init(resource)
        except Exception as exc:
            logger.warning(
                "devduck-otel: %s=%r could not be set up (%s); tracing and recording go on",
                variable,
                raw,
                exc,
            )


def _init_metrics(resource: Resource) -> None:
    _, exporters, _ = _sdk._import_exporters([], _sdk._get_exporter_names("metrics"), [])
    _sdk._init_metrics(exporters, resource)


def _init_logs(resource: Resource) -> None:
    _, _, exporters = _sdk._import_exporters([], [], _sdk._get_exporter_names("logs"))
    _sdk._init_logging(
        exporters, resource, env_bool(_OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED, False)
    )


class DevduckConfigurator(_BaseConfigurator):
    """Install the global SDK providers from ``OTEL_*``, keeping the ZIP complete.

    The tracer provider samples everything; ``OTEL_TRACES_SAMPLER`` applies only to
    what collectors receive. Does nothing under ``OTEL_SDK_DISABLED=true``.
    """

    def _configure(self, **kwargs: Any) -> None:
        if sdk_disabled():
            return
        version = kwargs.get("auto_instrumentation_version")
        resource = Resource.create({_AUTO_VERSION: str(version)} if version else {})
        _configure_tracing(resource)
        _configure_metrics_and_logs(resource)


class SysLayerInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Start the zero-code recording and its sys layer (``DEVDUCK_AUTO_RECORD``).

    The recording adopts the ``devduck_zip`` exporter made by the configurator, or
    else starts a session of its own on the global provider; it is stopped, and its
    ZIP written, when the process exits or on ``uninstrument()``.
    """

    _started: object | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        """No third-party library is needed."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        tracer_provider = kwargs.get("tracer_provider")
        if sdk_disabled() or not env_bool(DEVDUCK_AUTO_RECORD, True):
            return
        if _api.current() is not None:
            return
        with guard("starting the zero-code recording"):
            config = RecorderConfig.resolve()
            exporter = active_exporter()
            if exporter is not None:
                recorder = Recorder(adopt=exporter, capture_content=config.capture_content)
                _api.adopt_recording(recorder, sys_layer=config.sys_layer)
                SysLayerInstrumentor._started = recorder
            else:
                started = _api.start_recording(tracer_provider=tracer_provider)
                SysLayerInstrumentor._started = started
            # Registered after the provider's own exit handler, so it runs first.
            atexit.register(_stop_started)

    def _uninstrument(self, **kwargs: Any) -> None:
        _stop_started()


def _stop_started() -> None:
    """Stop the zero-code recording (if still running) after flushing the provider."""
    started, SysLayerInstrumentor._started = SysLayerInstrumentor._started, None
    if started is None or _api.current() is not started:
        return
    with guard("stopping the zero-code recording"):
        provider = trace.get_tracer_provider()
        if isinstance(provider, TracerProvider):
            provider.force_flush()  # spans a batch processor still holds reach the ZIP
        path = _api.stop_recording()
        if path:
            logger.info("devduck-otel: session written to %s", path)
