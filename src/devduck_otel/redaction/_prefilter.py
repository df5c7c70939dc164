r"""One linear-time test that clean text holds nothing the scanner could redact.

Almost every text an agent produces holds no secret. Before the scanner's precise
passes (several regexes, then Python for each candidate), one RE2 automaton reads the
text once and answers whether any *trigger* occurs:

* a secret name fragment (``key``, ``token``, ``password``...) followed by the rest of
  a name and a ``:`` or ``=`` (in every quoting the scanner knows), or by
  ``","value"`` (an OTLP attribute pair);
* the fixed prefix of a secret-shaped value (``eyJ...\.eyJ``, ``AKIA``, ``ghp_``,
  ``sk-``, ``Bearer`` and a token...);
* a URL (``://``) whose rest holds ``@``, ``%`` or a secret parameter word;
* bytes carried as base64 in JSON (``"__devduck__":"bytes"``, OTLP's
  ``"bytesValue"``): they are decoded and, when they are text, scanned.

Each trigger is implied by every finding of the scanner, so "no trigger" proves the
text clean; a trigger only means the precise scan must run. RE2 runs a DFA: the time
is linear in the text whatever its shape (URL lists, comma runs, base64), with no
backtracking, at C speed, and case-insensitivity costs nothing (no ``lower()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import re2

__all__ = ["Prefilter"]

NAME_FRAGMENTS: Final = (
    "key|token|cookie|pass|pwd|private|secret|credential|csrf|conn_str|connection_str"
    "|auth|_url|session|sessid|dsn|xsrf|bearer|jwt"
)
"""What ``_scan._FRAGMENT_SOURCES`` finds, spelled out (RE2 has no look-behind)."""

_SEPARATOR: Final = r"""[a-z0-9_.\-]*(?:[:=]|\\*["'][ \t]*[:=]|[ \t]+[:=]|","value")"""
_VALUE_PREFIXES: Final = (
    r"eyJ[A-Za-z0-9_\-]{6,}\.eyJ",
    r"A(?:KIA|SIA)[A-Z0-9]{16}",
    r"AIza[0-9A-Za-z_\-]{35}",
    r"gh[pousr]_[A-Za-z0-9]{30}",
    r"github_pat_[A-Za-z0-9_]{30}",
    r"hf_[A-Za-z0-9]{30}",
    r"[sr]k_(?:live|test)_[A-Za-z0-9]{16}",
    r"sk-(?:proj|ant|svcacct|admin)-[A-Za-z0-9_\-]{20}",
    r"sk-[A-Za-z0-9]{20}",
    r"xox[baprse]-[0-9A-Za-z\-]{10}",
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY",
    r"(?i:bearer|basic)[ \t]+[A-Za-z0-9\-._~+/]{8}",
)
_URL_WORDS: Final = (
    "key|token|secret|pass|pwd|auth|credential|cookie|sess|private|dsn|csrf|xsrf|jwt"
    "|bearer|sig|code|_url"
)
"""Must hold every word of ``_scan._URL_PARAM_WORDS``."""


def _options() -> re2.Options:
    options = re2.Options()
    options.never_capture = True
    # One character a byte: a UTF-8 sequence reads as high characters, which no
    # pattern character matches but the "rest of a URL" class (so, a superset).
    options.encoding = re2.Options.Encoding.LATIN1
    return options


class Prefilter:
    """Answers, in one linear pass, whether a text may hold anything to redact.

    Args:
        extra_names: The user's extra secret name fragments (``DEVDUCK_REDACT_KEYS``),
            lowercase; they trigger like the built-in fragments.
        always: Every text may hold a secret (the user gave patterns of their own,
            which only the scanner can run).
    """

    __slots__ = ("_always", "_regex")

    def __init__(self, extra_names: Sequence[str], *, always: bool) -> None:
        names = "|".join([NAME_FRAGMENTS, *(re2.escape(n) for n in extra_names)])
        url_words = "|".join([_URL_WORDS, *(re2.escape(n) for n in extra_names)])
        source = "|".join(
            [
                rf"(?i:(?:{names}){_SEPARATOR})",
                *_VALUE_PREFIXES,
                r"://[^\s\"'<>\\/?#]*@",
                # Bytes as base64 (lossless JSON, OTLP JSON): only decoded can they be read.
                r'"__devduck__":"bytes"|"bytesValue"',
                rf"(?i:://[^\s\"'<>\\]*(?:%|{url_words}))",
            ]
        )
        self._always = always
        self._regex = re2.compile(source.encode(), _options())

    def may_match(self, data: str | bytes) -> bool:
        """Return ``False`` only when the scanner surely finds nothing in ``data``.

        Args:
            data: Text, or UTF-8 bytes.
        """
        if self._always:
            return True
        if isinstance(data, str):
            # Bytes skip the wrapper's work of mapping byte offsets back to characters.
            data = data.encode("utf-8", "surrogatepass")
        return self._regex.search(data) is not None
