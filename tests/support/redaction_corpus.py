"""Two corpora for redaction: real-shaped secrets in every place, and ordinary text.

Built from templates so that each item is realistic agent traffic: a secret in an env
var, a header, a URL, a tool argument, a message, an exception text...; ordinary text
from library errors, source code, shell output, prose, digests, UUIDs and paths.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

_A = "A1b2C3d4E5f6G7h8J9k0L1m2N3p4Q5r6S7t8"

SECRET_VALUES = [
    "sk-proj-" + _A + "xyz",
    "sk-ant-api03-" + _A,
    "ghp_" + _A[:36],
    "github_pat_11" + _A + "_" + _A[:20],
    "AKIA" + "IOSFODNN7EXAMPLE",
    "AIza" + "SyD-" + _A[:31],
    "xoxb-" + "1234567890-" + _A[:24],
    "hf_" + _A[:34],
    "sk_live_" + _A[:24],
    "eyJhbGciOiJIUzI1NiJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
]
"""Secret values, each shaped like a real provider's."""

_SECRET_TEMPLATES = [
    "export OPENAI_API_KEY={s}",
    "OPENAI_API_KEY={s}",
    "curl -H 'Authorization: Bearer {s}' https://api.example.com/v1/models",
    "Authorization: Bearer {s}",
    '{{"headers": {{"x-api-key": "{s}"}}}}',
    "https://api.example.com/v1/data?api_key={s}&page=2",
    "https://hooks.example.com/x?token={s}",
    "Here is my key: {s}, please use it.",
    "The deploy failed with credentials {s} rejected",
    "my password is password={s}",
    "git clone https://user:{s}@github.com/org/repo.git",
    "ValueError: invalid api key {s}",
    "subprocess.run(['gh', 'auth', 'login', '--with-token', '{s}'])",
    "os.environ['GITHUB_TOKEN'] = '{s}'",
    'client = OpenAI(api_key="{s}")',
    "docker run -e API_KEY={s} app:latest",
    "Traceback (most recent call last):\n  AuthError: token {s} expired",
    "SYSTEM: use the key {s} for every request",
    "{{'password': '{s}', 'user': 'bob'}}",
    "DATABASE_URL=postgres://app:{s}@db:5432/app",
    "x-auth-token: {s}",
    "[tool result] secret={s}",
    "client_secret={s}",
    "Cookie: sessionid={s}",
    "state = {{'api_key': '{s}'}}",
    "printenv | grep KEY\nSTRIPE_KEY={s}",
    "echo {s} | docker login --password-stdin",
    "Use token {s} to call the API",
    "requests.get(url, headers={{'Authorization': 'Bearer {s}'}})",
    "wss://stream.example.com/socket?access_token={s}",
    "I set AWS_SECRET_ACCESS_KEY={s} in the shell",
    "arg: --api-key={s}",
    "export SLACK_BOT_TOKEN={s}",
]


def secret_items() -> list[tuple[str, str]]:
    """Return ``(text, secret)`` pairs: each text holds the secret once or more."""
    return [(t.format(s=s), s) for t in _SECRET_TEMPLATES for s in SECRET_VALUES]


_ORDINARY = [
    "NoCredentialsError: Unable to locate credentials",
    "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.example.com', port=443)",
    "KeyError: 'token_count'",
    "TypeError: unhashable type: 'dict'",
    "ModuleNotFoundError: No module named 'tokenizers'",
    '  File "src/auth/session.py", line 42, in login',
    "src/auth/session.py:42 in login",
    "tests/test_tokens.py::test_count PASSED",
    "test_tokens.py:12 PASSED",
    "_session_recorder = SessionRecorder(session_id)",
    "session = load_session(session_path)",
    "password = getpass.getpass('Password: ')",
    "api_key = os.environ['OPENAI_API_KEY']",
    "if not token:\n    raise ValueError('missing token')",
    "def authenticate(self, password: str) -> bool:",
    "max_tokens = 4096",
    "token_count = len(tokens)",
    "The token count is limited by max_tokens.",
    "Please enter your password to continue.",
    "Enter your password:",
    "Your session expired; log in again.",
    "Session timeout is 30 minutes by default.",
    "Passwords must be at least 12 characters long.",
    "Rotate your API keys every 90 days.",
    "$ ls -la\ntotal 12\ndrwxr-xr-x 3 bob bob 4096 Jan 1 12:00 .",
    "$ git status\nOn branch main\nnothing to commit, working tree clean",
    "$ pytest -q\n12 passed in 0.42s",
    "Successfully installed requests-2.32.3 urllib3-2.2.1",
    "GET https://api.example.com/v1/items?page=2&sort=asc 200",
    "https://docs.python.org/3/library/secrets.html#secrets.token_hex",
    "https://example.com/search?q=session+tokens&lang=en",
    "/home/bob/projects/app/src/auth/tokens.py",
    "C:\\Users\\bob\\AppData\\Local\\Temp\\session.log",
    "/tmp/devduck/recordings/session-20260101-120000.zip",
    "config = {'primary_key': 'id', 'cache_key': 'items:v1'}",
    '{"token_count": 512, "max_tokens": 1024, "session_timeout": 30}',
    '{"content":"Enter your password:","role":"user"}',
    "The public_key is published at /.well-known/jwks.json",
    "key_id: 7f3a, auth.retries: 3, password_min_len: 12",
    "Usage: gen_ai.usage.input_tokens=120 gen_ai.usage.output_tokens=45",
    "for key, value in mapping.items():",
    "keyboard interrupt received, shutting down",
    "The author of the passage asked the passenger for a compass.",
    "SELECT id, name FROM users WHERE session_id = ?",
    "git log --oneline | head -5",
    "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "README.md  pyproject.toml  src  tests",
    "[INFO] token refresh scheduled in 300 s",
    "Warning: the session cookie is set with SameSite=Lax",
]


def ordinary_items() -> list[str]:
    """Return ordinary texts that must come back byte-identical."""
    items = list(_ORDINARY)
    for n in range(100):
        digest = hashlib.sha256(str(n).encode()).hexdigest()
        items.append(f"commit {digest[:40]}")
        items.append(f"request id {uuid.UUID(int=n * 7919 + 1)} done in {n} ms")
    for n in range(60):
        data = hashlib.sha512(str(n).encode()).digest() * 8
        items.append("data:image/png;base64," + base64.b64encode(data).decode())
    for n in range(40):
        items.append(f"/var/log/app/worker-{n}/session_{n}.log")
    return items


class AgentMemory:
    """Agent state that is not JSON (pickled with dill): attributes, nesting, bytes."""

    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AgentMemory) and vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]


def pickled_secret_items() -> list[tuple[object, str]]:
    """``(state, secret)``: non-JSON agent state that holds the secret somewhere."""
    items: list[tuple[object, str]] = []
    for s in SECRET_VALUES:
        items += [
            (AgentMemory(api_key=s, model="gpt-x"), s),
            (AgentMemory(history=[f"export OPENAI_API_KEY={s}"], turns=3), s),
            (AgentMemory(env={"GITHUB_TOKEN": s}, cwd="/repo"), s),
            (AgentMemory(raw=f"Authorization: Bearer {s}".encode(), size=1), s),
            ({"client": AgentMemory(password=s), "ids": {1, 2}}, s),
        ]
    return items


def pickled_ordinary_items() -> list[object]:
    """Non-JSON agent state without a secret: it must load back equal."""
    return [
        AgentMemory(token_count=n, max_tokens=4096, session_timeout=30, note=text)
        for n, text in enumerate(_ORDINARY)
    ]


def prompt_items(prompt: str) -> tuple[list[tuple[str, str]], list[str]]:
    """A long source-bearing system prompt: with a secret planted (recall), and clean."""
    cut = len(prompt) // 2
    planted = [
        (f"{prompt[:cut]}\n# deploy with OPENAI_API_KEY={s}\n{prompt[cut:]}", s)
        for s in SECRET_VALUES
    ]
    return planted, [prompt]
