"""A small real OTLP/gRPC receiver on loopback (the trace service only)."""

from __future__ import annotations

import threading
from concurrent import futures
from typing import Any

import grpc  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import (
    TraceServiceServicer,
    add_TraceServiceServicer_to_server,
)


class OtlpGrpcSink(TraceServiceServicer):
    """Stores every ``ExportTraceServiceRequest`` it receives; a context manager."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        add_TraceServiceServicer_to_server(self, self._server)  # type: ignore[no-untyped-call]
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def endpoint(self) -> str:
        """The OTLP/gRPC endpoint URL."""
        return f"http://127.0.0.1:{self.port}"

    def Export(self, request: ExportTraceServiceRequest, context: Any) -> Any:
        """Keep the request and accept it."""
        with self._lock:
            self.requests.append(request)
        return ExportTraceServiceResponse()

    def span_count(self) -> int:
        """How many spans arrived so far."""
        with self._lock:
            return sum(
                len(scope.spans)
                for request in self.requests
                for resource in request.resource_spans
                for scope in resource.scope_spans
            )

    def __enter__(self) -> OtlpGrpcSink:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None).wait(5)
