"""HTTP exchanges as data: the request and response recorded on an HTTP client span.

With ``DEVDUCK_CAPTURE_HTTP_BODIES=true`` the sys layer puts two JSON attributes on
the span of every requests / httpx call: the request ``{method, url, headers, body}``
and the response ``{status, headers, body}``. A body is kept as JSON when it parses
(so it is redacted key by key and compared as JSON), else as text, else as base64,
with ``body_format`` saying which and ``body_size`` its length in bytes. A body over
:data:`BODY_LIMIT` is cut there and marked (``body_truncated``, and the text ends with
the marker); a body that was not read (a stream) is ``None`` with ``body_format``
``"not-captured"``.

Example:
    >>> body_record(b'{"a": 1}')
    {'body': {'a': 1}, 'body_format': 'json', 'body_size': 8}
    >>> body_bytes(body_record(b'{"a": 1}'))
    b'{"a":1}'
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

BODY_LIMIT: Final = 64 * 1024
"""Bytes of a body kept on the span; the rest is cut and marked."""

TRUNCATED_MARKER: Final = "...[devduck-otel: body truncated]"
"""Ends the text of a body cut at :data:`BODY_LIMIT`."""

NOT_CAPTURED: Final = "not-captured"
"""``body_format`` of a body that was not read (a streamed request or response)."""


class ValueRedactor(Protocol):
    """What HTTP capture and replay need of ``devduck_otel.redaction.Redactor``."""

    def redact_value(self, obj: Any) -> Any:
        """Return ``obj`` with secrets redacted."""
        ...


_DROPPED_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})


def body_record(data: bytes | None) -> dict[str, Any]:
    """The recorded form of a body: ``body``, ``body_format``, ``body_size`` (and the cut).

    Args:
        data: The body's bytes (decoded of any content encoding), or ``None`` when it
            was not read.

    Returns:
        The fields to merge into the request or response record.
    """
    if data is None:
        return {"body": None, "body_format": NOT_CAPTURED}
    size = len(data)
    if size > BODY_LIMIT:
        head = data[:BODY_LIMIT].decode("utf-8", "replace")
        return {
            "body": head + TRUNCATED_MARKER,
            "body_format": "text",
            "body_size": size,
            "body_truncated": True,
        }
    if not data:
        return {"body": None, "body_format": "empty", "body_size": 0}
    try:
        return {"body": json.loads(data), "body_format": "json", "body_size": size}
    except ValueError:
        pass
    try:
        return {"body": data.decode("utf-8"), "body_format": "text", "body_size": size}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(data).decode(), "body_format": "base64", "body_size": size}


def servable(record: Mapping[str, Any]) -> str | None:
    """Why a recorded body cannot be served again, or ``None`` when it can."""
    if record.get("body_format") == NOT_CAPTURED:
        return "its body was not captured (a stream)"
    if record.get("body_truncated"):
        return f"its body was cut at {BODY_LIMIT} bytes when recorded"
    return None


def body_bytes(record: Mapping[str, Any]) -> bytes:
    """The bytes of a recorded body, to serve it again (JSON compact, text as UTF-8).

    Raises:
        ValueError: A base64 body that is not base64.
    """
    body, form = record.get("body"), record.get("body_format")
    if body is None:
        return b""
    if form == "json":
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    if form == "base64" and isinstance(body, str):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"recorded base64 body is broken: {exc}") from None
    return str(body).encode("utf-8", "surrogatepass")


def header_dict(headers: Iterable[tuple[Any, Any]]) -> dict[str, str]:
    """Headers as ``{name: value}`` (repeated names joined with ``", "``)."""
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def serving_headers(record: Mapping[str, Any], body: bytes) -> dict[str, str]:
    """The recorded response headers to serve with ``body`` (length and encoding redone)."""
    headers = record.get("headers")
    kept = {
        str(k): str(v)
        for k, v in (headers.items() if isinstance(headers, dict) else ())
        if str(k).lower() not in _DROPPED_HEADERS
    }
    kept["Content-Length"] = str(len(body))
    return kept


def exchange(method: str, url: str, headers: dict[str, str], data: bytes | None) -> dict[str, Any]:
    """The request record: ``method``, ``url``, ``headers`` and the body fields."""
    return {"method": method.upper(), "url": url, "headers": headers, **body_record(data)}


def response_record(status: int, headers: dict[str, str], data: bytes | None) -> dict[str, Any]:
    """The response record: ``status``, ``headers`` and the body fields."""
    return {"status": int(status), "headers": headers, **body_record(data)}


def step_name(request: Mapping[str, Any]) -> str:
    """A step's name: ``"GET http://host/path"`` (the URL without its query)."""
    url = str(request.get("url") or "")
    return f"{request.get('method')} {url.split('?', 1)[0].split('#', 1)[0]}"
