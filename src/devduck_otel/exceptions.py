"""Errors raised by devduck-otel.

Every error the package raises on purpose derives from :class:`DevduckError`, and
also from the built-in error a caller would naturally catch (``ValueError`` for bad
data, ``OSError`` for missing files, ``RuntimeError`` for a call at the wrong time).

Example:
    >>> import devduck_otel
    >>> try:
    ...     devduck_otel.load_session("missing.zip")
    ... except devduck_otel.exceptions.SessionNotFoundError as exc:
    ...     print("cannot open:", exc)
    cannot open: ...
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DevduckError",
    "RecordingStateError",
    "RedactedSnapshotWarning",
    "SessionFormatError",
    "SessionNotFoundError",
    "UnsafeSessionError",
]


class DevduckError(Exception):
    """Base class of every error devduck-otel raises on purpose."""


class ConfigurationError(DevduckError, ValueError):
    """A ``DEVDUCK_*`` setting is unsafe to run with (a blank signing key, say)."""


class SessionNotFoundError(DevduckError, FileNotFoundError):
    """A session file or journal does not exist."""


class SessionFormatError(DevduckError, ValueError):
    """A session ZIP or journal is broken, hostile, or of an unknown format."""


class UnsafeSessionError(SessionFormatError):
    """A pickle was refused: not allowed, unsigned, or its signature does not match."""


class RecordingStateError(DevduckError, RuntimeError):
    """A call that needs a recording (or none) came at the wrong time."""


class RedactedSnapshotWarning(UserWarning):
    """A resumed snapshot had secrets redacted: the agent gets ``[REDACTED]`` in places.

    The message names each JSON path and rule (never a value); the same list is in the
    ``redactions`` of what ``resume_from_snapshot`` returns.
    """
