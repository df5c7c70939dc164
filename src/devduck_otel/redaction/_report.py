"""Where redaction changed a document: JSON paths and rule names, never the values.

A snapshot lists its redactions so that whoever resumes it knows which parts of the
messages and system prompt differ from what the agent had. The list is made by
walking the value before and after :meth:`Redactor.redact_value` side by side:
redaction copies only what it changes, so unchanged subtrees are the same objects
and the walk skips them at once.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any, Final

from devduck_otel.session._jsonsafe import TAG

__all__ = ["json_path", "list_redactions"]

_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _b64_text(value: Any) -> str:
    try:
        return base64.b64decode(str(value)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


SECRET_NAME: Final = "secret-name"  # noqa: S105 (a rule name)
SECRET_AS_KEY: Final = "secret-used-as-key"  # noqa: S105 (a rule name)


def json_path(parent: str, step: str | int) -> str:
    """Append one step to a JSONPath: ``$.a``, ``$.a[2]``, ``$["x-api-key"]``.

    Args:
        parent: The path so far (``$`` for the root).
        step: A dict key or a list index.
    """
    if isinstance(step, int):
        return f"{parent}[{step}]"
    if _IDENTIFIER.fullmatch(step):
        return f"{parent}.{step}"
    escaped = step.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{escaped}"]'


class _Walk:
    def __init__(
        self, is_secret: Callable[[str], bool], rule_names: Callable[[str], list[str]]
    ) -> None:
        self.is_secret = is_secret
        self.rule_names = rule_names
        self.out: list[dict[str, str]] = []

    def add(self, path: str, rule: str) -> None:
        self.out.append({"path": path, "rule": rule})

    def value(self, before: Any, after: Any, path: str, secret: bool) -> None:
        if after is before:
            return
        if isinstance(before, (str, bytes, bytearray)):
            self.leaf(before, path, secret)
        elif isinstance(before, dict) and before.get(TAG) == "bytes":
            self.leaf(_b64_text(before.get("base64")), path, secret)
        elif isinstance(before, dict) and isinstance(after, dict):
            self.mapping(before, after, path, secret)
        elif isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
            for index, (old, new) in enumerate(zip(before, after, strict=False)):
                self.value(old, new, json_path(path, index), secret)

    def leaf(self, before: str | bytes | bytearray, path: str, secret: bool) -> None:
        if not isinstance(before, str):
            before = bytes(before).decode("utf-8", "replace")
        names = [] if secret else self.rule_names(before)
        for name in names or [SECRET_NAME]:
            self.add(path, name)

    def mapping(
        self, before: dict[Any, Any], after: dict[Any, Any], path: str, secret: bool
    ) -> None:
        # The same judgement as ``Redactor._dict``: an OTLP pair by its ``key``.
        pair_name = before.get("key")
        pair = isinstance(pair_name, str)
        pair_secret = isinstance(pair_name, str) and self.is_secret(pair_name)
        for (key, old), (new_key, new) in zip(before.items(), after.items(), strict=False):
            here = json_path(path, str(new_key))
            if new_key != key:
                self.add(here, SECRET_AS_KEY)
            under = secret or (
                not (pair and key == "key")
                and (
                    (isinstance(key, str) and self.is_secret(key))
                    or (pair_secret and key == "value")
                )
            )
            self.value(old, new, here, under)


def list_redactions(
    is_secret: Callable[[str], bool],
    rule_names: Callable[[str], list[str]],
    before: Any,
    after: Any,
    root: str = "$",
) -> list[dict[str, str]]:
    """List where ``after`` (a redacted copy) differs from ``before``.

    Args:
        is_secret: Judges a key name.
        rule_names: Names the rules that find something in a string.
        before: The original value.
        after: Its redacted copy (:meth:`Redactor.redact_value`).
        root: The JSON path of ``before``.

    Returns:
        ``{"path", "rule"}`` dicts, in document order.
    """
    walk = _Walk(is_secret, rule_names)
    walk.value(before, after, root, False)
    return walk.out
