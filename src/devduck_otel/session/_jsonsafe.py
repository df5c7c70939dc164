"""Lossless JSON for agent data: bytes and non-JSON objects survive a round trip.

``dumps`` tags what JSON cannot hold; ``restore`` turns the tags back into values.
Pickled objects are only restored with ``allow_pickle=True``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import enum
import functools
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

import dill
import orjson

TAG: Final = "__devduck__"
_OPTIONS: Final = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


Pickler = Callable[[Any], bytes]


def _default(value: Any, pickler: Pickler = dill.dumps) -> Any:
    try:
        return _tagged(value, pickler)
    except Exception as exc:  # a hostile __getattr__: keep a placeholder saying why
        return placeholder(value, f"encoding it raised {error_text(exc)}")


def placeholder(value: Any, reason: str) -> dict[str, str]:
    """Return the tag recorded for a value that cannot be encoded, saying why."""
    return {TAG: "repr", "repr": safe_repr(value), "reason": reason}


def _tagged(value: Any, pickler: Pickler) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, enum.Enum)):
        return str(value.value if isinstance(value, enum.Enum) else value)
    as_dict = getattr(value, "model_dump", None) or getattr(value, "to_dict", None)
    if callable(as_dict):
        with contextlib.suppress(Exception):  # fall through to a pickle of the object
            return as_dict()
    return _pickle_tag(value, pickler)


def _pickle_tag(value: Any, pickler: Pickler) -> dict[str, str]:
    text = safe_repr(value)
    try:
        blob = pickler(value)
    except Exception:  # anything dill cannot carry is kept as its repr
        return {TAG: "repr", "repr": text}
    return {TAG: "pickle", "dill": base64.b64encode(blob).decode("ascii"), "repr": text}


def safe_repr(value: Any, limit: int = 500) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters; never raises."""
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not break recording
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def error_text(error: BaseException) -> str:
    """Return ``"Type: message"`` for an exception; never raises, even if its ``__str__`` does."""
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:  # a broken __str__ must not replace the user's exception
        return f"{type(error).__name__}: <str() failed>"


@functools.lru_cache(maxsize=16)
def _default_for(pickler: Pickler) -> Callable[[Any], Any]:
    return functools.partial(_default, pickler=pickler)


def dumps(value: Any, pickler: Pickler | None = None) -> bytes:
    """Serialize ``value`` to compact JSON bytes, tagging what JSON cannot hold.

    Args:
        value: Any value.
        pickler: Serializes objects JSON cannot hold (the redactor's ``dill_dumps``
            while recording, so that pickled values carry no secrets); ``dill.dumps``
            by default.

    Returns:
        The JSON bytes.
    """
    default = _default if pickler is None else _default_for(pickler)
    try:
        return orjson.dumps(value, default=default, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        # Keys orjson refuses, integers over 64 bits, recursion, lone surrogates: lossy view.
        return orjson.dumps(_plain(value, 0), default=default, option=_OPTIONS)
    except Exception as exc:  # never drop the call: record why it could not be encoded
        return orjson.dumps(placeholder(value, f"cannot be encoded: {error_text(exc)}"))


def _plain(value: Any, depth: int) -> Any:
    if depth > 200:
        return {TAG: "repr", "repr": safe_repr(value)}
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        return {_key(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return str(value)
    return value


def _text(value: str) -> Any:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a surrogate-escaped filename, say
        return placeholder(value, "text with a lone surrogate is not valid UTF-8")
    return value


def _key(key: Any) -> str:
    try:
        text = key if isinstance(key, str) else str(key)
    except Exception:  # a key whose __str__ raises
        text = safe_repr(key)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def loads(data: bytes | str) -> Any:
    """Parse JSON; accepts the ``NaN`` and ``Infinity`` older recorders wrote."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        import json

        return json.loads(data)


def restore(value: Any, *, allow_pickle: bool = False) -> Any:
    """Turn tagged values back into bytes (and objects, when pickles are allowed)."""
    if isinstance(value, list):
        return [restore(v, allow_pickle=allow_pickle) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag == "bytes" and isinstance(value.get("base64"), str):
        return base64.b64decode(value["base64"])
    if tag == "pickle" and allow_pickle and isinstance(value.get("dill"), str):
        return dill.loads(base64.b64decode(value["dill"]))
    return {k: restore(v, allow_pickle=allow_pickle) for k, v in value.items()}
