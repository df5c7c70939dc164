"""The collector side of a private provider, from the ``OTEL_*`` variables.

``OTEL_TRACES_EXPORTER`` names the exporters (entry points of
``opentelemetry_traces_exporter``, as the SDK's configurator reads them); each gets a
:class:`CollectorSafeExporter` behind a ``BatchSpanProcessor``, and all of them sit
behind the ``OTEL_TRACES_SAMPLER`` filter, so the session itself is never sampled.
"""

from __future__ import annotations

import logging
import os

from opentelemetry.environment_variables import OTEL_TRACES_EXPORTER
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
)
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.util._importlib_metadata import entry_points

from devduck_otel.tracing._collector import (
    CollectorSafeExporter,
    SamplingFilterProcessor,
    SpanRedactor,
    Warn,
    collector_sampler,
)

logger = logging.getLogger("devduck_otel")

_EXPORTER_GROUP = "opentelemetry_traces_exporter"
_ZIP_EXPORTER = "devduck_zip"
_OTLP_BY_PROTOCOL = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}
_DEFAULT_OTLP = "otlp_proto_grpc"  # the Python SDK's default for plain ``otlp``


def collector_exporter_names(warn: Warn) -> list[str]:
    """Entry-point names of the collector exporters chosen by ``OTEL_TRACES_EXPORTER``."""
    raw = os.environ.get(OTEL_TRACES_EXPORTER)
    if raw is None or not raw.strip():
        endpoint = os.environ.get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or os.environ.get(
            OTEL_EXPORTER_OTLP_ENDPOINT
        )
        return [_otlp_name(warn)] if endpoint else []
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if name.lower() in ("", "none", _ZIP_EXPORTER):
            continue
        if name == "otlp":
            name = _otlp_name(warn)
        if name not in names:
            names.append(name)
    return names


def _otlp_name(warn: Warn) -> str:
    for var in (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL):
        value = os.environ.get(var, "").strip()
        if not value:
            continue
        if value in _OTLP_BY_PROTOCOL:
            return _OTLP_BY_PROTOCOL[value]
        warn(f"{var}={value!r} is not 'grpc' or 'http/protobuf'; using grpc")
        return _DEFAULT_OTLP
    return _DEFAULT_OTLP


class _Warner:
    """Logs each distinct configuration problem once per setup."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(self, message: str) -> None:
        if message not in self._seen:
            self._seen.add(message)
            logger.warning("devduck-otel: %s; recording goes on", message)


def _load_exporter(name: str, warn: Warn) -> SpanExporter | None:
    found = list(entry_points(group=_EXPORTER_GROUP, name=name))
    if not found:
        warn(f"{OTEL_TRACES_EXPORTER} names {name!r}, which no installed package provides")
        return None
    try:
        exporter_class = found[0].load()
        exporter = exporter_class()
    except Exception as exc:
        warn(
            f"{OTEL_TRACES_EXPORTER} exporter {name!r} could not be created ({exc!r}); "
            "check the OTEL_EXPORTER_* variables"
        )
        return None
    if not isinstance(exporter, SpanExporter):
        warn(f"{OTEL_TRACES_EXPORTER} names {name!r}, which is not a span exporter")
        return None
    return exporter


def _batch_processor(exporter: SpanExporter, warn: Warn) -> BatchSpanProcessor:
    try:
        return BatchSpanProcessor(exporter)
    except ValueError as exc:
        warn(f"an OTEL_BSP_* variable is invalid ({exc}); using the defaults")
        return BatchSpanProcessor(
            exporter,
            max_queue_size=2048,
            schedule_delay_millis=5000,
            max_export_batch_size=512,
            export_timeout_millis=30000,
        )


def build_collector_processors(
    *, redactor: SpanRedactor | None, capture_content: bool
) -> SamplingFilterProcessor | None:
    """Build the collector side from ``OTEL_*``: filter -> batch -> safe exporter.

    Args:
        redactor: Applied to every span before a collector sees it.
        capture_content: Keep message and tool content (env default: off).

    Returns:
        One processor to add to a provider, or ``None`` when no collector is named.
    """
    warn = _Warner()
    processors: list[SpanProcessor] = []
    for name in collector_exporter_names(warn):
        exporter = _load_exporter(name, warn)
        if exporter is None:
            continue
        safe = CollectorSafeExporter(
            exporter, name=name, redactor=redactor, capture_content=capture_content
        )
        processors.append(_batch_processor(safe, warn))
    if not processors:
        return None
    return SamplingFilterProcessor(collector_sampler(warn), processors)
