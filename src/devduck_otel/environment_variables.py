"""Environment variables read by devduck-otel.

Precedence everywhere: an explicit argument, then the variable, then the default.
A malformed value logs one warning naming the variable and falls back to the default.
The standard ``OTEL_*`` variables are honoured as the OpenTelemetry SDK defines them;
the ones below are the package's own.

Example:
    >>> import os
    >>> from devduck_otel.environment_variables import DEVDUCK_RECORDINGS_DIR
    >>> os.environ[DEVDUCK_RECORDINGS_DIR] = "/tmp/my-recordings"
"""

from __future__ import annotations

from typing import Final

from devduck_otel_exporter_zip.environment_variables import (
    DEVDUCK_FLUSH_INTERVAL,
    DEVDUCK_RECORDINGS_DIR,
    DEVDUCK_SIGNING_KEY,
)

__all__ = [
    "DEVDUCK_AUTO_RECORD",
    "DEVDUCK_CAPTURE_HTTP_BODIES",
    "DEVDUCK_FLUSH_INTERVAL",
    "DEVDUCK_RAISE_INTERNAL_ERRORS",
    "DEVDUCK_RECORDINGS_DIR",
    "DEVDUCK_REDACT_KEYS",
    "DEVDUCK_REDACT_PATTERNS",
    "DEVDUCK_SIGNING_KEY",
    "DEVDUCK_SYS_LAYER",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
]

DEVDUCK_REDACT_PATTERNS: Final = "DEVDUCK_REDACT_PATTERNS"
"""
Extra regular expressions whose matches are redacted everywhere, separated by
newlines or ``;;``. Added to the built-in rules, never replacing them. Default: none.
"""

DEVDUCK_REDACT_KEYS: Final = "DEVDUCK_REDACT_KEYS"
"""
Extra comma-separated name fragments (case-insensitive) whose values are redacted in
env vars, headers, tool arguments and any JSON object key. Default: none (the built-in
list covers KEY, SECRET, TOKEN, PASSWORD, ...).
"""

DEVDUCK_SYS_LAYER: Final = "DEVDUCK_SYS_LAYER"
"""
Whether the sys layer (file opens, processes, HTTP) is captured: ``true`` or
``false``. Default: ``true``.
"""

DEVDUCK_CAPTURE_HTTP_BODIES: Final = "DEVDUCK_CAPTURE_HTTP_BODIES"
"""
Whether the HTTP client spans of requests and httpx (sys layer) carry the request
(method, URL, headers, body) and the response (status, headers, body), so that replay
can serve them: ``true`` or ``false``. Bodies are redacted and cut at 64 KiB (marked);
streamed responses (``text/event-stream``, requests' ``stream=True``) are not captured.
They reach the session ZIP; collectors get them only with
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``. Default: ``false``.
"""

DEVDUCK_AUTO_RECORD: Final = "DEVDUCK_AUTO_RECORD"
"""
Under ``opentelemetry-instrument``, whether a recording starts with the process and
is exported when it exits: ``true`` or ``false``. Default: ``true``.
"""

DEVDUCK_LOAD_MAX_EVENTS: Final = "DEVDUCK_LOAD_MAX_EVENTS"
"""
Most events ``load_session`` and every CLI command read from one session (lines of
``events.jsonl``): a session with more is refused with an error naming this
variable, before the memory is spent. Raise it to load a bigger session (memory
grows by roughly 200 bytes per event). Default: ``1000000``.
"""

DEVDUCK_RAISE_INTERNAL_ERRORS: Final = "DEVDUCK_RAISE_INTERNAL_ERRORS"
"""
Re-raise the package's own internal errors instead of logging them: ``true`` or
``false``. The test suite sets it so that a telemetry bug fails the test; in
production telemetry never breaks the agent. Default: ``false``.
"""

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
)
"""
The standard GenAI switch: ``true`` sends message and tool content (redacted) to
collectors on span events. The session ZIP always keeps content. Default: ``false``.
"""
