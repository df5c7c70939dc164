"""Join the application's TracerProvider or build a private one from ``OTEL_*``.

A recording always writes its session ZIP through ``session_processor``; collectors
named in ``OTEL_TRACES_EXPORTER`` get the same spans through a sampling filter and a
:class:`CollectorSafeExporter` (redacted, no bytes, content only when captured).

Example:
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    ...     InMemorySpanExporter,
    ... )
    >>> setup = setup_tracing(
    ...     SimpleSpanProcessor(InMemorySpanExporter()), redactor=None, capture_content=False
    ... )
    >>> setup is not None and setup.owned
    True
    >>> setup.shutdown()

When ``OTEL_TRACES_EXPORTER`` is unset, a private provider sends to OTLP only if
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set: a
debugger should not fill logs with errors about a localhost collector nobody runs.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field

from devduck_otel_exporter_zip import SessionSpanProcessor
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import (
    ReadableSpan,
    Span,
    SpanProcessor,
    SynchronousMultiSpanProcessor,
    TracerProvider,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import get_tracer_provider

from devduck_otel._config import sdk_disabled
from devduck_otel._guard import guard
from devduck_otel.tracing._collector import (
    CollectorSafeExporter,
    SamplingFilterProcessor,
    SpanRedactor,
)
from devduck_otel.tracing._exporters import build_collector_processors
from devduck_otel.tracing._layers import tag_layer

__all__ = [
    "CollectorSafeExporter",
    "SamplingFilterProcessor",
    "SpanRedactor",
    "TracingSetup",
    "build_collector_processors",
    "sdk_disabled",
    "sdk_provider_of",
    "setup_tracing",
]

logger = logging.getLogger("devduck_otel")


class _SwitchProcessor(SpanProcessor):
    """Our one processor on a joined provider, re-targeted at each recording.

    The SDK cannot remove a processor, so this one stays and forwards to whatever
    session processors are attached (none between recordings).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._targets: tuple[SpanProcessor, ...] = ()

    def attach(self, target: SpanProcessor) -> None:
        with self._lock:
            if target not in self._targets:
                self._targets = (*self._targets, target)

    def detach(self, target: SpanProcessor) -> None:
        with self._lock:
            self._targets = tuple(t for t in self._targets if t is not target)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self._targets:
            with guard("tagging a span's layer"):
                tag_layer(span)
        for target in self._targets:
            with guard("starting a span for the session"):
                target.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for target in self._targets:
            with guard("recording a span in the session"):
                target.on_end(span)

    def shutdown(self) -> None:
        """The application shuts its provider down: flush the attached sessions."""
        for target in self._targets:
            target.force_flush()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(target.force_flush(timeout_millis) for target in self._targets)


_switches: weakref.WeakKeyDictionary[TracerProvider, _SwitchProcessor] = weakref.WeakKeyDictionary()
_switches_lock = threading.Lock()


def _switch_for(provider: TracerProvider) -> _SwitchProcessor:
    with _switches_lock:
        switch = _switches.get(provider)
        if switch is None:
            switch = _SwitchProcessor()
            _add_first(provider, switch)
            _switches[provider] = switch
        return switch


def _add_first(provider: TracerProvider, processor: SpanProcessor) -> None:
    """Put ``processor`` before the application's own.

    The SDK calls processors in order and stops at the first that raises; going
    first, the session gets every span whatever the application's processors do.
    """
    multi = getattr(provider, "_active_span_processor", None)
    if isinstance(multi, SynchronousMultiSpanProcessor):
        with multi._lock:
            multi._span_processors = (processor, *multi._span_processors)
    else:
        provider.add_span_processor(processor)


def sdk_provider_of(candidate: object) -> TracerProvider | None:
    """The SDK ``TracerProvider`` that ``candidate`` is or wraps, else ``None``.

    Some SDKs install a proxy as the global provider (Logfire's ``ProxyTracerProvider``
    keeps the SDK provider in ``provider``); joining the proxy's provider keeps one
    trace whose spans reach the application's exporters and the session alike.
    """
    for _ in range(4):  # a proxy of a proxy, at most a few deep
        if isinstance(candidate, TracerProvider):
            return candidate
        candidate = getattr(candidate, "provider", None)
        if candidate is None:
            return None
    return None


@dataclass(eq=False)
class TracingSetup:
    """The provider a recording uses, and how to let go of it.

    Attributes:
        tracer_provider: Where the recording's spans are made.
        owned: ``True`` when devduck-otel built it, ``False`` when it joined the
            application's.
    """

    tracer_provider: TracerProvider
    owned: bool
    session_processor: SpanProcessor | None = field(default=None, repr=False)
    collectors: SpanProcessor | None = field(default=None, repr=False)
    _switch: _SwitchProcessor | None = field(default=None, repr=False)
    _joined: list[_SwitchProcessor] = field(default_factory=list, repr=False)
    _closed: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def shutdown(self) -> None:
        """Owned: flush and shut down the collectors. Joined: detach our processor.

        Idempotent; never raises. The session processor itself belongs to the caller.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            if self.session_processor is not None:
                for switch in (self._switch, *self._joined):
                    if switch is not None:
                        switch.detach(self.session_processor)
            if self.collectors is not None:
                self.collectors.shutdown()
        except Exception as exc:
            logger.debug("devduck-otel: tracing shutdown failed: %r", exc)

    def join_global(self) -> bool:
        """Also record the spans of a global SDK provider set after the recording began.

        A framework's own telemetry set up after ``instrument(agent)`` (Strands'
        ``StrandsTelemetry()``) makes its spans there; the session joins that provider
        too, so the order of the two calls does not matter.

        Returns:
            Whether a provider was joined now.
        """
        target = sdk_provider_of(get_tracer_provider())
        if target is None or target is self.tracer_provider or self.session_processor is None:
            return False
        switch = _switch_for(target)
        with self._lock:
            if self._closed or switch in self._joined:
                return False
            self._joined.append(switch)
        switch.attach(self.session_processor)
        return True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the session processor, then the collectors (owned only)."""
        deadline = time.monotonic() + timeout_millis / 1000
        ok = True
        for processor in (self.session_processor, self.collectors):
            if processor is None:
                continue
            left = int(max(0.0, deadline - time.monotonic()) * 1000)
            try:
                ok = bool(processor.force_flush(left)) and ok
            except Exception:
                ok = False
        return ok


_live: weakref.WeakSet[TracingSetup] = weakref.WeakSet()


@atexit.register
def _shutdown_live_setups() -> None:
    for setup in list(_live):
        setup.shutdown()


def setup_tracing(
    session_processor: SpanProcessor,
    *,
    redactor: SpanRedactor | None,
    capture_content: bool,
    tracer_provider: TracerProvider | None = None,
) -> TracingSetup | None:
    """Join the given or global SDK provider, or build a private one.

    Args:
        session_processor: Receives every span of the recording (the ZIP side).
        redactor: Applied before collectors see a span (owned providers only).
        capture_content: Send message and tool content to collectors.
        tracer_provider: The provider to join; default: the global one when it is an
            SDK ``TracerProvider`` or wraps one.

    Returns:
        The setup, or ``None`` when ``OTEL_SDK_DISABLED=true``.

    Raises:
        TypeError: ``tracer_provider`` is neither an SDK provider nor wraps one.
    """
    if sdk_disabled():
        return None
    if tracer_provider is not None:
        target = sdk_provider_of(tracer_provider)
        if target is None:
            raise TypeError(
                "tracer_provider must be an OpenTelemetry SDK TracerProvider, or a provider "
                f"that wraps one (as Logfire's does); got {type(tracer_provider).__name__}"
            )
    else:
        target = sdk_provider_of(get_tracer_provider())
    if target is not None:
        switch = _switch_for(target)
        switch.attach(session_processor)
        return TracingSetup(target, False, session_processor=session_processor, _switch=switch)
    provider = TracerProvider(sampler=ALWAYS_ON, resource=Resource.create(), shutdown_on_exit=False)
    provider.add_span_processor(session_processor)
    collectors = build_collector_processors(redactor=redactor, capture_content=capture_content)
    if collectors is not None:
        provider.add_span_processor(collectors)
    multi = provider._active_span_processor
    if isinstance(session_processor, SessionSpanProcessor):  # strip only for a follower
        session_processor.followed = lambda: len(multi._span_processors) > 1
    setup = TracingSetup(provider, True, session_processor=session_processor, collectors=collectors)
    _live.add(setup)
    return setup
