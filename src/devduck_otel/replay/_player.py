"""The player: serves recorded steps in order and notices where the agent diverges.

Before serving step N it compares what the agent asks now with what step N recorded
(model: messages, system prompt, tool names; tool: name and arguments; HTTP: method,
URL and body, the live request redacted as the record was). The first
mismatch is a :class:`Divergence`; the player then stops the run (raises
:class:`ReplayStopped`) or, with ``on_divergence="live"``, lets the rest run live.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from devduck_otel.capture._httpbody import ValueRedactor, servable
from devduck_otel.replay import _hook
from devduck_otel.replay._hook import LIVE
from devduck_otel.replay._steps import Step
from devduck_otel.session import _jsonsafe

OnDivergence = Literal["stop", "live"]
_MODEL_FIELDS = ("messages", "system_prompt", "tools")
_HTTP_FIELDS = ("method", "url", "body")


@dataclass(frozen=True)
class Divergence:
    """Where a replay parted from its recording.

    Attributes:
        step: The step number (one past the last for an unrecorded step).
        kind: The kind of the step that differed (``"model"``, ``"tool"``, ``"http"``).
        field: What differed: ``"messages"``, ``"system_prompt"``, ``"tools"``,
            ``"name"``, ``"args"``, ``"method"``, ``"url"``, ``"body"``, or ``"missing"`` (the agent asks for a step the
            record does not have) / ``"extra"`` (it stops before a recorded step).
        expected: The recorded value.
        actual: The value the agent produced now.
    """

    step: int
    kind: str
    field: str
    expected: Any
    actual: Any

    @property
    def diff(self) -> str:
        """A short unified diff of expected and actual (at most 30 lines)."""
        lines = difflib.unified_diff(
            _pretty(self.expected), _pretty(self.actual), "recorded", "now", lineterm="", n=1
        )
        return "\n".join(list(lines)[:30])

    def __str__(self) -> str:
        return f"step {self.step} ({self.kind}): {self.field} differs\n{self.diff}"


class ReplayStopped(Exception):
    """Raised inside the agent's run to stop it at a divergence."""

    def __init__(self, divergence: Divergence) -> None:
        super().__init__(str(divergence))
        self.divergence = divergence


class ReplayedError(RuntimeError):
    """A recorded tool or model error, raised again during a replay."""


def recorded_error(text: str) -> Exception:
    """The exception to raise for a recorded ``"Type: message"`` error text.

    A built-in exception type is raised as itself (so ``except ZeroDivisionError``
    still catches it); any other type as :class:`ReplayedError` carrying the text.
    """
    name, sep, message = text.partition(": ")
    found = getattr(builtins, name, None) if sep else None
    if isinstance(found, type) and issubclass(found, Exception):
        with contextlib.suppress(Exception):
            return found(message)
    return ReplayedError(text)


def _pretty(value: Any) -> list[str]:
    return json.dumps(value, indent=1, sort_keys=True, default=str).splitlines()


def normalize(value: Any) -> Any:
    """Return ``value`` as the recording stores it (JSON types)."""
    return _jsonsafe.loads(_jsonsafe.dumps(value))


def _tool_names(tools: Any) -> list[str]:
    if not isinstance(tools, list):
        return []
    names = (
        t.get("name") or (t.get("toolSpec") or t.get("function") or {}).get("name")
        for t in tools
        if isinstance(t, dict)
    )
    return sorted(str(n) for n in names)


def _plain(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    body = message.get("data")
    if set(message) == {"type", "data"} and isinstance(body, dict):  # a LangChain message
        plain = {"role": message["type"], "content": body.get("content")}
        calls = body.get("tool_calls")
        if isinstance(calls, list) and calls:
            plain["tool_calls"] = [
                {"name": c.get("name"), "args": c.get("args")} if isinstance(c, dict) else c
                for c in calls
            ]
        return plain
    return {"role": message.get("role"), "content": message.get("content")}


def plain_messages(messages: Any) -> Any:
    """Messages as role and content only (frameworks add ids and metadata of their own).

    A LangChain message (``{"type", "data"}``) keeps its type as role, its content, and
    the names and arguments of its tool calls.
    """
    if not isinstance(messages, list):
        return messages
    return [_plain(m) for m in messages]


def has_pickle(value: Any) -> bool:
    """Whether ``value`` holds a pickled object tag."""
    if isinstance(value, list):
        return any(has_pickle(v) for v in value)
    if isinstance(value, dict):
        if value.get(_jsonsafe.TAG) == "pickle":
            return True
        return any(has_pickle(v) for v in value.values())
    return False


class Player:
    """Serves ``steps`` in order, then lets the rest run live.

    Steps after ``until`` (and after a divergence in ``"live"`` mode) run live.

    Args:
        steps: The recorded steps.
        until: The last step served from the record (``None``: all).
        override: Replaces what step ``until`` returns.
        on_divergence: ``"stop"`` or ``"live"``.
        allow_pickle: Serve results that were recorded as pickles.
        redactor: Applied to a live HTTP request before it is compared with the
            record (which was redacted when recorded).
        unrecorded_http: The session's HTTP exchanges recorded without bodies.
    """

    def __init__(
        self,
        steps: list[Step],
        *,
        until: int | None = None,
        override: Any = None,
        on_divergence: OnDivergence = "stop",
        allow_pickle: bool = False,
        redactor: ValueRedactor | None = None,
        unrecorded_http: Sequence[str] = (),
    ) -> None:
        self.steps = steps
        self.redactor = redactor
        self.unrecorded_http = list(unrecorded_http)
        self.fatal: Exception | None = None
        self.until = len(steps) if until is None else until
        self.override = override
        self.on_divergence = on_divergence
        self.allow_pickle = allow_pickle
        self.cursor = 0
        self.replayed = 0
        self.live_count = 0
        self.divergence: Divergence | None = None
        self.listener: Callable[[Step], None] | None = None

    @property
    def live(self) -> bool:
        """Whether the run has gone live (past ``until`` or past a divergence)."""
        return self.cursor >= self.until or self.divergence is not None

    def take(self, kind: str, name: str, request: Any) -> Step | None:
        """Return the recorded step to serve for this call, or ``None`` to run it live.

        Raises:
            ReplayStopped: The call differs from the record (``on_divergence="stop"``).
        """
        if _hook.INSIDE_LIVE_STEP.get():
            return None  # made by a step running live: part of that step
        if self.divergence is not None and self.on_divergence == "stop":
            raise ReplayStopped(self.divergence)
        if self.live:
            self.live_count += 1
            return None
        step = self.steps[self.cursor] if self.cursor < len(self.steps) else None
        if kind == "http":
            request = self._redacted(request)
            if self.unrecorded_http and (step is None or step.kind != "http"):
                self._fail(self._no_bodies(name))
        found = self._compare(step, kind, name, request)
        if found is not None:
            self.divergence = found
            if self.on_divergence == "stop":
                raise ReplayStopped(found)
            self.live_count += 1
            return None
        assert step is not None
        self.cursor += 1
        self.replayed += 1
        if step.number == self.until and self.override is not None:
            step = dataclasses.replace(step, response=self.override, error=None)
        self._check_pickle(step)
        self._check_http(step)
        if self.listener is not None:
            self.listener(step)
        return step

    def serve(self, kind: str, name: str, request: Any) -> Any:
        """Return the recorded response of a decorated call, or :data:`LIVE`.

        Raises:
            ReplayedError: The step recorded an error.
            ReplayStopped: The call differs from the record.
        """
        step = self.take(kind, name, request)
        if step is None:
            return LIVE
        if step.error is not None:
            raise recorded_error(step.error)
        return _jsonsafe.restore(step.response, allow_pickle=self.allow_pickle)

    def finish(self) -> Divergence | None:
        """After the run: a recorded step the agent never asked for is a divergence."""
        if self.divergence is None and self.cursor < self.until:
            step = self.steps[self.cursor]
            self.divergence = Divergence(step.number, step.kind, "extra", step.name, None)
        return self.divergence

    def _redacted(self, request: Any) -> Any:
        return request if self.redactor is None else self.redactor.redact_value(request)

    def _fail(self, error: Exception) -> NoReturn:
        """Raise ``error`` and keep it, so the replay reports it even if the agent catches it."""
        self.fatal = error
        raise error

    def _no_bodies(self, name: str) -> ValueError:
        return ValueError(
            f"step {self.cursor + 1}: the agent sends HTTP request {name}, but this session's "
            f"HTTP exchanges (first: {self.unrecorded_http[0]}) were recorded without their "
            "bodies (DEVDUCK_CAPTURE_HTTP_BODIES was off), so replay cannot serve them; "
            "record again with DEVDUCK_CAPTURE_HTTP_BODIES=true"
        )

    def _check_http(self, step: Step) -> None:
        if step.kind != "http" or step.error is not None:
            return
        reason = servable(step.response) if isinstance(step.response, dict) else "no response"
        if reason is not None:
            self._fail(
                ValueError(f"step {step.number} (http {step.name}) cannot be served: {reason}")
            )

    def _check_pickle(self, step: Step) -> None:
        if not self.allow_pickle and has_pickle(step.response):
            raise ValueError(
                f"step {step.number} ({step.kind} {step.name}) returns a pickled object; "
                "replay with allow_pickle=True to serve it (a pickle is code)"
            )

    def _compare(self, step: Step | None, kind: str, name: str, request: Any) -> Divergence | None:
        number = self.cursor + 1
        if step is None:
            return Divergence(number, kind, "missing", None, {"name": name, "request": request})
        if step.kind != kind or (kind != "http" and step.name != name):
            return Divergence(
                number, step.kind, "name", f"{step.kind} {step.name}", f"{kind} {name}"
            )
        now = normalize(request)
        if kind == "http":
            return _compare_http(number, step.request, now)
        if kind == "tool":
            return (
                None if now == step.request else Divergence(number, kind, "args", step.request, now)
            )
        recorded = step.request if isinstance(step.request, dict) else {}
        now = now if isinstance(now, dict) else {}
        for key in sorted(now):  # what this caller asks; the record may hold more
            old, new = recorded.get(key), now.get(key)
            if key == "tools":
                old, new = _tool_names(old), _tool_names(new)
            elif key == "messages":
                old, new = plain_messages(old), plain_messages(new)
            if old != new:
                field = key if key in _MODEL_FIELDS else "args"
                return Divergence(number, kind, field, old, new)
        return None


def _compare_http(number: int, recorded: Any, now: Any) -> Divergence | None:
    """Method, URL and body (JSON as JSON; headers are not compared: they hold trace ids)."""
    recorded = recorded if isinstance(recorded, dict) else {}
    now = now if isinstance(now, dict) else {}
    for field in _HTTP_FIELDS:
        if recorded.get(field) != now.get(field):
            return Divergence(number, "http", field, recorded.get(field), now.get(field))
    return None
