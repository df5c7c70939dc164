"""The collector side of a recording: clean spans, a sampling filter, a safe exporter.

Collectors see what the session ZIP sees, minus what they must not get: bytes (some
backends drop a whole span that carries them), snapshot blobs, and message or tool
content unless content capture is on. ``OTEL_TRACES_SAMPLER`` applies here only.

Example:
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    ...     InMemorySpanExporter,
    ... )
    >>> safe = CollectorSafeExporter(
    ...     InMemorySpanExporter(), name="memory", redactor=None, capture_content=False
    ... )
    >>> safe.export([]).name
    'SUCCESS'
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

from devduck_otel_exporter_zip.schema import HTTP_BODY_ATTRIBUTES
from opentelemetry.context import Context
from opentelemetry.sdk.environment_variables import OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import NonRecordingSpan, set_span_in_context
from opentelemetry.util._importlib_metadata import entry_points
from opentelemetry.util.types import AttributeValue

from devduck_otel._attributes import (
    DEVDUCK_CONTENT,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_RESULT,
)
from devduck_otel._guard import guard
from devduck_otel._spancopy import copy_span

__all__ = [
    "CONTENT_ATTRIBUTES",
    "CollectorSafeExporter",
    "SamplingFilterProcessor",
    "SpanRedactor",
    "Warn",
    "collector_sampler",
    "is_sampled",
    "scrub_span",
]

logger = logging.getLogger("devduck_otel")

Warn = Callable[[str], None]
"""Logs one configuration problem (the message names the variable)."""

CONTENT_ATTRIBUTES = frozenset(
    {
        DEVDUCK_CONTENT,
        GEN_AI_TOOL_CALL_ARGUMENTS,
        GEN_AI_TOOL_CALL_RESULT,
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        *HTTP_BODY_ATTRIBUTES,
    }
)
"""Attributes (on spans and events) that carry content; sent only when captured."""

_RETRY_AFTER_SECONDS = 5.0
"""After a failed export, batches are dropped at once for this long (collector down)."""

_SAMPLER_GROUP = "opentelemetry_traces_sampler"
_RATIO_SAMPLERS = ("traceidratio", "parentbased_traceidratio")


class SpanRedactor(Protocol):
    """What collectors need of ``devduck_otel.redaction._redactor.Redactor``."""

    def redact_span(self, span: ReadableSpan) -> ReadableSpan:
        """Return the span with secrets redacted."""
        ...


def _is_bytes(value: object) -> bool:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return True
    if isinstance(value, (list, tuple)):
        return any(isinstance(item, (bytes, bytearray, memoryview)) for item in value)
    return False


def _keep(key: str, value: object, capture_content: bool) -> bool:
    if _is_bytes(value):
        return False
    return capture_content or key not in CONTENT_ATTRIBUTES


def _clean(
    attributes: Mapping[str, AttributeValue] | None, capture_content: bool
) -> dict[str, AttributeValue] | None:
    """The attributes to keep, or ``None`` when all of them are kept."""
    if not attributes:
        return None
    if all(_keep(key, value, capture_content) for key, value in attributes.items()):
        return None
    return {k: v for k, v in attributes.items() if _keep(k, v, capture_content)}


def scrub_span(span: ReadableSpan, *, capture_content: bool) -> ReadableSpan:
    """Drop bytes-valued attributes, and content attributes unless ``capture_content``.

    Args:
        span: An ended span.
        capture_content: Keep :data:`CONTENT_ATTRIBUTES`.

    Returns:
        ``span`` itself when nothing is dropped, else a cleaned copy.
    """
    attributes = _clean(span._attributes, capture_content)
    events: list[Event] = []
    events_changed = False
    for event in span.events:
        kept = _clean(event.attributes, capture_content)
        if kept is None:
            events.append(event)
        else:
            events_changed = True
            events.append(Event(event.name, kept, event.timestamp))
    if attributes is None and not events_changed:
        return span
    return copy_span(span, attributes=attributes, events=events if events_changed else None)


class CollectorSafeExporter(SpanExporter):
    """Wrap a collector exporter so that it only sees clean spans and never raises.

    Spans are redacted, bytes-valued attributes dropped and content attributes removed
    unless ``capture_content``. A failing collector is logged once; after a failure,
    batches are dropped at once for a few seconds, so that flush and shutdown stay
    within about one exporter timeout while a collector is down.

    Args:
        inner: The real exporter (OTLP, console, ...).
        name: The name it was configured by, for log lines.
        redactor: Applied to every span first; ``None`` skips redaction.
        capture_content: Keep message and tool content attributes.
    """

    def __init__(
        self,
        inner: SpanExporter,
        *,
        name: str,
        redactor: SpanRedactor | None,
        capture_content: bool,
    ) -> None:
        self._inner = inner
        self._name = name
        self._redactor = redactor
        self._capture_content = capture_content
        self._lock = threading.Lock()
        self._shutdown = False
        self._logged_failure = False
        self._down_until = 0.0

    @property
    def inner(self) -> SpanExporter:
        """The wrapped exporter."""
        return self._inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Clean the spans and hand them to the wrapped exporter; never raise."""
        with self._lock:
            if self._shutdown or time.monotonic() < self._down_until:
                return SpanExportResult.FAILURE
        cleaned: list[ReadableSpan] = []
        with guard("cleaning spans for a collector"):
            cleaned = [self._clean(span) for span in spans]
        if len(cleaned) != len(spans):
            return SpanExportResult.FAILURE
        muted: list[str] = []
        try:
            with _inner_logs_muted(self._inner, muted):
                result = self._inner.export(cleaned)
        except Exception as exc:
            self._failed(repr(exc))
            return SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self._failed(muted[-1] if muted else "the exporter reported a failure")
            return SpanExportResult.FAILURE
        return result

    def _clean(self, span: ReadableSpan) -> ReadableSpan:
        if self._redactor is not None:
            span = self._redactor.redact_span(span)
        return scrub_span(span, capture_content=self._capture_content)

    def _failed(self, reason: str) -> None:
        with self._lock:
            self._down_until = time.monotonic() + _RETRY_AFTER_SECONDS
            first = not self._logged_failure
            self._logged_failure = True
        if first:
            logger.warning(
                "devduck-otel: collector exporter %r failed (%s); its spans are dropped "
                "while it fails, the session ZIP is not affected",
                self._name,
                reason,
            )

    def shutdown(self) -> None:
        """Shut the wrapped exporter down; later exports fail. Idempotent."""
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        try:
            self._inner.shutdown()
        except Exception as exc:
            logger.debug("devduck-otel: shutting down %r failed: %r", self._name, exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter; ``False`` if that fails."""
        try:
            return bool(self._inner.force_flush(timeout_millis))
        except Exception:
            return False


_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
)
_muting = threading.local()


class _MuteInnerLogs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        """Inside a wrapped export, keep the inner exporter's lines for our one line."""
        sink: list[str] | None = getattr(_muting, "sink", None)  # set on this thread
        if sink is None:
            return True
        sink.append(record.getMessage().split(". Error details")[0])
        return False


_MUTE = _MuteInnerLogs()


@contextlib.contextmanager
def _inner_logs_muted(inner: SpanExporter, sink: list[str]) -> Iterator[None]:
    for name in (*_EXPORTER_LOGGERS, type(inner).__module__):
        target = logging.getLogger(name)
        if _MUTE not in target.filters:
            target.addFilter(_MUTE)
    _muting.sink = sink
    try:
        yield
    finally:
        _muting.sink = None


def _ratio(warn: Warn) -> float:
    raw = os.environ.get(OTEL_TRACES_SAMPLER_ARG, "").strip()
    if not raw:
        return 1.0
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        warn(f"{OTEL_TRACES_SAMPLER_ARG}={raw!r} is not a number in [0, 1]; using 1.0")
        return 1.0
    return rate


def collector_sampler(warn: Warn) -> Sampler | None:
    """The sampler ``OTEL_TRACES_SAMPLER`` names, or ``None`` to send every span.

    Args:
        warn: Called once with a message naming the variable when a value is invalid.
    """
    name = os.environ.get(OTEL_TRACES_SAMPLER, "").strip()
    builtin: dict[str, Callable[[], Sampler]] = {
        "always_on": lambda: ALWAYS_ON,
        "always_off": lambda: ALWAYS_OFF,
        "traceidratio": lambda: TraceIdRatioBased(_ratio(warn)),
        "parentbased_always_on": lambda: ParentBased(ALWAYS_ON),
        "parentbased_always_off": lambda: ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": lambda: ParentBased(TraceIdRatioBased(_ratio(warn))),
    }
    if not name:
        return None
    if name.lower() in builtin:
        return builtin[name.lower()]()
    try:
        factory = next(iter(entry_points(group=_SAMPLER_GROUP, name=name))).load()
        sampler = factory(os.environ.get(OTEL_TRACES_SAMPLER_ARG))
    except Exception as exc:
        warn(f"{OTEL_TRACES_SAMPLER}={name!r} is not a known sampler ({exc!r}); sending all")
        return None
    if not isinstance(sampler, Sampler):
        warn(f"{OTEL_TRACES_SAMPLER}={name!r} did not produce a Sampler; sending all")
        return None
    return sampler


def is_sampled(sampler: Sampler, span: ReadableSpan) -> bool:
    """Whether ``sampler`` would have sampled ``span`` had it decided at the root.

    Our provider samples everything, so a local parent's flag says nothing: local
    spans are decided as roots (by trace id for the ratio samplers, which keeps whole
    traces together); a remote parent's flag is honoured as ``ParentBased`` does.
    """
    context = span.context
    if context is None:
        return False
    parent = span.parent
    parent_context = Context()
    if parent is not None and parent.is_remote:
        parent_context = set_span_in_context(NonRecordingSpan(parent), Context())
    result = sampler.should_sample(
        parent_context, context.trace_id, span.name, span.kind, span.attributes, span.links
    )
    return result.decision is Decision.RECORD_AND_SAMPLE


class SamplingFilterProcessor(SpanProcessor):
    """Forward ended spans to ``delegates`` only when ``sampler`` samples them.

    The provider samples everything (the ZIP is complete); this filter applies
    ``OTEL_TRACES_SAMPLER`` to what collectors receive.

    Args:
        sampler: Decides per span (see :func:`is_sampled`); ``None`` forwards all.
        delegates: The collector processors.
    """

    def __init__(self, sampler: Sampler | None, delegates: Sequence[SpanProcessor]) -> None:
        self._sampler = sampler
        self._delegates = tuple(delegates)

    @property
    def delegates(self) -> tuple[SpanProcessor, ...]:
        """The processors behind the filter."""
        return self._delegates

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do: collector processors act on end."""

    def on_end(self, span: ReadableSpan) -> None:
        """Forward the span when sampled."""
        if self._sampler is not None and not is_sampled(self._sampler, span):
            return
        for delegate in self._delegates:
            delegate.on_end(span)

    def shutdown(self) -> None:
        """Shut down every delegate (each flushes first); never raise."""
        for delegate in self._delegates:
            try:
                delegate.shutdown()
            except Exception as exc:
                logger.debug("devduck-otel: collector shutdown failed: %r", exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush every delegate within the overall timeout."""
        deadline = time.monotonic() + timeout_millis / 1000
        ok = True
        for delegate in self._delegates:
            left = int(max(0.0, deadline - time.monotonic()) * 1000)
            try:
                ok = bool(delegate.force_flush(left)) and ok
            except Exception:
                ok = False
        return ok
