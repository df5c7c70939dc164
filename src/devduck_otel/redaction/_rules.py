r"""Secret-shaped values: the patterns, compiled once.

Every pattern starts with a single literal character (``J`` of ``eyJ``, ``_`` of
``ghp_``, ``-`` of ``sk-``...) with the rest of the prefix in a look-behind, because
``re`` scans for a leading literal character many times faster than for anything else,
and a rule whose character is absent costs one ``memchr``. A match is a secret only at
a word boundary (``task-...`` is not an OpenAI key); a JSON escape such as ``\n`` right
before it counts as a boundary, since these patterns also run on raw JSON.

The replacement never contains a secret character: ``[REDACTED]``, keeping only what
names the kind (``Bearer [REDACTED]``, ``token=[REDACTED]`` in a URL).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote_plus

__all__ = [
    "GROUP_RULES",
    "REDACTED",
    "URL_SECRET_PARAMS",
    "VALUE_RULES",
    "ValueRule",
    "boundary_before",
    "redact_url_with",
    "value_rule_spans",
]

REDACTED: Final = "[REDACTED]"

# Inside one JSON string: any character but a quote or backslash, or an escape pair.
_IN_STRING = r'(?:[^"\\]|\\.)'
_PEM_BEGIN = r"----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
_PEM_END = r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
_TOKEN68 = r"[A-Za-z0-9\-._~+/]{8,}=*"


@dataclass(frozen=True)
class ValueRule:
    """One family of secret-shaped values.

    Attributes:
        name: What the rule finds, for tests and docs.
        source: The regular expression. It starts with one literal character, which
            also serves as a cheap gate; each alternative is a named group.
        back: Characters of the secret before the group's start (in the look-behind).
        checks: Extra validation of a group's matched text, by group name.
    """

    name: str
    source: str
    back: dict[str, int]
    checks: dict[str, Callable[[str], bool]]


def _bearer_ok(token: str) -> bool:
    """A bearer token, not an English word: a digit or symbol, or long."""
    return len(token) >= 24 or any(c.isdigit() or c in "-._~+/=" for c in token)


def _basic_ok(token: str) -> bool:
    """HTTP Basic credentials: base64 of ``user:password``."""
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


VALUE_RULES: Final = (
    ValueRule(
        "jwt",
        r"J(?<=eyJ)(?P<jwt>[A-Za-z0-9_\-]{6,}\.eyJ[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]*)",
        {"jwt": 3},
        {},
    ),
    ValueRule(
        "aws-access-key-id, google-api-key",
        r"A(?:(?P<aws>(?:KIA|SIA)[A-Z0-9]{16})(?![A-Za-z0-9])|(?P<google>Iza[0-9A-Za-z_\-]{35}))",
        {"aws": 1, "google": 1},
        {},
    ),
    ValueRule(
        "github, huggingface, stripe",
        r"_(?:(?<=gh[pousr]_)(?P<gh>[A-Za-z0-9]{30,})"
        r"|(?<=github_)(?P<ghpat>pat_[A-Za-z0-9_]{30,})"
        r"|(?<=hf_)(?P<hf>[A-Za-z0-9]{30,})"
        r"|(?<=[sr]k_)(?P<stripe>(?:live|test)_[A-Za-z0-9]{16,}))",
        {"gh": 4, "ghpat": 7, "hf": 3, "stripe": 3},
        {},
    ),
    ValueRule(
        "openai, anthropic, slack, private-key",
        r"-(?:(?<=sk-)(?P<sk>(?:(?:proj|ant|svcacct|admin)-[A-Za-z0-9_\-]{20,}|[A-Za-z0-9]{20,}))"
        r"|(?<=xox[baprse]-)(?P<slack>[0-9A-Za-z\-]{10,})"
        rf"|(?P<pem>{_PEM_BEGIN}(?:{_IN_STRING}*?{_PEM_END}|{_IN_STRING}*)))",
        {"sk": 3, "slack": 5, "pem": 1},
        {},
    ),
    ValueRule(
        "bearer, basic",
        rf"B(?:(?:earer|EARER)[ \t]+(?P<bearer>{_TOKEN68})|(?:asic|ASIC)[ \t]+(?P<basic>{_TOKEN68}))",
        {},
        {"bearer": _bearer_ok, "basic": _basic_ok},
    ),
    ValueRule(
        "bearer, basic (lowercase)",
        rf"b(?:earer[ \t]+(?P<bearer_l>{_TOKEN68})|asic[ \t]+(?P<basic_l>{_TOKEN68}))",
        {},
        {"bearer_l": _bearer_ok, "basic_l": _basic_ok},
    ),
)
"""The built-in value rules, in the order they run."""

GROUP_RULES: Final = {
    "jwt": "jwt",
    "aws": "aws-access-key-id",
    "google": "google-api-key",
    "gh": "github-token",
    "ghpat": "github-token",
    "hf": "huggingface-token",
    "stripe": "stripe-key",
    "sk": "openai-or-anthropic-key",
    "slack": "slack-token",
    "pem": "private-key",
    "bearer": "bearer-token",
    "bearer_l": "bearer-token",
    "basic": "basic-credentials",
    "basic_l": "basic-credentials",
}
"""The rule name a snapshot's ``redactions`` gives for each value rule's group."""

URL_SECRET_PARAMS: Final = frozenset(
    {
        "sig",
        "signature",
        "code",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "awsaccesskeyid",
    }
)
"""Query parameter names that are secret although they hold no secret-looking word."""


def boundary_before(text: str, index: int) -> bool:
    r"""Whether a secret may start at ``index``: no ASCII letter or digit right before it.

    A JSON escape (``\n``, ``\t``, ``\r``) right before it is a boundary too.
    """
    if index <= 0:
        return True
    prev = text[index - 1]
    if not (prev.isascii() and prev.isalnum()):
        return True
    return text[index - 2 : index] in ("\\n", "\\t", "\\r")


def value_rule_spans(
    pattern: re.Pattern[str], rule: ValueRule, text: str
) -> Iterator[tuple[int, int, str]]:
    """Yield the ``[start, end)`` spans of secrets that ``rule`` finds in ``text``, and the group."""
    for match in pattern.finditer(text):
        group = match.lastgroup
        if group is None:
            continue
        start, end = match.span(group)
        start -= rule.back.get(group, 0)
        if not boundary_before(text, start):
            continue
        check = rule.checks.get(group)
        if check is not None and not check(match.group(group)):
            continue
        yield start, end, group


def _redact_pairs(part: str, is_secret: Callable[[str], bool]) -> str:
    """Redact the values of secret ``name=value`` pairs in a query or fragment."""
    pieces = re.split(r"([&;])", part)
    changed = False
    for i in range(0, len(pieces), 2):
        name, eq, value = pieces[i].partition("=")
        if not eq or not value:
            continue
        plain = unquote_plus(name).strip()
        if plain.lower() in URL_SECRET_PARAMS or is_secret(plain):
            pieces[i] = f"{name}={REDACTED}"
            changed = True
    return "".join(pieces) if changed else part


def redact_url_with(url: str, is_secret: Callable[[str], bool]) -> str:
    """Redact userinfo and secret query/fragment parameters of ``url``.

    Args:
        url: An absolute or relative URL.
        is_secret: Decides whether a parameter name is secret.

    Returns:
        The URL with ``[REDACTED]`` in place of secrets; ``url`` itself if none.
    """
    head, sep, rest = url.partition("://")
    if not sep:
        head, rest = "", url
    cut = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if found != -1:
            cut = min(cut, found)
    authority, tail = rest[:cut], rest[cut:]
    if sep and "@" in authority:
        authority = f"{REDACTED}@{authority.rpartition('@')[2]}"
    tail, hash_mark, fragment = tail.partition("#")
    path, qmark, query = tail.partition("?")
    query = _redact_pairs(query, is_secret)
    if "=" in fragment:
        fragment = _redact_pairs(fragment, is_secret)
    out = f"{head}{sep}{authority}{path}{qmark}{query}{hash_mark}{fragment}"
    return url if out == url else out
