"""OpenTelemetry span exporter that writes devduck-otel session ZIPs.

Registered as ``devduck_zip`` in the ``opentelemetry_traces_exporter`` entry point
group, so ``OTEL_TRACES_EXPORTER=devduck_zip`` (alone or beside ``otlp``) records a
session ZIP with no code change.

Example:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from devduck_otel_exporter_zip import DevduckZipSpanExporter
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(DevduckZipSpanExporter()))
    >>> provider.shutdown()  # writes <recordings>/session-....zip  # doctest: +SKIP
"""

from __future__ import annotations

from devduck_otel_exporter_zip._exporter import (
    DevduckZipSpanExporter,
    active_exporter,
    finalize,
    flush_interval,
    http_event,
    new_session_id,
    recordings_dir,
    signing_key,
)
from devduck_otel_exporter_zip._journal import JOURNAL_SUFFIX, SessionJournal
from devduck_otel_exporter_zip._recover import recover_journal, recover_journals
from devduck_otel_exporter_zip._zipwrite import (
    FORMAT_NAME,
    FORMAT_VERSION,
    SPANS_ENTRY,
    base_metadata,
    iter_lines,
    otlp_span_requests,
    write_session_zip,
)
from devduck_otel_exporter_zip.version import __version__

__all__ = [
    "active_exporter",
    "base_metadata",
    "DevduckZipSpanExporter",
    "finalize",
    "flush_interval",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "http_event",
    "iter_lines",
    "JOURNAL_SUFFIX",
    "new_session_id",
    "otlp_span_requests",
    "recordings_dir",
    "recover_journal",
    "recover_journals",
    "SessionJournal",
    "signing_key",
    "SPANS_ENTRY",
    "write_session_zip",
    "__version__",
]
