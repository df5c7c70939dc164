"""Dill-serializing agent state with the redaction rules applied on the way.

A dill blob cannot be redacted afterwards (its strings sit in opcodes), so the
pickler redacts as it goes: every string through ``redact_text``, and every dict
entry under a secret key (object attributes are dicts too: ``self.api_key``) through
the key rules. The blob still loads; the secrets it held read ``[REDACTED]``.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import Any, Protocol

import dill

__all__ = ["dill_dumps_redacted"]


class _Rules(Protocol):
    def is_secret_key(self, name: str) -> bool: ...
    def redact_text(self, text: str) -> str: ...


class _RedactingPickler(dill.Pickler):  # type: ignore[misc]
    """A dill Pickler that writes redacted strings and dict values."""

    dispatch = dill.Pickler.dispatch.copy()

    def __init__(self, file: io.BytesIO, rules: _Rules, under_secret: Callable[[Any], Any]) -> None:
        super().__init__(file)
        self.rules = rules
        self.under_secret = under_secret
        # id(original dict) -> (original, redacted copy): one copy per dict, kept alive
        # so that ids stay unique and shared or cyclic references stay shared.
        self.copies: dict[int, tuple[Any, dict[Any, Any]]] = {}
        self.redacted = 0  # strings and values changed: a snapshot lists that it happened


_STOCK_SAVE_STR = dill.Pickler.dispatch[str]
_STOCK_SAVE_DICT = dill.Pickler.dispatch[dict]
_STOCK_SAVE_BYTES = dill.Pickler.dispatch[bytes]


def _save_str(pickler: _RedactingPickler, obj: str) -> None:
    clean = pickler.rules.redact_text(obj)
    pickler.redacted += clean is not obj
    _STOCK_SAVE_STR(pickler, clean)


def _save_bytes(pickler: _RedactingPickler, obj: bytes) -> None:
    """Bytes that decode as UTF-8 are redacted as text (``b"TOKEN=..."``), and stay bytes."""
    try:
        text = obj.decode("utf-8")
    except UnicodeDecodeError:
        _STOCK_SAVE_BYTES(pickler, obj)
        return
    clean = pickler.rules.redact_text(text)
    if clean is text:
        _STOCK_SAVE_BYTES(pickler, obj)
        return
    pickler.redacted += 1
    _STOCK_SAVE_BYTES(pickler, clean.encode("utf-8"))


def _is_module_dict(obj: dict[Any, Any]) -> bool:
    """A module's globals: dill pickles them by reference, so they must stay as they are."""
    name = obj.get("__name__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    return module is not None and getattr(module, "__dict__", None) is obj


def _save_dict(pickler: _RedactingPickler, obj: dict[Any, Any]) -> None:
    rules = pickler.rules
    if not _is_module_dict(obj) and any(
        isinstance(key, str) and rules.is_secret_key(key) for key in obj
    ):
        known = pickler.copies.get(id(obj))
        if known is None:
            copy = {
                key: (
                    pickler.under_secret(value)
                    if isinstance(key, str) and rules.is_secret_key(key)
                    else value
                )
                for key, value in obj.items()
            }
            pickler.redacted += sum(copy[key] is not value for key, value in obj.items())
            pickler.copies[id(obj)] = (obj, copy)
        else:
            copy = known[1]
            memo = pickler.memo.get(id(copy))
            if memo is not None:
                pickler.write(pickler.get(memo[0]))
                return
        obj = copy
    _STOCK_SAVE_DICT(pickler, obj)


_RedactingPickler.dispatch[str] = _save_str
_RedactingPickler.dispatch[dict] = _save_dict
_RedactingPickler.dispatch[bytes] = _save_bytes


def dill_dumps_redacted(
    obj: Any, rules: _Rules, under_secret: Callable[[Any], Any]
) -> tuple[bytes, int]:
    """Dill-serialize ``obj`` with secrets redacted; say how many values were changed.

    Args:
        obj: Any object dill can serialize.
        rules: The redaction rules (a ``Redactor``).
        under_secret: Redacts a value found under a secret key.

    Returns:
        The dill bytes, and the number of strings and values redacted.
    """
    buffer = io.BytesIO()
    pickler = _RedactingPickler(buffer, rules, under_secret)
    pickler.dump(obj)
    return buffer.getvalue(), pickler.redacted
