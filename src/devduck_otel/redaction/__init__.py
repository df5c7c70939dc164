"""Redaction: one :class:`Redactor` for the session ZIP and for every collector."""

from __future__ import annotations

from devduck_otel.redaction._redactor import Redactor

__all__ = ["Redactor"]
