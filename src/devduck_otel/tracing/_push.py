"""Replay a recorded session's spans to any OTLP endpoint, ids and times kept.

A session ZIP holds its spans as OTLP JSON (``spans.otlp.jsonl``, one
``ExportTraceServiceRequest`` a line, as the Collector's file exporter writes them).
``push_session`` sends them as they were recorded: same trace ids, span ids,
parents and timestamps, so a session recorded offline opens in Jaeger afterwards.
Collectors get what they get live: no bytes, and message and tool content only with
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.

It speaks what the live OTLP exporter speaks with the same settings: OTLP/gRPC
unless ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_PROTOCOL`` say
``http/protobuf``, as the OpenTelemetry Python SDK's plain ``otlp`` exporter does.

Example:
    >>> from devduck_otel.tracing._push import push_session
    >>> push_session("session.zip", endpoint="http://localhost:4317")  # doctest: +SKIP
    42
"""

from __future__ import annotations

import base64
import gzip
import http.client
import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import grpc  # type: ignore[import-untyped]
import orjson
import requests
from devduck_otel_exporter_zip import SPANS_ENTRY, iter_request_spans
from google.protobuf import json_format  # type: ignore[import-untyped]
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_COMPRESSION,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_HEADERS,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TIMEOUT,
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_HEADERS,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
)
from opentelemetry.util.re import parse_env_headers

from devduck_otel._config import RecorderConfig
from devduck_otel.exceptions import DevduckError, SessionFormatError
from devduck_otel.redaction._redactor import Redactor
from devduck_otel.session._bounded import span_request_lines
from devduck_otel.session._zipsafe import MAX_LINE_BYTES, open_source
from devduck_otel.tracing._collector import CONTENT_ATTRIBUTES

__all__ = ["PushError", "push_session", "push_target"]

logger = logging.getLogger("devduck_otel")

OtlpProtocol = Literal["grpc", "http/protobuf"]
_DEFAULT_PROTOCOL: OtlpProtocol = "grpc"  # as the live exporter (tracing/_exporters.py)
_DEFAULT_HTTP = "http://localhost:4318/v1/traces"
_DEFAULT_GRPC = "http://localhost:4317"
_TRACES_PATH = "/v1/traces"
_RETRYABLE = {429, 502, 503, 504}
_ATTEMPTS = 3


_SPEAKS_GRPC = (
    "it answers in HTTP/2, as an OTLP/gRPC endpoint does, not OTLP/HTTP: "
    "push with --protocol grpc (OTEL_EXPORTER_OTLP_PROTOCOL=grpc), usually to port 4317"
)
_SPEAKS_HTTP = (
    "it answers in HTTP/1.1, as an OTLP/HTTP endpoint does, not OTLP/gRPC: "
    "push with --protocol http/protobuf (OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf), "
    "usually to port 4318"
)


_HTTP1_SIGNS = ("http1.x server", "Failed parsing HTTP/2")  # grpc-core's two wordings


class PushError(DevduckError, ConnectionError):
    """The endpoint refused or could not take the spans."""


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is anywhere in the exception's chain or its arguments."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return True
        nested = [a for a in item.args if isinstance(a, BaseException)]
        todo.extend(x for x in (item.__cause__, item.__context__, *nested) if x is not None)
    return False


def _env(*names: str) -> str:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return ""


def _protocol(explicit: str | None) -> OtlpProtocol:
    if explicit is not None:
        if explicit not in ("grpc", "http/protobuf"):
            raise ValueError(f"protocol must be 'grpc' or 'http/protobuf', not {explicit!r}")
        return "grpc" if explicit == "grpc" else "http/protobuf"
    value = _env(OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL)
    if value in ("grpc", "http/protobuf"):
        return "grpc" if value == "grpc" else "http/protobuf"
    if value:
        logger.warning(
            "devduck-otel: %s=%r is not 'grpc' or 'http/protobuf'; pushing over grpc",
            OTEL_EXPORTER_OTLP_PROTOCOL,
            value,
        )
    return _DEFAULT_PROTOCOL


def _with_traces_path(base: str) -> str:
    if urlparse(base).path.rstrip("/").endswith(_TRACES_PATH):
        return base
    return base.rstrip("/") + _TRACES_PATH


def _endpoint(explicit: str | None, protocol: OtlpProtocol) -> str:
    """Explicit (a base URL, or the full traces URL), then the env vars, then localhost."""
    if explicit:
        return explicit if protocol == "grpc" else _with_traces_path(explicit)
    signal = os.environ.get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "").strip()
    if signal:
        return signal
    base = os.environ.get(OTEL_EXPORTER_OTLP_ENDPOINT, "").strip()
    if base:
        return base if protocol == "grpc" else _with_traces_path(base)
    return _DEFAULT_GRPC if protocol == "grpc" else _DEFAULT_HTTP


def _headers(explicit: Mapping[str, str] | None) -> dict[str, str]:
    if explicit is not None:
        return dict(explicit)
    raw = _env(OTEL_EXPORTER_OTLP_TRACES_HEADERS, OTEL_EXPORTER_OTLP_HEADERS)
    return dict(parse_env_headers(raw, liberal=True)) if raw else {}


def _timeout() -> float:
    raw = _env(OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, OTEL_EXPORTER_OTLP_TIMEOUT)
    try:
        return float(raw) if raw else 10.0
    except ValueError:
        logger.warning(
            "devduck-otel: %s=%r is not a number; using 10", OTEL_EXPORTER_OTLP_TIMEOUT, raw
        )
        return 10.0


def _hex_to_b64(value: Any) -> Any:
    if isinstance(value, str) and value:
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    return value


def _keep(pair: Mapping[str, Any], capture_content: bool) -> bool:
    value = pair.get("value") or {}
    if "bytesValue" in value:
        return False
    array = (value.get("arrayValue") or {}).get("values") or []
    if any("bytesValue" in item for item in array):
        return False
    return capture_content or pair.get("key") not in CONTENT_ATTRIBUTES


def _clean(item: dict[str, Any], capture_content: bool) -> None:
    if "attributes" in item:
        item["attributes"] = [a for a in item["attributes"] if _keep(a, capture_content)]


def _to_protobuf_json(request: dict[str, Any], capture_content: bool) -> int:
    """Turn OTLP/JSON (hex ids) into protobuf JSON (base64 ids) in place; count spans."""
    count = 0
    for _, span in iter_request_spans(request):
        count += 1
        for key in ("traceId", "spanId", "parentSpanId"):
            span[key] = _hex_to_b64(span.get(key))
        _clean(span, capture_content)
        for event in span.get("events") or []:
            _clean(event, capture_content)
        for link in span.get("links") or []:
            link["traceId"] = _hex_to_b64(link.get("traceId"))
            link["spanId"] = _hex_to_b64(link.get("spanId"))
    return count


def _requests(path: Path) -> Iterator[tuple[int, ExportTraceServiceRequest, int]]:
    """Yield ``(line number, request, span count)`` for each line of the spans entry."""
    redactor = Redactor.from_env()
    capture = RecorderConfig.resolve().capture_content
    with open_source(path) as source:
        if SPANS_ENTRY not in source.names():
            raise SessionFormatError(f"{path}: no {SPANS_ENTRY} entry (a session without spans)")
        yield from _parsed(path, span_request_lines(source), redactor, capture)


def _parsed(
    path: Path, lines: Iterator[tuple[int, bytes | None]], redactor: Redactor, capture: bool
) -> Iterator[tuple[int, ExportTraceServiceRequest, int]]:
    for number, line in lines:
        if line is None:
            raise SessionFormatError(
                f"{path}: {SPANS_ENTRY} line {number} is longer than {MAX_LINE_BYTES} bytes"
            )
        try:
            parsed = orjson.loads(redactor.redact_bytes(line))
            count = _to_protobuf_json(parsed, capture)
            request = json_format.ParseDict(
                parsed, ExportTraceServiceRequest(), ignore_unknown_fields=True
            )
        except (ValueError, TypeError, AttributeError, json_format.ParseError) as exc:
            raise SessionFormatError(f"{path}: {SPANS_ENTRY} line {number}: {exc}") from exc
        yield number, request, count


class _Sender:
    """Sends serialized requests over OTLP/HTTP or OTLP/gRPC."""

    def __init__(self, protocol: OtlpProtocol, endpoint: str, headers: dict[str, str]) -> None:
        self.protocol = protocol
        self.endpoint = endpoint
        self.headers = headers
        self.timeout = _timeout()
        self.gzip = (
            _env(OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, OTEL_EXPORTER_OTLP_COMPRESSION) == "gzip"
        )
        self._channel: grpc.Channel | None = None
        self._session: requests.Session | None = None

    def send(self, request: ExportTraceServiceRequest) -> None:
        """Send one request, retrying transient failures; raise PushError otherwise."""
        delay = 0.5
        for attempt in range(1, _ATTEMPTS + 1):
            retry, reason = self._attempt(request)
            if reason is None:
                return
            if not retry or attempt == _ATTEMPTS:
                raise PushError(f"{self.endpoint} did not take the spans: {reason}")
            time.sleep(delay)
            delay *= 2

    def _attempt(self, request: ExportTraceServiceRequest) -> tuple[bool, str | None]:
        if self.protocol == "grpc":
            return self._attempt_grpc(request)
        return self._attempt_http(request)

    def _attempt_http(self, request: ExportTraceServiceRequest) -> tuple[bool, str | None]:
        body = request.SerializeToString()
        headers = {"Content-Type": "application/x-protobuf", **self.headers}
        if self.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.post(
                self.endpoint, data=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            if _caused_by(exc, http.client.BadStatusLine):
                return False, _SPEAKS_GRPC
            return True, f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return False, None
        return response.status_code in _RETRYABLE, f"HTTP {response.status_code}"

    def _attempt_grpc(self, request: ExportTraceServiceRequest) -> tuple[bool, str | None]:
        if self._channel is None:
            self._channel = _grpc_channel(self.endpoint, self.gzip)
        try:
            TraceServiceStub(self._channel).Export(  # type: ignore[no-untyped-call]
                request, metadata=list(self.headers.items()), timeout=self.timeout
            )
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            details = exc.details() if hasattr(exc, "details") else ""
            if any(sign in (details or "") for sign in _HTTP1_SIGNS):
                return False, _SPEAKS_HTTP
            transient = code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            return transient, f"gRPC {code}"
        return False, None

    def close(self) -> None:
        """Close the channel or HTTP session."""
        if self._channel is not None:
            self._channel.close()
        if self._session is not None:
            self._session.close()


def _grpc_channel(endpoint: str, use_gzip: bool) -> grpc.Channel:
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    target = parsed.netloc or parsed.path
    compression = grpc.Compression.Gzip if use_gzip else None
    if parsed.scheme == "https":
        return grpc.secure_channel(target, grpc.ssl_channel_credentials(), compression=compression)
    return grpc.insecure_channel(target, compression=compression)


def push_target(
    *, endpoint: str | None = None, protocol: str | None = None
) -> tuple[OtlpProtocol, str]:
    """Where ``push_session`` sends spans with these arguments and the environment.

    Args:
        endpoint: As for ``push_session``.
        protocol: As for ``push_session``.

    Returns:
        ``(protocol, endpoint URL)``.

    Raises:
        ValueError: ``protocol`` is not ``grpc`` or ``http/protobuf``.
    """
    chosen = _protocol(protocol)
    return chosen, _endpoint(endpoint, chosen)


def push_session(
    path: str | os.PathLike[str],
    *,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> int:
    """Send the spans of a session ZIP to an OTLP endpoint, as they were recorded.

    Args:
        path: The session ZIP.
        endpoint: For ``http/protobuf`` a base URL (``/v1/traces`` is added) or the
            full traces URL; for ``grpc`` ``http://host:port``. Default:
            ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, then ``OTEL_EXPORTER_OTLP_ENDPOINT``,
            then ``http://localhost:4317`` (``http://localhost:4318/v1/traces`` for HTTP).
        protocol: ``grpc`` or ``http/protobuf``. Default:
            ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``, then ``OTEL_EXPORTER_OTLP_PROTOCOL``,
            then ``grpc``, as the live OTLP exporter.
        headers: Extra request headers. Default: ``OTEL_EXPORTER_OTLP_TRACES_HEADERS``,
            then ``OTEL_EXPORTER_OTLP_HEADERS``.

    Returns:
        How many spans were sent.

    Raises:
        SessionNotFoundError: There is no such file.
        SessionFormatError: The file is not a session ZIP with spans.
        PushError: The endpoint could not be reached or refused the spans.
        ValueError: ``protocol`` is not one of the two above.
    """
    chosen, url = push_target(endpoint=endpoint, protocol=protocol)
    sender = _Sender(chosen, url, _headers(headers))
    sent = 0
    try:
        with suppress_instrumentation():
            for _, request, count in _requests(Path(path)):
                if count:
                    sender.send(request)
                    sent += count
    except PushError as exc:
        raise PushError(f"{exc} (after {sent} spans were sent)") from exc
    finally:
        sender.close()
    return sent
