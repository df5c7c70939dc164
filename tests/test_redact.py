"""The redaction rules: names, values, URLs, JSON bytes, structured values and spans.

Fake secrets are assembled at run time so that no secret scanner mistakes this file
for a leak.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from devduck_otel.environment_variables import DEVDUCK_REDACT_KEYS, DEVDUCK_REDACT_PATTERNS
from devduck_otel.redaction._redactor import REDACTED, Redactor

ALNUM = "aB3dE5fG7hJ9kLmN2pQ4rS6tV8wX0yZ1"
OPENAI = "sk-" + "proj-" + ALNUM + "_x-" + ALNUM[:8]
OPENAI_LEGACY = "sk-" + ALNUM + ALNUM[:16]
ANTHROPIC = "sk-" + "ant-api03-" + ALNUM + ALNUM + "AA"
GOOGLE = "AI" + "za" + "Sy" + ALNUM + "Q"
GITHUB = "gh" + "p_" + ALNUM + "abcd"
GITHUB_PAT = "github" + "_pat_" + "11ABCDEFG0" + ALNUM + "_" + ALNUM
SLACK = "xo" + "xb-" + "1234567890-0987654321-" + ALNUM[:24]
STRIPE = "sk" + "_live_" + ALNUM[:28]
STRIPE_RESTRICTED = "rk" + "_live_" + ALNUM[:28]
HUGGINGFACE = "hf" + "_" + ALNUM + "xy"
AWS_ID = "AK" + "IA" + "IOSFODNN7EXAMPLE"
AWS_TEMP_ID = "AS" + "IA" + "Y3FDSNDKFKSIDJSW"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
JWT = (
    "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    "." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" + ALNUM
PEM = "-----BEGIN " + "PRIVATE KEY-----\n" + PEM_BODY + "\n" + ALNUM + "\n-----END PRIVATE KEY-----"
BEARER = "Bearer " + "abc" + ALNUM[:20]
PASSWORD = "hunter2-" + ALNUM[:6]


@pytest.fixture
def redactor() -> Redactor:
    """A Redactor with the built-in rules only."""
    return Redactor()


SECRET_NAMES = [
    "API_KEY",
    "OPENAI_API_KEY",
    "aws_secret_access_key",
    "AWS_SESSION_TOKEN",
    "GITHUB_TOKEN",
    "x-api-key",
    "Authorization",
    "Proxy-Authorization",
    "Set-Cookie",
    "Cookie",
    "PASSWORD",
    "DB_PASS",
    "db_password",
    "PGPASSWORD",
    "MYSQL_PWD",
    "SECRET",
    "client_secret",
    "credentials",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "SENTRY_DSN",
    "DATABASE_URL",
    "PRIVATE_KEY",
    "apiKey",
    "accessToken",
    "APIKEY",
    "sessionid",
    "JSESSIONID",
    "PHPSESSID",
    "SESSION",
    "X-CSRF-Token",
    "oauth",
    "passphrase",
    "jwt",
    "x-auth-token",
    "password",
    "STRIPE_KEY",
    "flask_session",
]
HARMLESS_NAMES = [
    "monkey",
    "donkey",
    "keyboard",
    "keywords",
    "passenger",
    "passengers",
    "passage",
    "compass",
    "author",
    "authority",
    "tokenizer",
    "max_tokens",
    "input_tokens",
    "gen_ai.usage.input_tokens",
    "inputTokens",
    "session_id",
    "sessionId",
    "devduck.session.id",
    "parent_session",
    "PWD",
    "OLDPWD",
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "url",
    "http.url",
    "role",
    "content",
    "timestamp_ns",
    "token_count",
    "password_min_len",
    "auth.retries",
    "NoCredentialsError",
    "primary_key",
    "cache_key",
    "cache.key_count",
    "session_timeout",
    "session.turn",
    "public_key",
    "key_id",
    "llm.token_count.prompt",
    "gen_ai.server.time_to_first_token",
    "_session_recorder",
    "private",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(redactor: Redactor, name: str) -> None:
    """Names holding a secret fragment are secret, in any case and spelling."""
    assert redactor.is_secret_key(name)


@pytest.mark.parametrize("name", HARMLESS_NAMES)
def test_harmless_names(redactor: Redactor, name: str) -> None:
    """Ordinary words, usage counts, ids and the shell's PWD are not secret."""
    assert not redactor.is_secret_key(name)


def test_extra_keys_are_fragments() -> None:
    """extra_keys adds case-insensitive fragments, separators ignored."""
    redactor = Redactor(extra_keys=["tenant_id"])
    assert redactor.is_secret_key("MY_TENANT_ID")
    assert redactor.is_secret_key("tenantId")
    assert not Redactor().is_secret_key("MY_TENANT_ID")


def test_redact_env(redactor: Redactor) -> None:
    """Secret names lose their value; other values are still scanned."""
    env = {
        "OPENAI_API_KEY": "anything",
        "HOME": "/home/me",
        "PIP_INDEX_URL": "https://me:" + PASSWORD + "@pypi.example.com/simple",
        "NOTES": "use " + GITHUB,
    }
    out = redactor.redact_env(env)
    assert out["OPENAI_API_KEY"] == REDACTED
    assert out["HOME"] == "/home/me"
    assert out["PIP_INDEX_URL"] == f"https://{REDACTED}@pypi.example.com/simple"
    assert out["NOTES"] == f"use {REDACTED}"


@pytest.mark.parametrize(
    "param",
    [
        "token",
        "key",
        "api_key",
        "sig",
        "signature",
        "password",
        "secret",
        "X-Amz-Signature",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
        "access_token",
        "code",
        "client_secret",
    ],
)
def test_redact_url_query(redactor: Redactor, param: str) -> None:
    """Secret query parameters are redacted, the others kept as they were."""
    url = f"https://api.example.com/v1/items?page=2&{param}=s3cr3tValue&lang=en#top"
    assert redactor.redact_url(url) == (
        f"https://api.example.com/v1/items?page=2&{param}={REDACTED}&lang=en#top"
    )


def test_redact_url_userinfo_and_fragment(redactor: Redactor) -> None:
    """Userinfo is replaced whole; secrets in a fragment (OAuth implicit flow) too."""
    assert redactor.redact_url("postgres://app:" + PASSWORD + "@db:5432/app") == (
        f"postgres://{REDACTED}@db:5432/app"
    )
    assert redactor.redact_url("https://app.example.com/cb#access_token=abc123&state=x") == (
        f"https://app.example.com/cb#access_token={REDACTED}&state=x"
    )


def test_clean_url_is_the_same_object(redactor: Redactor) -> None:
    """A URL without secrets comes back unchanged, as the same object."""
    url = "https://example.com/search?q=otel&page=2#results"
    assert redactor.redact_url(url) is url


VALUE_CASES = [
    ("openai", f"key {OPENAI} end", OPENAI),
    ("openai-legacy", f"key {OPENAI_LEGACY} end", OPENAI_LEGACY),
    ("anthropic", f"key {ANTHROPIC} end", ANTHROPIC),
    ("google", f"key {GOOGLE} end", GOOGLE),
    ("github", f"key {GITHUB} end", GITHUB),
    ("github-pat", f"key {GITHUB_PAT} end", GITHUB_PAT),
    ("slack", f"key {SLACK} end", SLACK),
    ("stripe", f"key {STRIPE} end", STRIPE),
    ("stripe-restricted", f"key {STRIPE_RESTRICTED} end", STRIPE_RESTRICTED),
    ("huggingface", f"key {HUGGINGFACE} end", HUGGINGFACE),
    ("aws-id", f"id {AWS_ID} end", AWS_ID),
    ("aws-temp-id", f"id {AWS_TEMP_ID} end", AWS_TEMP_ID),
    ("aws-secret", f"aws_secret_access_key={AWS_SECRET}\nregion=eu", AWS_SECRET),
    ("jwt", f"token {JWT} end", JWT),
    ("pem", f"key:\n{PEM}\nbye", PEM_BODY),
    ("pem-truncated", f"key:\n{PEM[:90]}", PEM_BODY[:30]),
    ("bearer", f"curl -H 'Authorization: {BEARER}' x", BEARER[7:]),
    ("bearer-alone", f"send {BEARER} now", BEARER[7:]),
    ("basic", "Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy"),
    ("url-userinfo", f"clone https://me:{PASSWORD}@git.example.com/r.git", PASSWORD),
    ("url-query", "GET https://x.io/a?api_key=Zx81Qw&b=1", "Zx81Qw"),
    ("password-assign", f"PASSWORD={PASSWORD} ./run", PASSWORD),
    ("header", "X-Api-Key: k-2f8a9c1b", "k-2f8a9c1b"),
    ("cookie-header", "Cookie: sid=abc123; theme=dark", "abc123"),
    ("yaml", f"password: {PASSWORD}", PASSWORD),
    ("python-repr", "{'api_key': 'plainvalue', 'n': 1}", "plainvalue"),
    ("json-text", '{"client_secret": "plainvalue"}', "plainvalue"),
    ("cli-flag", f"mysql --password={PASSWORD} db", PASSWORD),
]


@pytest.mark.parametrize(
    ("text", "secret"), [c[1:] for c in VALUE_CASES], ids=[c[0] for c in VALUE_CASES]
)
def test_redact_text_values(redactor: Redactor, text: str, secret: str) -> None:
    """Each secret-shaped value is replaced, the text around it kept."""
    out = redactor.redact_text(text)
    assert secret not in out
    assert REDACTED in out


def test_redact_text_keeps_kind_hints(redactor: Redactor) -> None:
    """The scheme and the name stay; only the secret characters go."""
    assert redactor.redact_text(f"Authorization: {BEARER}") == f"Authorization: Bearer {REDACTED}"
    assert redactor.redact_text(f"export GITHUB_TOKEN={GITHUB}") == (
        f"export GITHUB_TOKEN={REDACTED}"
    )


ORDINARY = [
    "The agent opened the configuration file and read the settings.",
    "Press the key: Enter, then pass the ball.",
    "sorted(items, key=len) and dict(key=value) are ordinary code",
    "def login(user: str, password: str) -> bool:",
    "if token == None: return",
    "The passenger in seat 12 read about monkeys and keyboards.",
    "Session: 3 of 5. Token count: 1200.",
    "Check task-1234567890abcdefghijklmn and risk-assessment-for-the-project-plan.",
    "/home/user/project/src/devduck_otel/_redact.py",
    "C:\\Users\\me\\AppData\\Local\\Temp\\devduck\\recordings",
    "https://example.com/docs/guide?lang=en&page=2#install",
    "git@github.com:open-telemetry/opentelemetry-python.git",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
    "Basic understanding of bearer bonds helps; bearer authentication too.",
    "The author has authority; the tokenizer splits words.",
    "Email me at jane.doe@example.com about the Asia region.",
    "max_tokens=4096 temperature=0.2 session_id=abc",
    "Ein Schlüssel öffnet die Tür; 鍵 and клю́ч mean key.",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_untouched(redactor: Redactor, text: str) -> None:
    """Sentences, code, paths, hashes and URLs without secrets stay as they are."""
    assert redactor.redact_text(text) is text


def test_redact_bytes_keys_anywhere(redactor: Redactor) -> None:
    """String values under secret keys are redacted at any depth; JSON stays valid."""
    doc = {
        "headers": {"Authorization": "Token abc", "Accept": "json"},
        "args": {"api_key": "plain", "n": 3, "nested": [{"password": "x1"}]},
        "credentials": {"user": "bob", "pw": "y2"},
        "text": "hello",
    }
    out = orjson.loads(redactor.redact_bytes(orjson.dumps(doc)))
    assert out == {
        "headers": {"Authorization": REDACTED, "Accept": "json"},
        "args": {"api_key": REDACTED, "n": 3, "nested": [{"password": REDACTED}]},
        "credentials": {"user": REDACTED, "pw": REDACTED},
        "text": "hello",
    }


def test_redact_bytes_pem_with_json_newlines(redactor: Redactor) -> None:
    """A PEM block inside JSON (newlines as backslash-n) is replaced whole."""
    data = orjson.dumps({"result": f"here:\n{PEM}\nthanks", "n": 1})
    out = redactor.redact_bytes(data)
    assert orjson.loads(out) == {"result": f"here:\n{REDACTED}\nthanks", "n": 1}


def test_redact_bytes_json_inside_json(redactor: Redactor) -> None:
    """JSON carried as a string (span content attributes) is redacted by key too."""
    inner = orjson.dumps({"api_key": "plain", "q": "x"}).decode()
    out = orjson.loads(redactor.redact_bytes(orjson.dumps({"content": inner})))
    assert orjson.loads(out["content"]) == {"api_key": REDACTED, "q": "x"}


def test_redact_bytes_otlp_attribute_pairs(redactor: Redactor) -> None:
    """OTLP JSON pairs are judged by their name; the names themselves stay."""
    doc = {
        "attributes": [
            {
                "key": "http.request.header.authorization",
                "value": {"arrayValue": {"values": [{"stringValue": "t0k"}]}},
            },
            {"key": "devduck.session.id", "value": {"stringValue": "s-1"}},
            {"key": "http.method", "value": {"stringValue": "GET"}},
        ]
    }
    out = orjson.loads(redactor.redact_bytes(orjson.dumps(doc)))
    values = [a["value"] for a in out["attributes"]]
    assert [a["key"] for a in out["attributes"]] == [a["key"] for a in doc["attributes"]]
    assert values[0] == {"arrayValue": {"values": [{"stringValue": REDACTED}]}}
    assert values[1:] == [{"stringValue": "s-1"}, {"stringValue": "GET"}]


def test_redact_bytes_clean_is_same_object(redactor: Redactor) -> None:
    """The fast path hands back the input itself, for a line and a large document."""
    line = orjson.dumps(
        {"timestamp_ns": 1, "layer": "tool", "event_type": "tool.call", "data": {"name": "add"}}
    )
    big = orjson.dumps([{"role": "user", "content": [{"text": t}]} for t in ORDINARY * 300])
    assert len(big) > 100_000
    assert redactor.redact_bytes(line) is line
    assert redactor.redact_bytes(big) is big


def test_redact_bytes_keeps_big_integers(redactor: Redactor) -> None:
    """A reparse keeps integers beyond 64 bits exact."""
    data = b'{"password":"x","n":123456789012345678901234567890}'
    assert (
        redactor.redact_bytes(data)
        == b'{"password":"[REDACTED]","n":123456789012345678901234567890}'
    )


def test_redact_bytes_not_json(redactor: Redactor) -> None:
    """Input that is not JSON is redacted as text."""
    data = b"password: {broken " + GITHUB.encode()
    assert redactor.redact_bytes(data) == b"password: {broken " + REDACTED.encode()


def test_redact_value(redactor: Redactor) -> None:
    """Structured data: keys judged at any depth, types kept, clean parts shared."""
    clean = {"path": "/tmp/x"}
    value = {"args": ("a", {"token": "t"}), "clean": clean, "msg": f"use {OPENAI}", "n": 2}
    out = redactor.redact_value(value)
    assert out == {
        "args": ("a", {"token": REDACTED}),
        "clean": clean,
        "msg": f"use {REDACTED}",
        "n": 2,
    }
    assert out["clean"] is clean
    assert redactor.redact_value(clean) is clean


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patterns split on newlines and ;;, keys on commas, both added to the built-ins."""
    monkeypatch.setenv(DEVDUCK_REDACT_PATTERNS, r"ACME-\d{6}" + "\n" + r"corp_[a-z]{5};;x{3}y")
    monkeypatch.setenv(DEVDUCK_REDACT_KEYS, "tenant, region_code")
    redactor = Redactor.from_env()
    assert redactor.redact_text("id ACME-123456 corp_abcde xxxy") == (
        f"id {REDACTED} {REDACTED} {REDACTED}"
    )
    assert redactor.redact_env({"TENANT": "t1", "REGION_CODE": "eu"}) == {
        "TENANT": REDACTED,
        "REGION_CODE": REDACTED,
    }
    assert redactor.redact_text(f"still {GITHUB}") == f"still {REDACTED}"


def test_from_env_bad_pattern_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad regex in the env var is left out with one warning naming the variable."""
    monkeypatch.setenv(DEVDUCK_REDACT_PATTERNS, "ok-[0-9]+;;bad(;;worse[")
    with caplog.at_level(logging.WARNING, logger="devduck_otel"):
        redactor = Redactor.from_env()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert DEVDUCK_REDACT_PATTERNS in warnings[0].getMessage()
    assert redactor.redact_text("ok-42") == REDACTED


def test_explicit_bad_pattern_raises() -> None:
    """A bad explicit pattern is a ValueError."""
    with pytest.raises(ValueError, match="invalid redaction pattern"):
        Redactor(extra_patterns=["(unclosed"])


def test_extra_pattern_in_json_keeps_it_valid() -> None:
    """A user pattern that spans JSON punctuation still leaves valid JSON."""
    redactor = Redactor(extra_patterns=[r'a", "b'])
    data = orjson.dumps({"k": 'a", "b', "j": "a"})
    assert orjson.loads(redactor.redact_bytes(data)) == {"k": REDACTED, "j": "a"}


def test_thread_safe(redactor: Redactor) -> None:
    """Eight threads redacting at once all get the same answers."""
    data = orjson.dumps({"a": f"x {OPENAI}", "password": "p", "url": f"https://u:{PASSWORD}@h/"})
    expected = redactor.redact_bytes(data)
    results: list[bytes] = []

    def work() -> None:
        for _ in range(200):
            results.append(redactor.redact_bytes(data))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 1600


@pytest.fixture
def spans() -> Iterator[tuple[trace.Tracer, InMemorySpanExporter]]:
    """A tracer whose finished spans land in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test"), exporter
    provider.shutdown()


def _one_span(spans: tuple[trace.Tracer, InMemorySpanExporter], **attrs: str) -> ReadableSpan:
    tracer, exporter = spans
    with tracer.start_as_current_span("outer"), tracer.start_as_current_span("GET") as span:
        span.set_attributes(attrs)
        span.add_event("tool.call", {"gen_ai.tool.call.arguments": '{"api_key":"plain"}'})
        span.set_status(Status(StatusCode.ERROR, f"failed with {GITHUB}"))
    return exporter.get_finished_spans()[0]


def test_redact_span(redactor: Redactor, spans: tuple[trace.Tracer, InMemorySpanExporter]) -> None:
    """Attributes, event attributes and the status are redacted; the rest is kept."""
    span = _one_span(
        spans,
        **{
            "url.full": f"https://u:{PASSWORD}@api.example.com/x?token=abc&page=2",
            "http.request.header.authorization": BEARER,
            "http.request.method": "GET",
            "gen_ai.prompt": f"my key is {ANTHROPIC}",
        },
    )
    out = redactor.redact_span(span)
    assert out is not span
    attrs = dict(out.attributes or {})
    assert attrs["url.full"] == f"https://{REDACTED}@api.example.com/x?token={REDACTED}&page=2"
    assert attrs["http.request.header.authorization"] == REDACTED
    assert attrs["http.request.method"] == "GET"
    assert attrs["gen_ai.prompt"] == f"my key is {REDACTED}"
    event_attrs = dict(out.events[0].attributes or {})
    arguments = event_attrs["gen_ai.tool.call.arguments"]
    assert isinstance(arguments, str)
    assert orjson.loads(arguments) == {"api_key": REDACTED}
    assert out.status.description == f"failed with {REDACTED}"
    for field in ("name", "context", "parent", "kind", "start_time", "end_time", "resource"):
        assert getattr(out, field) == getattr(span, field), field
    assert out.instrumentation_scope == span.instrumentation_scope
    assert out.events[0].timestamp == span.events[0].timestamp


def test_clean_span_is_the_same_object(
    redactor: Redactor, spans: tuple[trace.Tracer, InMemorySpanExporter]
) -> None:
    """A span without secrets comes back as the very same object."""
    tracer, exporter = spans
    with tracer.start_as_current_span("execute_tool add") as span:
        span.set_attributes({"gen_ai.tool.name": "add", "url.full": "https://example.com/a?b=1"})
        span.add_event("tool.result", {"result": "3"})
    finished = exporter.get_finished_spans()[0]
    assert redactor.redact_span(finished) is finished


class _State:
    """Agent state that is not JSON."""

    def __init__(self) -> None:
        self.api_key = "plainKeyValue"
        self.notes = f"deploy with {GITHUB}"
        self.auth = ("bob", "pw-in-a-tuple")
        self.count = 3
        self.cycle: dict[str, object] = {"password": "cyclepw"}
        self.cycle["self"] = self.cycle


def test_dill_dumps_redacts_while_pickling(redactor: Redactor) -> None:
    """A state blob holds no secret and still loads, cycles included."""
    import dill

    blob = redactor.dill_dumps(_State())
    for secret in ("plainKeyValue", GITHUB, "pw-in-a-tuple", "cyclepw"):
        assert secret.encode() not in blob
    state = dill.loads(blob)
    assert state.api_key == REDACTED
    assert state.notes == f"deploy with {REDACTED}"
    assert state.auth == (REDACTED, REDACTED)
    assert state.count == 3
    assert state.cycle["password"] == REDACTED
    assert state.cycle["self"] is state.cycle


def test_percent_encoded_query_key_is_redacted(redactor: Redactor) -> None:
    """A secret parameter name spelled with percent escapes (``?%74oken=``) is found."""
    assert redactor.redact_text("GET https://x.io/?%74oken=abcdef123456 200") == (
        "GET https://x.io/?%74oken=[REDACTED] 200"
    )


def test_comma_separated_urls_keep_their_separators(redactor: Redactor) -> None:
    """Each URL of a comma list is redacted on its own; commas and clean URLs stay."""
    text = "https://a.com/x?token=abcdefgh12,https://b.com/y?q=1,https://u:p@c.com/z"
    assert redactor.redact_text(text) == (
        "https://a.com/x?token=[REDACTED],https://b.com/y?q=1,https://[REDACTED]@c.com/z"
    )


def test_url_with_userinfo_and_secret_query_is_redacted_part_by_part(
    redactor: Redactor,
) -> None:
    """Userinfo and a secret parameter of one URL both go; host and path stay."""
    assert redactor.redact_text("a https://u:p@x.io/p?token=abc123456 b") == (
        "a https://[REDACTED]@x.io/p?token=[REDACTED] b"
    )


def test_long_clean_url_list_is_unchanged(redactor: Redactor) -> None:
    """A 200 KB comma list of clean URLs comes back identical (linear scan, no rewrite)."""
    text = ",".join(f"https://example.com/path/{i}?q={i}" for i in range(6000))
    assert redactor.redact_text(text) is text


@pytest.mark.parametrize(
    "text",
    [
        "src/auth/session.py:42 in login",
        "test_tokens.py:12 PASSED",
        "NoCredentialsError: Unable to locate credentials",
        "_session_recorder = SessionRecorder(session_id)",
        "session = load_session(session_path)",
        "password = getpass.getpass()",
        "api_key = os.environ['OPENAI_API_KEY']",
        '{"content":"Enter your password:","role":"user"}',
    ],
)
def test_code_and_line_numbers_are_not_secrets(redactor: Redactor, text: str) -> None:
    """Line numbers after a file name, calls and subscripts after ``=`` are kept."""
    assert redactor.redact_text(text) == text


def test_secret_dict_key_under_secret_parent_is_redacted(redactor: Redactor) -> None:
    """A credential used as a dict key below a secret key goes; numbers and names stay."""
    token = "ghp_" + ALNUM[:36]
    out = redactor.redact_value({"tokens": {token: "bob"}, "secret": {"n": 3}})
    assert token not in str(out)
    assert out == {"tokens": {"[REDACTED]#1": "[REDACTED]"}, "secret": {"n": 3}}
