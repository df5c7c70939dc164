"""Property tests: redact_bytes keeps JSON valid and same-shaped, and drops planted secrets."""

from __future__ import annotations

import string
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devduck_otel.redaction._redactor import REDACTED, Redactor

REDACTOR = Redactor()
ALNUM = string.ascii_letters + string.digits
B64URL = ALNUM + "-_"


def _chars(alphabet: str, size: int, max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=size, max_size=max_size or size)


def _with(
    prefix: str, body: st.SearchStrategy[str], suffix: str = ""
) -> st.SearchStrategy[tuple[str, str]]:
    """A planted text and the secret part that must not survive."""
    return body.map(lambda b: (prefix + b + suffix, prefix + b))


def _jwt(parts: tuple[str, str, str]) -> tuple[str, str]:
    token = "eyJ" + parts[0] + ".eyJ" + parts[1] + "." + parts[2]
    return token, token


def _pem(lines: list[str]) -> tuple[str, str]:
    body = "\n".join(lines)
    block = "-----BEGIN RSA " + "PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----"
    return block, body


SECRETS: st.SearchStrategy[tuple[str, str]] = st.one_of(
    _with("sk-" + "proj-", _chars(ALNUM, 24, 48)),
    _with("sk-" + "ant-api03-", _chars(B64URL, 40, 90).map(lambda b: "x" + b + "A")),
    _with("sk-", _chars(ALNUM, 32, 48)),
    _with("AK" + "IA", _chars(string.ascii_uppercase + string.digits, 16)),
    _with("AI" + "za", _chars(B64URL, 35)),
    _with("gh" + "p_", _chars(ALNUM, 36)),
    _with("github" + "_pat_", _chars(ALNUM, 40, 82)),
    _with("xo" + "xb-", _chars(string.digits, 12).map(lambda d: d + "-" + d[::-1] + "-abcDEF123")),
    _with("hf" + "_", _chars(ALNUM, 34)),
    _with("sk" + "_live_", _chars(ALNUM, 24, 40)),
    st.tuples(_chars(B64URL, 10, 40), _chars(B64URL, 10, 60), _chars(B64URL, 10, 43)).map(_jwt),
    st.lists(_chars(ALNUM + "+/", 64), min_size=1, max_size=4).map(_pem),
    _chars(ALNUM, 24, 40).map(lambda t: ("Bearer " + t, t)),
    _chars(ALNUM, 10, 20).map(lambda p: ("https://bob:" + p + "@example.com/x", p)),
    _chars(ALNUM, 10, 20).map(lambda p: ("password=" + p, p)),
    _chars(ALNUM, 10, 20).map(lambda p: ("https://x.io/a?token=" + p + "&q=1", p)),
)
SECRET_KEYS = st.sampled_from(
    [
        *("api_key", "Authorization", "password", "client_secret", "X-Api-Key", "Cookie"),
        *("GITHUB_TOKEN", "aws_secret_access_key", "privateKey", "credentials", "db_pwd"),
    ]
)
PLAIN_KEYS = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=8).filter(
    lambda k: not REDACTOR.is_secret_key(k)
)
TEXT = st.text(max_size=30)
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), TEXT)
# Around planted secrets: no ASCII letters or digits, so a secret cannot appear by chance.
FILLER = st.text(
    st.characters(blacklist_characters=ALNUM, blacklist_categories=["Cs"]), max_size=30
)
FILLER_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), FILLER)


@st.composite
def planted(draw: st.DrawFn) -> tuple[Any, list[str], int]:
    """A random JSON document with secrets in random strings and under secret keys."""
    secrets: list[str] = []
    keyed = 0

    def leaf() -> Any:
        nonlocal keyed
        choice = draw(st.integers(0, 5))
        if choice == 0:
            text, secret = draw(SECRETS)
            secrets.append(secret)
            return draw(FILLER) + " " + text + " " + draw(FILLER)
        return draw(FILLER_LEAVES)

    def node(depth: int) -> Any:
        nonlocal keyed
        kind = draw(st.integers(0, 2)) if depth < 4 else 0
        if kind == 0:
            return leaf()
        if kind == 1:
            return [node(depth + 1) for _ in range(draw(st.integers(0, 4)))]
        out: dict[str, Any] = {}
        for _ in range(draw(st.integers(0, 4))):
            key = draw(st.one_of(SECRET_KEYS, PLAIN_KEYS))
            if key in out:
                continue
            if REDACTOR.is_secret_key(key):
                value = "v-" + draw(_chars(ALNUM, 12))
                out[key] = value
                secrets.append(value)
                keyed += 1
            else:
                out[key] = node(depth + 1)
        return out

    return node(0), secrets, keyed


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planted())
def test_planted_secrets_never_survive(case: tuple[Any, list[str], int]) -> None:
    """After redact_bytes the document parses, keeps its shape, and holds no planted secret."""
    doc, secrets, _ = case
    data = orjson.dumps(doc)
    out = REDACTOR.redact_bytes(data)
    parsed = orjson.loads(out)
    assert _shape(parsed) == _shape(doc)
    text = out.decode("utf-8")
    for secret in secrets:
        assert secret not in text
        assert orjson.dumps(secret).decode()[1:-1] not in text


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        LEAVES, lambda kids: st.lists(kids) | st.dictionaries(PLAIN_KEYS, kids), max_leaves=30
    )
)
def test_documents_stay_valid_json(doc: Any) -> None:
    """Any JSON document, secret or not, stays valid and same-shaped."""
    out = REDACTOR.redact_bytes(orjson.dumps(doc))
    assert _shape(orjson.loads(out)) == _shape(doc)


@settings(max_examples=200, deadline=None)
@given(planted())
def test_redact_value_agrees_with_bytes(case: tuple[Any, list[str], int]) -> None:
    """redact_value on the structure leaves no planted secret either."""
    doc, secrets, _ = case
    text = orjson.dumps(REDACTOR.redact_value(doc)).decode("utf-8")
    for secret in secrets:
        assert secret not in text
    assert REDACTED in text or not secrets


_PIECES = st.sampled_from(
    [
        *("api_key", "API-KEY", "Token", "passwd", "x-auth-token", "session", "dsn", "db_url"),
        *("=", ":", '"', "'", '\\"', " ", "\t", ",", '","value"', "{", "}", "[", "\n"),
        *("https://", "://", "x.io", "/p", "?", "&", "#", "@", "%74", "sig=", "code="),
        *("Bearer ", "basic ", "eyJ", ".", "ghp_", "sk-", "AKIA", "xoxb-", "-----BEGIN "),
        *("abcdefghij0123456789", "ABCDEFGHIJ0123456789", "_", "-", "PRIVATE KEY-----"),
        *("é", "\u212a", "\u0130", "\x85", "\u2028", "\U0001f600"),
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.lists(_PIECES, max_size=24).map("".join), SECRETS.map(lambda p: p[0])))
def test_prefilter_never_calls_clean_what_the_scan_redacts(text: str) -> None:
    """The one-pass prefilter is implied by every finding of the precise scan, text or JSON."""
    scanner = REDACTOR._scanner
    spans, structural = scanner.scan(text, text.lower(), json_mode=False)
    if spans:
        assert REDACTOR.may_contain_secret(text)
    raw = orjson.dumps({"k": text, text[:12]: 1})
    json_text = raw.decode("latin-1")
    spans, structural = scanner.scan(json_text, json_text.lower(), json_mode=True)
    if spans or structural:
        assert REDACTOR.may_contain_secret(raw)
