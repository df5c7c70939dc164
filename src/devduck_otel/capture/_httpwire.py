"""requests and httpx at their transport: HTTP bodies onto the span, and replay serving.

Three methods are wrapped: ``requests.adapters.HTTPAdapter.send``,
``httpx.HTTPTransport.handle_request`` and ``httpx.AsyncHTTPTransport.handle_async_request``.
The sys layer wraps them before OpenTelemetry's instrumentation does (so the wrapper
runs inside the HTTP client span) and a replay wraps them for its duration if nobody
has; :func:`attach` and :func:`detach` count users and restore the originals.

Each call looks at two things: a replay in progress (``_hook.PLAYER``), which serves
the response from the record instead of touching the network, and the body capture
(:func:`capture_bodies`, ``DEVDUCK_CAPTURE_HTTP_BODIES``), which puts the redacted
request and response on the current HTTP client span. With neither, the call goes
straight through.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import wrapt
from devduck_otel_exporter_zip import schema as F
from opentelemetry import trace

from devduck_otel._guard import guard
from devduck_otel.capture import _httpbody as B
from devduck_otel.capture._httpbody import ValueRedactor
from devduck_otel.replay import _hook

if TYPE_CHECKING:
    import httpx
    import requests

_Targets = Callable[[], list[tuple[type, str, Callable[[Any], Any]]]]
"""A client library's transports to wrap: (class, method name, wrapper factory)."""
_RECORD_GUARD = guard("recording an HTTP body")


_lock = threading.Lock()
_users = 0
_saved: list[tuple[type, str, Any, Any]] = []
_capture: ValueRedactor | None = None


def capture_bodies(redactor: ValueRedactor | None) -> None:
    """Start (with the redactor to apply) or stop (``None``) putting bodies on spans."""
    global _capture
    _capture = redactor


def attach() -> None:
    """Wrap the transports (the first user only).

    A client library not imported yet is wrapped when it is imported (importing httpx
    costs about 0.15 s, which an agent that never uses it should not pay at start).
    """
    global _users
    with _lock:
        _users += 1
        if _users > 1:
            return
    for module, targets in _TARGETS.items():
        if module in sys.modules:
            _wrap_module(targets)
        elif importlib.util.find_spec(module) is not None:
            wrapt.register_post_import_hook(_on_import(targets), module)


def _on_import(targets: _Targets) -> Callable[[Any], None]:
    def hook(_module: Any) -> None:
        with guard("wrapping an HTTP client's transport"):
            _wrap_module(targets)

    return hook


def _wrap_module(targets: _Targets) -> None:
    with _lock:
        if not _users:  # imported after the last user detached
            return
        for owner, name, wrap in targets():
            if any(o is owner and n == name for o, n, _, _ in _saved):
                continue  # wrapped already (a hook of an earlier attach)
            original = owner.__dict__[name]
            wrapper = wrap(original)
            setattr(owner, name, wrapper)
            _saved.append((owner, name, original, wrapper))


def detach() -> None:
    """Restore the transports (the last user only).

    A wrapper someone else wrapped again in the meantime stays (it only passes calls
    through when nothing records or replays).
    """
    global _users
    with _lock:
        _users = max(0, _users - 1)
        if _users:
            return
        while _saved:
            owner, name, original, wrapper = _saved.pop()
            if owner.__dict__.get(name) is wrapper:
                setattr(owner, name, original)


def _requests_targets() -> list[tuple[type, str, Callable[[Any], Any]]]:
    from requests.adapters import HTTPAdapter

    return [(HTTPAdapter, "send", _wrap_requests)]


def _httpx_targets() -> list[tuple[type, str, Callable[[Any], Any]]]:
    import httpx

    return [
        (httpx.HTTPTransport, "handle_request", _wrap_httpx),
        (httpx.AsyncHTTPTransport, "handle_async_request", _wrap_httpx_async),
    ]


_TARGETS: dict[str, _Targets] = {
    "requests": _requests_targets,
    "httpx": _httpx_targets,
}
"""What to wrap, by client library."""


def _record(redactor: ValueRedactor | None, attribute: str, value: dict[str, Any]) -> None:
    """Put a redacted request or response record on the current HTTP client span."""
    if redactor is None:
        return
    with _RECORD_GUARD:
        span = trace.get_current_span()
        attributes = getattr(span, "attributes", None) or {}
        if (
            not span.is_recording()
            or F.http_client_method(getattr(span, "kind", None), attributes) is None
        ):
            return  # not inside an HTTP client span (the application instrumented first)
        span.set_attribute(attribute, json.dumps(redactor.redact_value(value), default=str))


def _begin(redactor: ValueRedactor | None, request: dict[str, Any]) -> dict[str, Any] | None:
    """Record the request; return the recorded response to serve, or ``None`` to go live."""
    _record(redactor, F.DEVDUCK_HTTP_REQUEST, request)
    player = _hook.PLAYER.get()
    if player is None:
        return None
    value = player.serve("http", B.step_name(request), request)
    if value is _hook.LIVE:
        return None
    _record(redactor, F.DEVDUCK_HTTP_RESPONSE, value)
    return dict(value)


def _asked(
    redactor: ValueRedactor | None, ask: Callable[[], dict[str, Any]]
) -> dict[str, Any] | None:
    """:func:`_begin` on the request ``ask`` reads; when only recording, never raising."""
    if _hook.PLAYER.get() is None:
        with _RECORD_GUARD:  # a request we cannot read is still sent
            _begin(redactor, ask())
        return None
    return _begin(redactor, ask())


# -- requests --------------------------------------------------------------------------


def _requests_ask(request: requests.PreparedRequest) -> dict[str, Any]:
    body = request.body
    data = body.encode("utf-8") if isinstance(body, str) else body
    if data is not None and not isinstance(data, (bytes, bytearray)):
        data = None  # a file or generator: streamed, not read
    elif data is None:
        data = b""
    headers = B.header_dict(request.headers.items())
    return B.exchange(
        str(request.method), str(request.url), headers, bytes(data) if data is not None else None
    )


def _requests_served(adapter: Any, request: Any, record: dict[str, Any]) -> Any:
    import urllib3

    data = B.body_bytes(record)
    status = int(record.get("status") or 200)
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(data),
        headers=B.serving_headers(record, data),
        status=status,
        reason=_reason(status),
        preload_content=False,
        decode_content=False,
        request_method=request.method,
        request_url=request.url,
    )
    return adapter.build_response(request, raw)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _wrap_requests(original: Callable[..., Any]) -> Callable[..., Any]:
    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        redactor = _capture
        if redactor is None and _hook.PLAYER.get() is None:
            return original(self, request, *args, **kwargs)
        recorded = _asked(redactor, lambda: _requests_ask(request))
        if recorded is not None:
            return _requests_served(self, request, recorded)
        response = original(self, request, *args, **kwargs)
        if redactor is not None:
            stream = kwargs.get("stream", args[0] if args else False)
            with _RECORD_GUARD:
                data = None if stream else response.content
                headers = B.header_dict(response.headers.items())
                _record(
                    redactor,
                    F.DEVDUCK_HTTP_RESPONSE,
                    B.response_record(response.status_code, headers, data),
                )
        return response

    send.__wrapped__ = original  # type: ignore[attr-defined]
    return send


# -- httpx -----------------------------------------------------------------------------


def _httpx_ask(request: httpx.Request) -> dict[str, Any]:
    import httpx

    try:
        data: bytes | None = request.content
    except httpx.RequestNotRead:
        data = None
    headers = B.header_dict(request.headers.multi_items())
    return B.exchange(request.method, str(request.url), headers, data)


def _httpx_served(record: dict[str, Any]) -> httpx.Response:
    import httpx

    data = B.body_bytes(record)
    status = int(record.get("status") or 200)
    extensions = {"http_version": b"HTTP/1.1", "reason_phrase": _reason(status).encode()}
    return httpx.Response(
        status, headers=B.serving_headers(record, data), content=data, extensions=extensions
    )


def _streamed(redactor: ValueRedactor, response: httpx.Response) -> bool:
    """An event stream is not read ahead: recorded without its body."""
    kind = str(response.headers.get("content-type", "")).lower()
    if not kind.startswith("text/event-stream"):
        return False
    _httpx_record(redactor, response, None, False)
    return True


def _decoded(response: httpx.Response, raw: bytes, whole: bool) -> bytes | None:
    """The body as the client will read it (content encoding undone), if it can be."""
    import httpx

    encoding = response.headers.get("content-encoding", "identity").lower()
    if encoding in ("", "identity"):
        return raw
    if not whole:
        return None
    try:
        return httpx.Response(200, headers={"content-encoding": encoding}, content=raw).read()
    except httpx.DecodingError:
        return None


def _httpx_record(
    redactor: ValueRedactor, response: httpx.Response, raw: bytes | None, whole: bool
) -> None:
    data = None if raw is None else _decoded(response, raw, whole)
    headers = B.header_dict(response.headers.multi_items())
    _record(
        redactor, F.DEVDUCK_HTTP_RESPONSE, B.response_record(response.status_code, headers, data)
    )


def _rebuilt(response: httpx.Response, stream: Any) -> httpx.Response:
    import httpx

    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=stream,
        extensions=response.extensions,
    )


def _wrap_httpx(original: Callable[..., Any]) -> Callable[..., Any]:
    import httpx

    class Joined(httpx.SyncByteStream):
        """The chunks read for the record, then the rest of the original stream."""

        def __init__(self, head: list[bytes], rest: Iterator[bytes], inner: Any) -> None:
            self.head, self.rest, self.inner = head, rest, inner

        def __iter__(self) -> Iterator[bytes]:
            yield from self.head
            yield from self.rest

        def close(self) -> None:
            self.inner.close()

    def handle_request(self: Any, request: httpx.Request) -> httpx.Response:
        redactor = _capture
        if redactor is None and _hook.PLAYER.get() is None:
            return original(self, request)  # type: ignore[no-any-return]
        recorded = _asked(redactor, lambda: _httpx_ask(request))
        if recorded is not None:
            return _httpx_served(recorded)
        response: httpx.Response = original(self, request)
        if redactor is None or _streamed(redactor, response):
            return response
        rest = iter(response.stream)  # type: ignore[arg-type]
        head, whole = _head(rest)
        _httpx_record(redactor, response, b"".join(head), whole)
        return _rebuilt(response, Joined(head, rest, response.stream))

    handle_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_request


def _head(chunks: Iterator[bytes]) -> tuple[list[bytes], bool]:
    """Read chunks until past the body limit; return them and whether the body ended."""
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size > B.BODY_LIMIT:
            return head, False
    return head, True


def _wrap_httpx_async(original: Callable[..., Any]) -> Callable[..., Any]:
    import httpx

    class AsyncJoined(httpx.AsyncByteStream):
        """The chunks read for the record, then the rest of the original stream."""

        def __init__(self, head: list[bytes], rest: AsyncIterator[bytes], inner: Any) -> None:
            self.head, self.rest, self.inner = head, rest, inner

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in self.head:
                yield chunk
            async for chunk in self.rest:
                yield chunk

        async def aclose(self) -> None:
            await self.inner.aclose()

    async def handle_async_request(self: Any, request: httpx.Request) -> httpx.Response:
        redactor = _capture
        if redactor is None and _hook.PLAYER.get() is None:
            return await original(self, request)  # type: ignore[no-any-return]
        recorded = _asked(redactor, lambda: _httpx_ask(request))
        if recorded is not None:
            return _httpx_served(recorded)
        response: httpx.Response = await original(self, request)
        if redactor is None or _streamed(redactor, response):
            return response
        rest = response.stream.__aiter__()  # type: ignore[union-attr]
        head: list[bytes] = []
        whole, size = True, 0
        async for chunk in rest:
            head.append(chunk)
            size += len(chunk)
            if size > B.BODY_LIMIT:
                whole = False
                break
        _httpx_record(redactor, response, b"".join(head), whole)
        return _rebuilt(response, AsyncJoined(head, rest, response.stream))

    handle_async_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_async_request
