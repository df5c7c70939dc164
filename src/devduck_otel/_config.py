"""Configuration: explicit argument, then environment variable, then default.

A malformed environment value logs one warning naming the variable and falls back
to the default; a malformed explicit argument raises ``TypeError``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields
from typing import Any

from opentelemetry.sdk.environment_variables import OTEL_SDK_DISABLED

from devduck_otel.environment_variables import (
    DEVDUCK_SYS_LAYER,
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
)

logger = logging.getLogger("devduck_otel")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable; a bad value warns and gives ``default``."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    logger.warning(
        "devduck-otel: %s=%r is not true or false; using %s", name, raw, str(default).lower()
    )
    return default


def env_int(name: str, default: int) -> int:
    """Read a positive integer environment variable; a bad value warns and gives ``default``."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value > 0:
        return value
    logger.warning(
        "devduck-otel: %s=%r is not a positive whole number; using %d", name, raw, default
    )
    return default


def sdk_disabled() -> bool:
    """Whether ``OTEL_SDK_DISABLED`` turns OpenTelemetry (and so recording) off."""
    return env_bool(OTEL_SDK_DISABLED, False)


@dataclass(frozen=True)
class RecorderConfig:
    """Resolved settings of one recording.

    Attributes:
        capture_content: Send message and tool content to collectors
            (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, default false).
            The session ZIP always keeps content, redacted.
        sys_layer: Capture file opens, processes and HTTP (``DEVDUCK_SYS_LAYER``,
            default true).
    """

    capture_content: bool = False
    sys_layer: bool = True

    @classmethod
    def resolve(cls, **explicit: Any) -> RecorderConfig:
        """Build the config from explicit values (``None`` = not set), env vars, defaults."""
        env = {
            "capture_content": OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
            "sys_layer": DEVDUCK_SYS_LAYER,
        }
        values: dict[str, bool] = {}
        for f in fields(cls):
            given = explicit.get(f.name)
            if given is None:
                values[f.name] = env_bool(env[f.name], bool(f.default))
            elif isinstance(given, bool):
                values[f.name] = given
            else:
                raise TypeError(f"{f.name} must be a bool, not {type(given).__name__}")
        return cls(**values)
