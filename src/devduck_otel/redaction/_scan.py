r"""Finding what to redact in one text: the spans to replace, and whether JSON must be reparsed.

The scanner works on ``str``. Raw JSON bytes are decoded as latin-1 (one character a
byte, so positions are byte offsets) and every pattern is ASCII-only, so the spans
found apply unchanged to the bytes and never split a UTF-8 sequence or a JSON escape.

Three kinds of finding:

* value rules (``_redact_rules.VALUE_RULES``): secret-shaped tokens anywhere;
* URLs with userinfo or secret query parameters;
* assignments: a secret name, a ``:`` or ``=``, and a value, in every spelling that
  reaches a recording (``PASSWORD=x``, ``X-Api-Key: x``, ``{'api_key': 'x'}``,
  ``{"api_key":"x"}``, and JSON inside a JSON string, ``{\"api_key\":\"x\"}``).
  Names are found from the places where a secret fragment occurs, and judged by
  :class:`~devduck_otel.redaction._keys.KeyMatcher`, so JSON keys follow the same rules
  as env vars and headers.

In JSON mode, a secret key whose value is an object or array, a ``{"key": <secret
name>, "value": ...}`` attribute pair (OTLP JSON) and any extra user pattern ask for a
reparse (``structural``): the caller parses the document and redacts it structurally.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Final

from devduck_otel.redaction._keys import KeyMatcher, split_words
from devduck_otel.redaction._rules import (
    GROUP_RULES,
    REDACTED,
    VALUE_RULES,
    ValueRule,
    redact_url_with,
    value_rule_spans,
)

__all__ = ["Scanner", "apply_spans"]

Span = tuple[int, int, str]

# Every fragment of a secret name, as few regexes as possible, each starting with a
# literal (``re`` skips ahead to a literal far faster than to anything else). The rest
# of the name and a separator must follow, so that prose never reaches Python; the
# possessive ``*+`` keeps a failed attempt from backtracking.
_NAME_THEN_SEPARATOR = r"""[a-z0-9_.\-]*+(?:[:=]|\\*["'][ \t]*[:=]|[ \t]+[:=]|"(?=,"value"))"""
_FRAGMENT_SOURCES: Final = (
    r"k(?:ey|en(?<=token)|ie(?<=cookie))",
    r"p(?:ass|wd|rivate)",
    r"c(?:r(?:et(?<=secret)|edential)|srf|onn(?:ection)?_str)",
    r"u(?:th(?<=auth)|rl(?<=_url))",
    r"s(?:s(?:ion(?<=session)|id(?<=sessid))|n(?<=dsn)|rf(?<=xsrf))",
    r"bearer",
    r"jwt",
)
_ANCHORS: Final = tuple(
    (p[0], re.compile(p + _NAME_THEN_SEPARATOR, re.ASCII)) for p in _FRAGMENT_SOURCES
)
_URL_PARAM_WORDS = (
    "key|token|secret|pass|pwd|auth|credential|cookie|sess|private|dsn|csrf|xsrf|jwt"
    "|bearer|sig|code|_url"
)
_NAME_FWD = re.compile(r"[A-Za-z0-9_.\-]*", re.ASCII)
_NAME_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_TAIL = re.compile(
    r"(?P<q1>\\*[\"'])?[ \t]*(?P<op>[:=])[ \t]*"
    r"(?:(?P<q2>\\*[\"'])|(?P<open>[\[{])"
    r"|(?P<scheme>(?:[Bb]earer|BEARER|[Bb]asic|BASIC|[Tt]oken|[Dd]igest)[ \t]+)?"
    r"(?P<bare>[^\s\"'\\,;&<>)}\]=][^\s\"'\\,;&<>)}\]]*))",
    re.ASCII,
)
_QUOTED: Final = {
    '"': re.compile(r'(?:[^"\\]|\\.)*', re.DOTALL),
    "'": re.compile(r"(?:[^'\\]|\\.)*", re.DOTALL),
}


@lru_cache(maxsize=64)
def _quoted(quote: str) -> re.Pattern[str]:
    r"""The value after ``quote``: up to the same quote, at the same depth of JSON escaping.

    JSON inside a JSON string quotes with ``\"``, one level deeper with ``\\\"``.
    """
    found = _QUOTED.get(quote)
    if found is not None:
        return found
    return re.compile(r'(?:[^"\\]|\\.)*?(?=' + re.escape(quote) + ")", re.DOTALL)


_CODE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*[(\[]")
_PLACEHOLDER = re.compile(r"[xX*.•_-]{3,}|<[^<>]*>|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\{\{[^{}]*\}\}")
_ALNUM = re.compile(r"[A-Za-z0-9]")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_PROSE = re.compile(r" [A-Za-z]+[ ,.]")
_REFERENCE = re.compile(r"[A-Za-z_]+(?:\.[A-Za-z_]+)*")
"""A variable or attribute, without digits (a secret of letters and ``_`` only is rare)."""
_TO_EOL = re.compile(r"[^\r\n\"'\\]*")
_URL_END = re.compile(r"[^\s\"'<>\\]*")
_URL_HEAD = re.compile(r"[^/?#]*")

_ASCII_LOWER: Final = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_STOPWORDS: Final = frozenset(
    {"str", "int", "bool", "bytes", "none", "null", "true", "false", "optional", "any"}
    | {"float", "dict", "list", "object", "undefined", "nil", "string"}
)
_WEAK_NAMES: Final = frozenset({"key", "keys", "token", "pass", "auth", "session", "private"})


def _looks_secret(value: str) -> bool:
    """A bare value after a weak name (``key=len`` is code, ``token=ab12cd34ef`` is not)."""
    return len(value) >= 20 or (
        len(value) >= 8 and any(c.isdigit() or c in "-_./+=" for c in value)
    )


class Scanner:
    """Finds spans to redact; immutable after construction, so safe across threads.

    Args:
        keys: Decides which names are secret.
        extra_patterns: Compiled user patterns; each match is redacted.
    """

    def __init__(self, keys: KeyMatcher, extra_patterns: Sequence[re.Pattern[str]]) -> None:
        self.keys = keys
        self.extra_patterns = tuple(extra_patterns)
        self._rules: tuple[tuple[ValueRule, re.Pattern[str], str], ...] = tuple(
            (rule, re.compile(rule.source, re.DOTALL | re.ASCII), rule.source[0])
            for rule in VALUE_RULES
        )
        self._extra_needles = keys.raw_extra
        words = "|".join([_URL_PARAM_WORDS, *(re.escape(n) for n in keys.raw_extra)])
        # A query worth a look: a parameter name holding a secret word, or percent-encoded.
        self._url_words = re.compile(rf"{words}|%", re.ASCII)
        self._url_needles = (*_URL_PARAM_WORDS.split("|"), *keys.raw_extra, "%", "@")

    def scan(self, text: str, low: str, *, json_mode: bool) -> tuple[list[Span], bool]:
        """Return the spans to replace in ``text`` and whether JSON must be reparsed.

        Args:
            text: The text (raw JSON decoded as latin-1 in JSON mode).
            low: ``text.lower()``.
            json_mode: ``text`` is one JSON document.
        """
        spans: list[Span] = []
        # search() before finditer(): the clean case, by far the common one, then
        # costs one regex call per gate that passes and allocates nothing.
        anchors = [a for first, a in _ANCHORS if first in low and a.search(low) is not None]
        structural = False
        if anchors or self._extra_needles:
            structural = self._assignments(text, low, json_mode, spans, anchors)
        for rule, pattern, gate in self._rules:
            if gate in text and pattern.search(text) is not None:
                found = value_rule_spans(pattern, rule, text)
                spans.extend((s, e, REDACTED) for s, e, _ in found)
        if "://" in text and ("@" in text or "?" in text or "#" in text):
            spans.extend(self._urls(text, low))
        if json_mode and self.extra_patterns and "\\" in text:
            return spans, True  # a user pattern may match only the unescaped strings
        for pattern in self.extra_patterns:
            for match in pattern.finditer(text):
                if match.end() > match.start():
                    if json_mode:
                        return spans, True
                    spans.append((match.start(), match.end(), REDACTED))
        return spans, structural

    def rule_names(self, text: str) -> list[str]:
        """Name the rules that find something in ``text`` (for a snapshot's ``redactions``).

        Args:
            text: A string that redaction changed.

        Returns:
            Rule names, each once, in the order the scan runs them.
        """
        low = text.lower()
        if len(low) != len(text):
            low = text.translate(_ASCII_LOWER)
        names: list[str] = []
        spans: list[Span] = []
        anchors = [a for first, a in _ANCHORS if first in low]
        self._assignments(text, low, False, spans, anchors)
        if spans:
            names.append("secret-assignment")
        for rule, pattern, _ in self._rules:
            for _start, _end, group in value_rule_spans(pattern, rule, text):
                names.append(GROUP_RULES.get(group, group))
        if "://" in text and any(True for _ in self._urls(text, low)):
            names.append("url-credentials")
        if any(p.search(text) for p in self.extra_patterns):
            names.append("user-pattern")
        return list(dict.fromkeys(names))

    def _occurrences(self, low: str, anchors: list[re.Pattern[str]]) -> Iterator[int]:
        for anchor in anchors:
            for match in anchor.finditer(low):
                yield match.start()
        for needle in self._extra_needles:
            index = low.find(needle)
            while index != -1:
                yield index
                index = low.find(needle, index + 1)

    def _assignments(
        self,
        text: str,
        low: str,
        json_mode: bool,
        spans: list[Span],
        anchors: list[re.Pattern[str]],
    ) -> bool:
        structural = False
        seen: set[int] = set()
        for index in self._occurrences(low, anchors):
            start, floor = index, max(0, index - 128)
            while start > floor and text[start - 1] in _NAME_CHARS:
                start -= 1
            if start in seen:
                continue
            seen.add(start)
            end = _NAME_FWD.match(text, index).end()  # type: ignore[union-attr]
            verdict = self._one(text, start, end, json_mode, spans)
            structural = structural or verdict
        return structural

    def _one(self, text: str, start: int, end: int, json_mode: bool, spans: list[Span]) -> bool:
        """Judge the name at ``[start, end)``; add its value's span; True asks for a reparse."""
        name = text[start:end]
        quoted_name = json_mode and text[start - 1 : start] == '"'
        if quoted_name and text[end : end + 1] == '"' and text.endswith('"key":', 0, start - 1):
            return self.keys.is_secret(name)
        tail = _TAIL.match(text, end)
        if tail is None or not name.strip("._-"):
            return False
        if quoted_name and tail["q1"] == '"' and name == "key" and tail["q2"] == '"':
            return False  # {"key": <name>, "value": ...}: the name itself is no secret
        if not self.keys.is_secret(name):
            return False
        if tail["open"] is not None:
            return json_mode and (tail["q1"] or "").endswith('"')
        if tail["q2"] is not None:
            self._quoted_value(text, name, tail, spans)
        else:
            self._bare_value(text, name, tail, spans)
        return False

    def _no_secret(self, name: str, value: str) -> bool:
        """A value that is surely no secret: a placeholder, a variable's name, or weak.

        A placeholder (``...``, ``xxx``, ``<token>``, ``$API_KEY``), no ASCII letter or
        digit at all, the name of a secret variable (``auth_env_var="SERVICE_API_KEY"``),
        or a one-word weak name (``key``, ``token``) over a value that looks like none.
        """
        if _PLACEHOLDER.fullmatch(value) or not _ALNUM.search(value):
            return True
        if _ENV_NAME.fullmatch(value) and self.keys.is_secret(value):
            return True
        words = split_words(name)
        return len(words) == 1 and words[0] in _WEAK_NAMES and not _looks_secret(value)

    def _quoted_value(self, text: str, name: str, tail: re.Match[str], spans: list[Span]) -> None:
        if tail["q1"] is None and text[tail.end() : tail.end() + 1] in (
            ",",
            "}",
            "]",
            ")",
            ":",
            "",
        ):
            return  # the quote closes the string the name is in (``"Password:",``)
        value = _quoted(tail["q2"]).match(text, tail.end())
        if value is None or value.end() == value.start() or self._no_secret(name, value.group()):
            return
        spans.append((value.start(), value.end(), REDACTED))

    def _bare_value(self, text: str, name: str, tail: re.Match[str], spans: list[Span]) -> None:
        value_start, value_end = tail.span("bare")
        bare = tail["bare"]
        if text.find(REDACTED, value_start, value_end + 1) != -1:
            return  # redacted already (``Bearer [REDACTED]``, a second pass)
        line_number = "." in name and tail["op"] == ":" and (bare.isdigit() or bare[0] == ":")
        if bare.lower() in _STOPWORDS or line_number or _CODE.match(bare) or bare[0] == "(":
            return  # a type, a line number (``session.py:42``) or code (``f(x)``)
        if _REFERENCE.fullmatch(bare) and ("_" in bare or "." in bare or bare == name):
            return  # code passing a variable on: ``api_key=api_key``, ``token=self.token``
        if self._no_secret(name, bare):
            return
        if bare.isalpha() and _PROSE.match(text, value_end):
            return  # the first word of a sentence (``auth_token: Direct auth token``)
        if "cookie" in name.lower():
            value_end = _TO_EOL.match(text, value_start).end()  # type: ignore[union-attr]
        spans.append((value_start, value_end, REDACTED))

    def _urls(self, text: str, low: str) -> Iterator[Span]:
        """Yield redacted URLs, visiting only URLs with ``@``, ``%`` or a secret word.

        Each URL is bounded by the next ``://`` and visited once, so this is linear.
        """
        hits: list[int] = []
        for needle in self._url_needles:
            index = low.find(needle)
            while index != -1:
                hits.append(index)
                index = low.find(needle, index + 1)
        done, floor = 0, 0
        for hit in sorted(hits):
            if hit < done:
                continue
            mark = text.rfind("://", done, hit)
            if mark == -1:
                continue
            limit = text.find("://", hit)
            limit = len(text) if limit == -1 else limit
            found = self._url_at(text, low, mark, limit, max(floor, mark - 32))
            done, floor = limit, mark + 3
            if found is not None:
                yield found

    def _url_at(self, text: str, low: str, mark: int, limit: int, floor: int) -> Span | None:
        end = _URL_END.match(text, mark + 3, limit).end()  # type: ignore[union-attr]
        if end == limit and limit < len(text):
            while end > mark + 3 and (text[end - 1].isalnum() or text[end - 1] in "+.-"):
                end -= 1  # the next URL's scheme
            while end > mark + 3 and text[end - 1] in ",;":
                end -= 1
        start = mark
        while start > floor and (text[start - 1].isalnum() or text[start - 1] in "+.-"):
            start -= 1
        if start == mark or not text[start].isalpha():
            return None
        head = _URL_HEAD.match(text, mark + 3, end).end()  # type: ignore[union-attr]
        userinfo = text.find("@", mark + 3, head) != -1
        if not userinfo and (head == end or self._url_words.search(low, head, end) is None):
            return None
        url = text[start:end]
        clean = redact_url_with(url, self.keys.is_secret)
        return None if clean is url else (start, end, clean)


def apply_spans(text: str, spans: list[Span]) -> str:
    """Replace ``spans`` in ``text``; overlapping spans merge into one ``[REDACTED]``."""
    if not spans:
        return text
    spans.sort()
    merged: list[Span] = []
    for start, end, replacement in spans:
        if merged and start < merged[-1][1]:
            last_start, last_end, last = merged[-1]
            if end <= last_end and last != REDACTED:
                continue  # inside a URL already redacted part by part
            if start == last_start and end >= last_end and replacement != REDACTED:
                merged[-1] = (start, end, replacement)
                continue
            merged[-1] = (last_start, max(end, last_end), REDACTED)
        else:
            merged.append((start, end, replacement))
    pieces: list[str] = []
    cursor = 0
    for start, end, replacement in merged:
        pieces.append(text[cursor:start])
        pieces.append(replacement)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
