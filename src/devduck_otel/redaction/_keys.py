"""Which names (env vars, headers, JSON keys, query parameters) hold secrets.

A name is split into lowercase words (``aws_secret_access_key`` -> aws, secret,
access, key; ``apiKey`` -> api, key) and is secret when a word contains one of the
fragments below. The decisions, pinned by ``tests/test_redact.py``:

* Fragments: key, secret, token, pass (password, passwd, passphrase), pwd, credential,
  auth (authorization, oauth), cookie, session, sessid, private, dsn, csrf, xsrf, jwt,
  bearer; across words database_url, db_url, connection_string, conn_str.
* Ordinary words that merely contain a fragment are not secret: monkey, donkey,
  turkey, hockey, jockey, whiskey, keyboard, keyword, keynote, keystroke, keypad,
  keyframe, passenger, passage, passive, passed, passing, compass, bypass, author,
  authority, authored, authorship, tokenizer, tokenize, tokenization, secretary
  (and their plurals). A compound that is one word (``monkeypatch``) is redacted:
  we err on redacting.
* A name is judged by its words, not by substrings. A fragment followed by a word
  that describes it (count, len, min, max, limit, retries, timeout, ttl, id, name,
  type, error, turn, size, expiry, ...) names a property of a secret, not a secret:
  ``token_count``, ``password_min_len``, ``auth.retries``, ``NoCredentialsError``,
  ``session_timeout``, ``key_id``.
* Usage counts are not secret: ``tokens`` or ``token`` next to max, input, output,
  total, prompt, completion, cached, reasoning, num, count, usage, remaining, limit,
  context, first, time (``max_tokens``, ``gen_ai.usage.input_tokens``,
  ``time_to_first_token``).
* ``key`` after a word that makes it a data key is not secret: ``primary_key``,
  ``cache_key``, ``public_key``, ``sort_key``, ``foreign_key``...; ``STRIPE_KEY``,
  ``api_key``, ``private_key`` are.
* ``session`` is secret only as the last word (``SESSION``, ``flask_session``) or in
  one word (``sessionid``, ``JSESSIONID``): ``session_id``, ``session.turn`` and
  ``_session_recorder`` are identifiers; ``parent_session`` too.
* ``private`` alone is no secret (``{"private": true}``); ``private_key`` is.
* ``PWD`` and ``OLDPWD`` (the shell's working directory) are not secret;
  ``MYSQL_PWD`` and ``DB_PWD`` are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

__all__ = ["KeyMatcher", "secret_shaped", "split_words"]

WORD_FRAGMENTS: Final = (
    "key",
    "secret",
    "token",
    "pass",
    "pwd",
    "credential",
    "auth",
    "cookie",
    "session",
    "sessid",
    "dsn",
    "csrf",
    "xsrf",
    "jwt",
    "bearer",
)
"""Fragments looked for inside each lowercase word of a name."""

JOINED_FRAGMENTS: Final = ("database_url", "db_url", "connection_string", "conn_str")
"""Fragments looked for across words (words joined by ``_``)."""

_HARMLESS: Final = frozenset(
    {
        "monkey",
        "donkey",
        "turkey",
        "hockey",
        "jockey",
        "whiskey",
        "keyboard",
        "keyword",
        "keynote",
        "keystroke",
        "keypad",
        "keyframe",
        "passenger",
        "passage",
        "passive",
        "passed",
        "passing",
        "compass",
        "bypass",
        "author",
        "authority",
        "authorities",
        "authored",
        "authorship",
        "tokenizer",
        "tokenize",
        "tokenized",
        "tokenization",
        "secretary",
        "secretaries",
    }
)

_COUNT_WORDS: Final = frozenset(
    {
        "max",
        "min",
        "input",
        "output",
        "total",
        "prompt",
        "completion",
        "cached",
        "reasoning",
        "num",
        "count",
        "usage",
        "remaining",
        "limit",
        "context",
        "first",
        "time",
        "per",
        "budget",
    }
)

_QUALIFIERS: Final = frozenset(
    {
        "count",
        "counts",
        "len",
        "length",
        "min",
        "max",
        "limit",
        "limits",
        "retries",
        "retry",
        "attempts",
        "timeout",
        "ttl",
        "id",
        "ids",
        "name",
        "names",
        "type",
        "types",
        "error",
        "errors",
        "exception",
        "turn",
        "turns",
        "size",
        "expiry",
        "expires",
        "expiration",
        "expired",
        "enabled",
        "required",
        "format",
        "prefix",
        "start",
        "stop",
        "duration",
        "interval",
        "age",
        "version",
        "scheme",
        "method",
        "mode",
        "provider",
        "status",
        "level",
        "policy",
        "strategy",
    }
)
"""Words that, after a secret fragment, name a property of the secret, not the secret."""

_DATA_KEY_WORDS: Final = frozenset(
    {
        "primary",
        "cache",
        "public",
        "foreign",
        "sort",
        "partition",
        "dict",
        "map",
        "hash",
        "lookup",
        "idempotency",
        "row",
        "group",
        "unique",
        "composite",
        "index",
        "object",
        "record",
        "item",
        "entry",
        "routing",
        "shard",
        "message",
        "dedup",
        "natural",
        "surrogate",
        "candidate",
        "range",
        "sequence",
        "cluster",
        "state",
        "column",
        "field",
        "config",
        "registry",
        "metadata",
        "label",
        "translation",
        "i18n",
    }
)
"""Words that, before ``key``, make it a data key (``primary_key``), not a secret."""

_SAFE_NAMES: Final = frozenset({"pwd", "oldpwd", "parent_session"})

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def split_words(name: str) -> list[str]:
    """Split a name into lowercase words at separators, case changes and digits."""
    return [w.lower() for w in _WORDS.findall(name)]


def _harmless(word: str) -> bool:
    return word in _HARMLESS or (word.endswith("s") and word[:-1] in _HARMLESS)


def _fragment_counts(fragment: str, index: int, words: list[str]) -> bool:
    """Whether this occurrence of ``fragment`` in ``words[index]`` makes the name secret."""
    word = words[index]
    if any(w in _QUALIFIERS for w in words[index + 1 :]):
        return False
    if fragment == "token" and word in ("token", "tokens"):
        return not any(w in _COUNT_WORDS for w in words)
    if fragment == "key" and word in ("key", "keys"):
        return index == 0 or words[index - 1] not in _DATA_KEY_WORDS
    if fragment == "session" and word == "session":
        return index == len(words) - 1
    return True


def _words_secret(words: list[str]) -> bool:
    for index, word in enumerate(words):
        if _harmless(word):
            continue
        for fragment in WORD_FRAGMENTS:
            if fragment in word and _fragment_counts(fragment, index, words):
                return True
    joined = "_".join(words)
    return any(fragment in joined for fragment in JOINED_FRAGMENTS)


class KeyMatcher:
    """Decides, with a cache, whether a name holds a secret.

    Args:
        extra: Extra case-insensitive fragments; a name containing one (ignoring
            ``_``, ``-``, ``.`` and spaces) is secret.
    """

    def __init__(self, extra: Iterable[str] = ()) -> None:
        extra = tuple(extra)
        self.raw_extra: tuple[str, ...] = tuple(f.strip().lower() for f in extra if f.strip())
        self.extra: tuple[str, ...] = tuple(sorted({_squash(f) for f in extra if _squash(f)}))
        self.is_secret = lru_cache(maxsize=8192)(self._is_secret)

    def _is_secret(self, name: str) -> bool:
        words = split_words(name)
        if "_".join(words) in _SAFE_NAMES:
            return False
        if self.extra:
            squashed = _squash(name)
            if any(fragment in squashed for fragment in self.extra):
                return True
        return _words_secret(words)


def _squash(text: str) -> str:
    return re.sub(r"[\s_.\-]+", "", text.lower())


def secret_shaped(key: str) -> bool:
    """A key that looks like a credential: long, with letters and digits, no spaces."""
    return (
        len(key) >= 20
        and " " not in key
        and any(c.isdigit() for c in key)
        and any(c.isalpha() for c in key)
    )
