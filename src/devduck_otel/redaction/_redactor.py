"""One redaction step for every layer, in front of the session ZIP and of every collector.

:class:`Redactor` holds the rules, compiled once; it is immutable and thread-safe.
It works on values, never on serialized bytes: a secret string becomes the string
``[REDACTED]`` and every other value keeps its JSON type. The session exporter runs
:meth:`Redactor.redact_value` on what it writes (after :meth:`may_contain_secret`,
one linear RE2 pass, has said a batch may hold a secret); the collector exporters
run :meth:`Redactor.redact_span` on every span. Both apply the same rules (see
``_keys`` for names, ``_rules`` for values, ``_scan`` for finding them in text):

* names: env vars, headers, JSON keys, query parameters whose name holds KEY, SECRET,
  TOKEN, PASSWORD, PASS, PWD, CREDENTIAL, AUTH, COOKIE, SESSION, PRIVATE, DSN,
  DATABASE_URL and the like, judged by words (``token_count`` is not one), have their
  string values replaced by ``[REDACTED]``; numbers, booleans and null stay;
* values: provider API keys, bearer and basic credentials, AWS access key ids, private
  key blocks, JWTs, URL userinfo and secret query parameters, ``password=...``-style
  assignments, anywhere in any string.

Users add regular expressions (``DEVDUCK_REDACT_PATTERNS``) and name fragments
(``DEVDUCK_REDACT_KEYS``).

Example:
    >>> r = Redactor(extra_keys=["internal_id"])
    >>> r.redact_text("curl -H 'Authorization: Bearer abc.def.ghi123' https://u:p@x.io/")
    "curl -H 'Authorization: Bearer [REDACTED]' https://[REDACTED]@x.io/"
    >>> r.redact_value({"headers": {"X-Api-Key": "k-123"}, "internal_id": "7", "token_count": 5})
    {'headers': {'X-Api-Key': '[REDACTED]'}, 'internal_id': '[REDACTED]', 'token_count': 5}
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from opentelemetry.sdk.trace import ReadableSpan

from devduck_otel.environment_variables import DEVDUCK_REDACT_KEYS, DEVDUCK_REDACT_PATTERNS
from devduck_otel.redaction._keys import KeyMatcher, secret_shaped
from devduck_otel.redaction._pickle import dill_dumps_redacted
from devduck_otel.redaction._prefilter import Prefilter
from devduck_otel.redaction._report import list_redactions
from devduck_otel.redaction._rules import REDACTED, redact_url_with
from devduck_otel.redaction._scan import _ASCII_LOWER, Scanner, apply_spans
from devduck_otel.redaction._span import redact_span_with
from devduck_otel.session._jsonsafe import TAG

__all__ = ["REDACTED", "Redactor"]

logger = logging.getLogger("devduck_otel")

_BIG_INT = re.compile(r"[0-9]{19}")


class Redactor:
    """Replaces secrets with ``[REDACTED]`` in text, JSON, env vars, URLs and spans.

    Args:
        extra_patterns: Extra regular expressions; every match is redacted.
        extra_keys: Extra case-insensitive name fragments whose values are redacted.

    Raises:
        ValueError: An extra pattern is not a valid regular expression.
    """

    __slots__ = ("_keys", "_prefilter", "_scanner")

    def __init__(
        self, *, extra_patterns: Sequence[str] = (), extra_keys: Sequence[str] = ()
    ) -> None:
        if isinstance(extra_patterns, str) or isinstance(extra_keys, str):
            raise TypeError("extra_patterns and extra_keys take a sequence of strings")
        compiled = []
        for pattern in extra_patterns:
            try:
                compiled.append(re.compile(pattern))
            except re.error as exc:
                raise ValueError(f"invalid redaction pattern {pattern!r}: {exc}") from None
        self._keys = KeyMatcher(extra_keys)
        self._scanner = Scanner(self._keys, compiled)
        self._prefilter = Prefilter(self._keys.raw_extra, always=bool(compiled))

    @classmethod
    def from_env(cls) -> Redactor:
        """Build a Redactor with the extra rules of ``DEVDUCK_REDACT_PATTERNS`` and ``_KEYS``.

        Patterns are separated by newlines or ``;;``, key fragments by commas. An invalid
        pattern is left out with one warning naming the variable.

        Returns:
            The configured Redactor.
        """
        raw = os.environ.get(DEVDUCK_REDACT_PATTERNS, "")
        patterns = [p.strip() for p in re.split(r"\n|;;", raw) if p.strip()]
        good, bad = [], []
        for index, pattern in enumerate(patterns, 1):
            try:
                re.compile(pattern)
            except re.error as exc:
                bad.append(f"#{index} ({exc})")
            else:
                good.append(pattern)
        if bad:
            logger.warning(
                "devduck-otel: %s: ignoring invalid regular expression(s) %s",
                DEVDUCK_REDACT_PATTERNS,
                ", ".join(bad),
            )
        keys = [k.strip() for k in os.environ.get(DEVDUCK_REDACT_KEYS, "").split(",")]
        return cls(extra_patterns=good, extra_keys=[k for k in keys if k])

    def is_secret_key(self, name: str) -> bool:
        """Whether values under ``name`` (env var, header, JSON key, parameter) are secret.

        Args:
            name: The name, in any case and spelling (``API_KEY``, ``x-api-key``).

        Returns:
            ``True`` when the name holds a secret-looking fragment.
        """
        return self._keys.is_secret(name)

    def redact_text(self, text: str) -> str:
        """Redact secret-shaped values anywhere in ``text``.

        Args:
            text: Any text: a message, a tool argument, a command line, a log line.

        Returns:
            The text with ``[REDACTED]`` in place of secrets; ``text`` itself if none.
        """
        if not text or not self._prefilter.may_match(text):
            return text
        low = text.lower()
        if len(low) != len(text):
            low = text.translate(_ASCII_LOWER)
        spans, _ = self._scanner.scan(text, low, json_mode=False)
        if not spans:
            return text
        out = apply_spans(text, spans)
        return text if out == text else out  # redacted before: the same object

    def redact_url(self, url: str) -> str:
        """Redact userinfo and secret query parameters of ``url``.

        Args:
            url: A URL (``https://user:pw@host/p?token=x``) or a relative one.

        Returns:
            The URL with ``[REDACTED]`` for secrets; ``url`` itself if none.
        """
        return redact_url_with(url, self._keys.is_secret)

    def redact_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Redact an environment: secret names lose their value, others are scanned.

        Args:
            env: Variable names and values (``os.environ``).

        Returns:
            A new dict.
        """
        return {
            name: REDACTED if self._keys.is_secret(name) else self.redact_text(value)
            for name, value in env.items()
        }

    def redact_value(self, obj: Any) -> Any:
        """Redact structured data (dicts, lists, tuples, strings) before it is serialized.

        Keys are judged like env var names, at any depth: every string below a secret
        key is redacted. A ``{"key": name, "value": ...}`` pair (OTLP attributes) is
        judged by ``name``. Bytes (raw, or lossless JSON's base64-tagged bytes) that
        decode as UTF-8 are redacted as text and stay bytes. Other values are kept.

        Args:
            obj: The data.

        Returns:
            A redacted copy, or ``obj`` itself when nothing changed.
        """
        return self._value(obj, False)

    def _value(self, obj: Any, secret: bool) -> Any:
        if isinstance(obj, str):
            if secret:  # already redacted (an env var, a second pass): the same object
                return obj if not obj or obj == REDACTED else REDACTED
            if obj[:1] in "{[" and obj[-1:] in "}]":
                # JSON carried in a string (span content, previews): redact it as JSON.
                raw = obj.encode("utf-8", "surrogatepass")
                clean = self.redact_bytes(raw)
                return obj if clean is raw else clean.decode("utf-8", "surrogatepass")
            return self.redact_text(obj)
        if isinstance(obj, dict):
            if obj.get(TAG) == "bytes" and isinstance(obj.get("base64"), str):
                return self._tagged_bytes(obj, secret)
            return self._dict(obj, secret)
        if isinstance(obj, (bytes, bytearray)):
            return self._bytes(obj, secret)
        if isinstance(obj, (list, tuple)):
            items = [self._value(item, secret) for item in obj]
            if all(new is old for new, old in zip(items, obj, strict=True)):
                return obj
            return type(obj)(items) if isinstance(obj, tuple) else items
        return obj

    def _bytes(self, obj: bytes | bytearray, secret: bool) -> bytes | bytearray:
        """Bytes that decode as UTF-8 are redacted as text (a document, a command line)."""
        try:
            text = bytes(obj).decode("utf-8")
        except UnicodeDecodeError:
            return obj  # an image, compressed data: no text to hold a secret
        clean = self._value(text, secret)
        return obj if clean is text else clean.encode("utf-8")

    def _tagged_bytes(self, obj: dict[str, Any], secret: bool) -> dict[str, Any]:
        """Lossless JSON's ``{"__devduck__": "bytes", "base64": ...}``: its bytes, as bytes."""
        try:
            data = base64.b64decode(obj["base64"], validate=True)
        except (binascii.Error, ValueError):
            return obj
        clean = self._bytes(data, secret)
        if clean is data:
            return obj
        return {**obj, "base64": base64.b64encode(clean).decode("ascii")}

    def _dict(self, obj: dict[Any, Any], secret: bool) -> dict[Any, Any]:
        pair_name = obj.get("key")
        pair = isinstance(pair_name, str)
        pair_secret = isinstance(pair_name, str) and self._keys.is_secret(pair_name)
        out: dict[Any, Any] = {}
        changed = False
        for key, value in obj.items():
            if pair and key == "key":
                here = secret
            else:
                here = (
                    secret
                    or (isinstance(key, str) and self._keys.is_secret(key))
                    or (pair_secret and key == "value")
                )
            new = self._value(value, here)
            changed = changed or new is not value
            if secret and isinstance(key, str) and secret_shaped(key):
                # A secret used as a key under a secret parent ({"tokens": {<token>: ...}}).
                key, changed = f"{REDACTED}#{len(out) + 1}", True
            out[key] = new
        return out if changed else obj

    def list_redactions(self, before: Any, after: Any, root: str = "$") -> list[dict[str, str]]:
        """Say where :meth:`redact_value` changed ``before`` into ``after``, never what.

        Args:
            before: The value given to :meth:`redact_value`.
            after: What it returned.
            root: The JSON path of ``before`` itself.

        Returns:
            One ``{"path": <JSON path>, "rule": <rule name>}`` per changed string and
            rule, in document order: ``secret-name`` (a string under a secret key),
            ``secret-used-as-key``, ``secret-assignment``, ``url-credentials``,
            ``user-pattern``, or a value rule's name (``github-token``, ``jwt``...).
        """
        return list_redactions(self._keys.is_secret, self._scanner.rule_names, before, after, root)

    def may_contain_secret(self, data: str | bytes) -> bool:
        """Return ``False`` only when ``data`` surely holds no secret (a fast test).

        Args:
            data: Text or UTF-8 bytes (a whole batch of lines, say).

        Returns:
            Whether redaction may change anything in ``data``.
        """
        return self._prefilter.may_match(data)

    def redact_attributes(self, attributes: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        """Redact OpenTelemetry attributes by value; return them and how many changed.

        Args:
            attributes: Span, event or resource attributes.

        Returns:
            The redacted attributes (a new dict) and the number of values changed.
        """
        out = {}
        changed = 0
        for key, value in attributes.items():
            # Under a secret key, strings (and sequences of them) go; numbers stay numbers.
            new = self._value(value, self._keys.is_secret(key))
            changed += new is not value
            out[key] = new
        return out, changed

    def redact_bytes(self, data: bytes) -> bytes:
        """Redact one JSON document given as UTF-8 bytes; the result is valid JSON.

        Used for JSON carried inside a string (span content, previews) and by the
        collector push. Clean input (no trigger of :meth:`may_contain_secret`) is
        returned as is. Otherwise secret-shaped text inside JSON strings is replaced
        in place, by character spans that never cross a string's quotes or escapes;
        a document with a secret key over an object or array, an OTLP ``{"key",
        "value"}`` pair or a user pattern is parsed and redacted value by value
        (:meth:`redact_value`), so numbers, booleans and null keep their type.
        Bytes that are not JSON are redacted as text.

        Args:
            data: UTF-8 JSON (compact, as orjson writes it), or any bytes.

        Returns:
            The redacted document; ``data`` itself when nothing matched.
        """
        if not data or not self._prefilter.may_match(data):
            return data
        text = data.decode("latin-1")
        spans, structural = self._scanner.scan(text, text.lower(), json_mode=True)
        if structural:
            redone = self._reparse(data, text)
            if redone is not None:
                return redone
            spans, _ = self._scanner.scan(text, text.lower(), json_mode=False)
        if not spans:
            return data
        out = apply_spans(text, spans).encode("latin-1")
        return data if out == data else out

    def _reparse(self, data: bytes, text: str) -> bytes | None:
        exact = _BIG_INT.search(text) is None
        try:
            obj = orjson.loads(data) if exact else json.loads(data)
        except ValueError:
            try:
                obj, exact = json.loads(data), False
            except ValueError:
                return None
        try:
            new = self.redact_value(obj)
        except RecursionError:
            return None
        if new is obj:
            return data
        if exact:
            try:
                return orjson.dumps(new)
            except TypeError:
                pass
        return json.dumps(new, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def dill_dumps(self, obj: Any) -> bytes:
        """Dill-serialize ``obj`` (agent state that is not JSON) with secrets redacted.

        Strings are redacted like text and dict values (object attributes included)
        by their key, while pickling: a blob cannot be redacted afterwards.

        Args:
            obj: Any object dill can serialize.

        Returns:
            The dill bytes; they load back with ``[REDACTED]`` in place of secrets.
        """
        return self.dill_dumps_counted(obj)[0]

    def dill_dumps_counted(self, obj: Any) -> tuple[bytes, int]:
        """Like :meth:`dill_dumps`, and count the strings and values it redacted.

        Args:
            obj: Any object dill can serialize.

        Returns:
            The dill bytes and the count (``0``: the blob loads back as ``obj`` was).
        """
        return dill_dumps_redacted(obj, self, lambda value: self._value(value, True))

    def redact_span(self, span: ReadableSpan) -> ReadableSpan:
        """Return ``span`` with secrets redacted from its attributes, events and links.

        URL attributes (``url.full``, ``http.url``...) go through :meth:`redact_url`,
        attributes with secret names (``http.request.header.authorization``) lose their
        value, every other string is scanned like text.

        Args:
            span: A finished span.

        Returns:
            A new ReadableSpan, or ``span`` itself when nothing changed.
        """
        return redact_span_with(self, span)
