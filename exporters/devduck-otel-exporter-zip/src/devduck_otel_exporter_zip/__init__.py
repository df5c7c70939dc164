"""OpenTelemetry span exporter that writes devduck-otel session ZIPs.

Registered as ``devduck_zip`` in the ``opentelemetry_traces_exporter`` entry point
group, so ``OTEL_TRACES_EXPORTER=devduck_zip`` (alone or beside ``otlp``) records a
session ZIP with no code change. Everything in the ZIP is derived from the spans it
receives: GenAI ``invoke_agent``, ``chat`` and ``execute_tool`` spans of any producer,
HTTP client spans, and devduck-otel's own span events.

Example:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from devduck_otel_exporter_zip import DevduckZipSpanExporter
    >>> exporter = DevduckZipSpanExporter()  # doctest: +SKIP
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(exporter.processor())  # doctest: +SKIP
    >>> provider.shutdown()  # writes <recordings>/session-....zip  # doctest: +SKIP
"""

from __future__ import annotations

from devduck_otel_exporter_zip._exporter import (
    DevduckZipSpanExporter,
    SessionSpanProcessor,
    active_exporter,
    finalize,
    flush_interval,
    new_session_id,
    recordings_dir,
)
from devduck_otel_exporter_zip._files import JournalError, iter_lines
from devduck_otel_exporter_zip._journal import SessionJournal
from devduck_otel_exporter_zip._otlpjson import (
    decode_any_value,
    decode_key_values,
    iter_request_spans,
)
from devduck_otel_exporter_zip._recover import (
    recover_journal,
    recover_journals,
    remove_stale_temps,
)
from devduck_otel_exporter_zip._redacting import SessionRedactor
from devduck_otel_exporter_zip._signing import (
    SIGNATURE_SCHEME,
    BlankSigningKeyError,
    entry_mac,
    signing_key,
)
from devduck_otel_exporter_zip._zipwrite import base_metadata, otlp_span_requests, write_session_zip
from devduck_otel_exporter_zip.schema import (
    FORMAT_NAME,
    FORMAT_VERSION,
    JOURNAL_SUFFIX,
    SPANS_ENTRY,
)
from devduck_otel_exporter_zip.version import __version__

__all__ = [
    "active_exporter",
    "base_metadata",
    "BlankSigningKeyError",
    "decode_any_value",
    "decode_key_values",
    "DevduckZipSpanExporter",
    "entry_mac",
    "finalize",
    "flush_interval",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "iter_lines",
    "iter_request_spans",
    "JournalError",
    "JOURNAL_SUFFIX",
    "new_session_id",
    "otlp_span_requests",
    "recordings_dir",
    "recover_journal",
    "recover_journals",
    "remove_stale_temps",
    "SessionJournal",
    "SessionRedactor",
    "SessionSpanProcessor",
    "SIGNATURE_SCHEME",
    "signing_key",
    "SPANS_ENTRY",
    "write_session_zip",
    "__version__",
]
