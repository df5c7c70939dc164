"""The journal's files: appends that never leave a torn line, and the span lines.

A write that fails (a full disk) is cut back to the last whole line and kept in
memory; the next flush writes it again, so a disk that fills and frees loses nothing.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson
from opentelemetry.sdk.trace import ReadableSpan

from devduck_otel_exporter_zip import schema as F
from devduck_otel_exporter_zip._otlpjson import resource_json, scope_json, span_json
from devduck_otel_exporter_zip._records import SpanRecord

if TYPE_CHECKING:
    from devduck_otel_exporter_zip._redacting import Redacting

logger = logging.getLogger("devduck_otel_exporter_zip")


class JournalError(ValueError):
    """A journal on disk is hostile or broken; the message is one line."""


_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def open_regular(path: Path, limit: int | None = None) -> BinaryIO | None:
    """Open a journal file for reading: never through a symlink, only a regular file.

    The checks run on the opened descriptor (``O_NOFOLLOW``, then ``fstat``), so a
    file swapped for a link or a device after an earlier check is still refused.
    ``O_NONBLOCK`` keeps a FIFO from blocking the open.

    Args:
        path: The journal file.
        limit: Largest size accepted, in bytes (``None``: any).

    Returns:
        The open file, or ``None`` when nothing is at ``path``.

    Raises:
        JournalError: ``path`` is a symlink, not a regular file, or over ``limit``.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise JournalError(f"{path} is a symlink; refusing to follow it") from None
        raise
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = f"{path} is not a regular file"
    elif limit is not None and info.st_size > limit:
        problem = f"{path} is {info.st_size} bytes, over the limit of {limit}"
    if problem is not None:
        os.close(fd)
        raise JournalError(problem)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def write_json_atomic(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON to ``path`` through a temp file and rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)


def append_once(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` with one ``O_APPEND`` write (created when absent)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class JournalFiles:
    """The append-only files of one journal directory (unbuffered, whole lines only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fds: dict[str, int] = {
            name: os.open(path / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            for name in F.JOURNAL_FILES
        }
        self._waiting: dict[str, list[bytes]] = {name: [] for name in F.JOURNAL_FILES}
        self._torn: set[str] = set()
        self._resources: dict[int, tuple[int, object]] = {}
        self._pairs: dict[tuple[int, int], tuple[int, int, object, object]] = {}
        self._scopes: dict[tuple[str, str | None], int] = {}

    def append(self, name: str, lines: list[bytes]) -> None:
        """Queue whole lines for ``name``; :meth:`flush` writes them."""
        self._waiting[name].extend(lines)

    def flush(self) -> None:
        """Write every queued line; on failure cut the file back and keep the lines."""
        for name, lines in self._waiting.items():
            if lines:
                self._write(name, lines)

    def _write(self, name: str, lines: list[bytes]) -> None:
        fd = self._fds.get(name)
        if fd is None:
            return
        # After a cut-back that failed, a newline first ends the torn bytes: they become
        # one broken line of their own, and the lines written now stay whole.
        data = b"\n" * (name in self._torn) + b"\n".join(lines) + b"\n"
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            try:
                os.ftruncate(fd, start)
            except OSError as exc:
                self._torn.add(name)
                logger.debug("devduck-otel: could not cut back %s: %r", name, exc)
            raise
        self._torn.discard(name)
        lines.clear()

    def span_lines(self, spans: list[SpanRecord], redacting: Redacting) -> list[bytes]:
        """Encode ended spans as journal lines: ``<resource> <scope> <OTLP JSON span>``.

        A resource or scope is written once, as ``R <n> <json>`` or ``S <n> <json>``.
        """
        out: list[bytes] = []
        pairs = self._pairs
        for record, encoded in zip(spans, encoded_spans(spans, redacting), strict=True):
            span = record.span
            pair = pairs.get((id(span.resource), id(span.instrumentation_scope)))
            if pair is None:
                pair = self._new_pair(span, redacting, out)
            out.append(b"%d %d %b" % (pair[0], pair[1], encoded))
        return out

    def _new_pair(
        self, span: ReadableSpan, redacting: Redacting, out: list[bytes]
    ) -> tuple[int, int, object, object]:
        """The resource and scope numbers of a span, written first when new.

        Kept per pair of objects, which the entry holds so that their ids stay theirs.
        """
        known = self._resources.get(id(span.resource))
        if known is None:
            resource = len(self._resources)
            self._resources[id(span.resource)] = (resource, span.resource)
            out.append(b"R %d %b" % (resource, redacting.resource(resource_json(span))))
        else:
            resource = known[0]
        scope_key = (
            span.instrumentation_scope.name if span.instrumentation_scope else "",
            span.instrumentation_scope.version if span.instrumentation_scope else None,
        )
        scope = self._scopes.get(scope_key)
        if scope is None:
            scope = self._scopes[scope_key] = len(self._scopes)
            out.append(b"S %d %b" % (scope, scope_json(span)))
        pair = (resource, scope, span.resource, span.instrumentation_scope)
        self._pairs[(id(span.resource), id(span.instrumentation_scope))] = pair
        return pair

    def close(self, *, sync: bool) -> Exception | None:
        """Write what waits, fsync (when ``sync``) and close; return the first error."""
        error: Exception | None = None
        if sync:
            try:
                self.flush()
            except OSError as exc:
                error = exc
        for fd in self._fds.values():
            try:
                if sync and error is None:
                    os.fsync(fd)
                os.close(fd)
            except OSError as exc:
                error = error or exc
        self._fds = {}
        return error

    def forget(self) -> None:
        """Drop what waits and close the descriptors without writing (after a fork)."""
        self._waiting = {name: [] for name in F.JOURNAL_FILES}
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = {}


def encoded_spans(spans: list[SpanRecord], redacting: Redacting) -> list[bytes]:
    """Each span as ``Redacting.span_bytes`` gives it, with one secret scan for the batch.

    A span that carries a snapshot payload or an attribute under a secret key goes
    through ``span_bytes``; so does every span of a batch whose text may hold a
    secret. The batch is tested on what a span holds that could be a secret (its
    name, attribute keys and values, event names and attributes, status message),
    not on its OTLP JSON, whose ``{"key": ...}`` pairs would each make the scanner
    judge a name already judged by ``is_secret_key``.
    """
    redactor = redacting.redactor
    if redactor is None:
        return [redacting.span_bytes(record) for record in spans]
    plain = [record for record in spans if not redacting.special_keys(record)]
    if plain and redactor.may_contain_secret(orjson.dumps(list(map(_scanned, plain)), default=str)):
        plain = []
    clean = {id(record) for record in plain}
    return [
        span_json(record) if id(record) in clean else redacting.span_bytes(record)
        for record in spans
    ]


def _scanned(record: SpanRecord) -> tuple[Any, ...]:
    """What of a span is scanned for secrets (attributes as pairs, not as JSON keys)."""
    events = [(e.name, tuple((e.attributes or {}).items())) for e in record.events]
    return (record.name, tuple(record.attributes.items()), events, record.status.description)


def iter_lines(path: Path) -> Iterator[bytes]:
    """Yield the complete lines of a journal file; a torn last line is skipped."""
    handle = open_regular(path)
    if handle is None:
        return
    with handle:
        for line in handle:
            if not line.endswith(b"\n"):
                logger.warning("devduck-otel: skipped a torn last line in %s", path)
                return
            line = line.rstrip(b"\n")
            if line:
                yield line


def load_json_lines(path: Path) -> list[Any]:
    """Parse a journal file of JSON lines; broken lines are skipped with a warning."""
    out = []
    for line in iter_lines(path):
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            logger.warning("devduck-otel: skipped a broken line in %s", path)
    return out
