"""Secrets planted in every place never reach the session ZIP or the OTLP stream.

A real recording: env vars, tool arguments and results, messages, the system prompt,
snapshot state, and HTTP requests to a loopback server with secrets in the URL's
userinfo and query and in the Authorization, X-Api-Key and Cookie headers. Every byte
of the ZIP (every entry, decompressed) and every raw protobuf body an OTLP/HTTP
receiver gets is searched for each secret.
"""

from __future__ import annotations

import base64
import gzip
import re
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

import devduck_otel
from devduck_otel.environment_variables import OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
from tests.support.http_server import serve

TAIL = "Qm7Xv2Lp9Rt4Wz8Kc3Nd6Hy1Fb5Gs0Je"
SECRETS: dict[str, str] = {
    "env_openai": "sk-" + "proj-" + "envOpenAI" + TAIL,
    "env_password": "envPlainPassword" + TAIL[:10],
    "env_db_password": "dbPw" + TAIL[:12],
    "env_value_github": "gh" + "p_" + TAIL + "envG",
    "arg_api_key": "argPlainKey" + TAIL[:12],
    "arg_anthropic": "sk-" + "ant-api03-" + "argAnthropic" + TAIL + TAIL,
    "result_token": "resultPlainToken" + TAIL[:10],
    "result_jwt": "eyJ" + "hbGciOiJIUzI1NiJ9.eyJ" + "zdWIiOiJyZXN1bHQifQ." + TAIL,
    "message_slack": "xo" + "xb-" + "123456789012-210987654321-" + TAIL[:24],
    "message_password": "msgPassword" + TAIL[:10],
    "url_userinfo": "urlUserPw" + TAIL[:10],
    "url_query": "urlQueryTok" + TAIL[:10],
    "header_bearer": "hdrBearer" + TAIL,
    "header_api_key": "hdrApiKey" + TAIL[:12],
    "header_cookie": "hdrCookie" + TAIL[:12],
    "system_aws": "AK" + "IA" + "SYSPROMPT0123456",
    "system_pem": "MIIEsysPromptPemBody" + TAIL + TAIL,
    "state_stripe": "sk" + "_live_" + "stateStripe" + TAIL[:16],
    "state_password": "statePw" + TAIL[:12],
    "vault_state_key": "sk-" + "proj-" + "vaultState" + TAIL,
    "vault_message_password": "vaultMsgPw" + TAIL[:12],
}
SECRETS["basic_auth"] = base64.b64encode(f"bob:{SECRETS['url_userinfo']}".encode()).decode()


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP traces endpoint on loopback that keeps the raw request bodies."""

    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        """Store the (decompressed) protobuf body and accept it."""
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


@pytest.fixture
def otlp_bodies(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Point the OTLP/HTTP traces exporter at a loopback receiver; yield its bodies."""
    handler: type[_Receiver] = type("Receiver", (_Receiver,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    monkeypatch.setenv(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "true")
    monkeypatch.setenv(
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST", "Authorization,X-Api-Key,Cookie"
    )
    try:
        yield handler.bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Vault:
    """A non-JSON object: recorded through a (redacting) pickle, not as JSON."""

    def __init__(self, api_key: str, password: str) -> None:
        self.api_key = api_key
        self.config = {"password": password, "region": "eu"}


class _Agent:
    """A plain agent object: messages, system prompt, tools, model and state."""

    def __init__(self) -> None:
        pem = (
            "-----BEGIN "
            + "PRIVATE KEY-----\n"
            + SECRETS["system_pem"]
            + "\n-----END PRIVATE KEY-----"
        )
        self.system_prompt = f"You deploy with key {SECRETS['system_aws']} and\n{pem}"
        self.messages: list[dict[str, Any]] = []
        self.tool_names = ["call_api"]
        self.model = "scripted"
        self.state = {
            "billing": f"stripe {SECRETS['state_stripe']}",
            "db": {"password": SECRETS["state_password"], "host": "db"},
            "vault": Vault(SECRETS["vault_state_key"], "unused"),
        }


def _plant_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRETS["env_openai"])
    monkeypatch.setenv("MY_APP_PASSWORD", SECRETS["env_password"])
    monkeypatch.setenv("DATABASE_URL", f"postgres://app:{SECRETS['env_db_password']}@db:5432/x")
    monkeypatch.setenv("DEPLOY_NOTES", f"the ci uses {SECRETS['env_value_github']} for pushes")


def _run_agent(base: str) -> None:
    """One recorded turn that touches every place a secret can travel."""
    agent = _Agent()

    @devduck_otel.tool
    def call_api(api_key: str, query: str) -> dict[str, Any]:
        host = base.removeprefix("http://")
        url = f"http://bob:{SECRETS['url_userinfo']}@{host}/search?token={SECRETS['url_query']}&q=1"
        first = requests.get(url, timeout=10).json()
        headers = {
            "Authorization": f"Bearer {SECRETS['header_bearer']}",
            "X-Api-Key": SECRETS["header_api_key"],
            "Cookie": f"sessionid={SECRETS['header_cookie']}; theme=dark",
        }
        second = requests.get(f"{base}/data", headers=headers, timeout=10).json()
        return {
            "access_token": SECRETS["result_token"],
            "text": f"signed {SECRETS['result_jwt']} ok",
            "echo": [first, second],
        }

    @devduck_otel.agent
    def turn(query: str) -> str:
        agent.messages.append({"role": "user", "content": [{"text": query}]})
        vault = Vault("none", SECRETS["vault_message_password"])
        agent.messages.append({"role": "user", "content": [{"vault": vault}]})
        result = call_api(api_key=SECRETS["arg_api_key"], query=f"use {SECRETS['arg_anthropic']}")
        agent.messages.append({"role": "assistant", "content": [{"text": str(result)}]})
        return "done"

    devduck_otel.snapshot(agent, "before", last_query="start")
    query = f"post with {SECRETS['message_slack']} and password={SECRETS['message_password']}"
    answer = turn(query)
    devduck_otel.snapshot(agent, "after", last_query=query, last_result=answer)


def _zip_bytes(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]


def _with_pickles(places: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Add the decoded bytes of every base64 pickle tag, where a secret could hide."""
    out = list(places)
    for where, data in places:
        for match in re.finditer(rb'"dill":"([A-Za-z0-9+/=]+)"', data):
            out.append((f"{where} (pickle tag)", base64.b64decode(match.group(1))))
    return out


def _leaks(places: list[tuple[str, bytes]]) -> list[str]:
    found = []
    for where, data in _with_pickles(places):
        for name, secret in SECRETS.items():
            if secret.encode() in data:
                found.append(f"{name} in {where}")
    return found


def test_no_secret_reaches_the_zip_or_the_otlp_stream(
    monkeypatch: pytest.MonkeyPatch, recordings_dir: Path, otlp_bodies: list[bytes]
) -> None:
    """Every planted secret is absent from every ZIP entry and every OTLP body."""
    _plant_env(monkeypatch)
    devduck_otel.start_recording()
    with serve() as base:
        _run_agent(base)
    path = devduck_otel.stop_recording()
    assert path is not None
    entries = _zip_bytes(Path(path))
    assert {"events.jsonl", "snapshots.json", "metadata.json"} <= {n for n, _ in entries}
    assert otlp_bodies, "the OTLP receiver got nothing"
    received = b"".join(otlp_bodies)
    assert b"execute_tool call_api" in received and b"[REDACTED]" in received
    zip_text = b"".join(data for _, data in entries)
    assert b"execute_tool call_api" in zip_text and b"[REDACTED]" in zip_text
    places = [(f"zip:{name}", data) for name, data in entries]
    places += [(f"otlp:{i}", body) for i, body in enumerate(otlp_bodies)]
    places += [(f"disk:{p.name}", p.read_bytes()) for p in recordings_dir.rglob("*") if p.is_file()]
    assert _leaks(places) == []
    session = devduck_otel.load_session(path, allow_pickle=True)
    assert session.get_snapshot(2).agent_messages[1]["content"][0]["vault"].config["region"] == "eu"
    assert any(name.startswith("blobs/") for name, _ in entries)
    assert any("(pickle tag)" in where for where, _ in _with_pickles(places))
