"""Parsing the JSON entries of a session: fast JSON lines, snapshot records, messages.

Lines are parsed with orjson in one tight loop per chunk; the first line orjson refuses
sends that chunk to a slower pass, where such a line is retried with :func:`json.loads`
(older recorders wrote ``NaN``) and a line neither accepts is skipped with a warning
naming its number. Parsing runs with the garbage collector paused (see
:func:`gc_paused`): building 100,000 dicts otherwise triggers many useless collections.

Example:
    >>> from devduck_otel.session._loadparse import parse_lines
    >>> parse_lines(b'{"a": 1}' + bytes([10]) + b'{"a": NaN}', "events.jsonl")
    [{'a': 1}, {'a': nan}]
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, Final

import orjson
from devduck_otel_exporter_zip import FORMAT_NAME, FORMAT_VERSION

from devduck_otel.environment_variables import DEVDUCK_LOAD_MAX_EVENTS
from devduck_otel.exceptions import SessionFormatError
from devduck_otel.session import _jsonsafe
from devduck_otel.session._bounded import (
    MAX_EVENTS,
    LineSplitter,
    max_events,
    too_many,
)
from devduck_otel.session._legacy import LEGACY_FORMAT
from devduck_otel.session._zipsafe import MAX_LINE_BYTES, MAX_SMALL_JSON_BYTES, EntrySource

BAD: Final[Any] = object()
"""Placeholder for a line that could not be parsed (keeps row numbers stable)."""

MAX_WARNED_LINES: Final = 5
"""Bad lines warned about one by one per entry; the rest get one summary warning."""

MAX_METADATA_BYTES: Final = 16 * MAX_SMALL_JSON_BYTES
"""Largest ``metadata.json`` read (16 MiB)."""


def warn(message: str) -> None:
    """Emit a :class:`UserWarning` about a skipped part of a session."""
    warnings.warn(message, UserWarning, stacklevel=3)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a session is parsed.

    Parsed JSON holds no reference cycles, yet building 100,000 events would trigger
    many collections that scan them again and again. Afterwards the new objects are
    moved straight to the oldest generation (``gc.freeze()`` then ``gc.unfreeze()``),
    where a loaded session ends up anyway, instead of being scanned once more on the
    next young collection. That step is skipped when the application has frozen
    objects itself (a pre-fork server, say), so its freeze is never undone.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def parse_json(data: bytes) -> Any:
    """Parse one JSON document, accepting ``NaN``; raise ``ValueError`` on anything bad.

    ``json.loads`` may hit the recursion limit on deeply nested input (orjson stops
    at depth 1024 by itself); that is reported as ``ValueError`` too.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


class LineParser:
    """Parses JSON lines fed in chunks, numbering lines across chunks for warnings.

    Each value parsed, or :data:`BAD` for a blank, broken or over-long line, is
    appended to ``values``: one per line, so row numbers stay stable. Lines are cut by
    the bounded reader (:class:`~devduck_otel.session._bounded.LineSplitter`), and
    more than ``max_lines`` lines raise before they are parsed.
    """

    def __init__(
        self,
        where: str,
        max_lines: int = MAX_EVENTS,
        what: str = "lines",
        scan: re.Pattern[bytes] | None = None,
        hint: str = "",
    ) -> None:
        self.where = where
        self._hint = hint
        self.values: list[Any] = []
        self.bad = 0
        self.scan = scan
        """A pattern looked for in every line; ``matched`` says whether a line held it."""
        self.matched = False
        self._splitter = LineSplitter(MAX_LINE_BYTES)
        self._max_lines = max_lines
        self._what = what

    def feed(self, chunk: bytes) -> None:
        """Parse the complete lines of ``chunk``; keep a partial last line for later.

        Raises:
            SessionFormatError: The entry has more than ``max_lines`` lines.
        """
        lines = self._splitter.feed(chunk)
        if lines:
            self._block(lines)

    def close(self) -> list[Any]:
        """Parse what is left (a last line without newline) and return all values."""
        tail = [line for line in self._splitter.close() if line is None or line.strip()]
        if tail:
            self._block(tail, torn=True)
        if self.bad > MAX_WARNED_LINES:
            warn(f"{self.where}: {self.bad - MAX_WARNED_LINES} more bad lines skipped")
        return self.values

    def _block(self, lines: list[bytes | None], *, torn: bool = False) -> None:
        if len(self.values) + len(lines) > self._max_lines:
            raise too_many(self.where, self._what, self._max_lines, self._hint)
        if self.scan is not None and not self.matched:
            self.matched = any(self.scan.search(x) for x in lines if x is not None)
        loads = orjson.loads
        try:
            self.values += [loads(line) for line in lines]  # type: ignore[arg-type]
            return
        except (orjson.JSONDecodeError, TypeError):
            pass
        for line in lines:
            self.values.append(self._line(line, torn=torn))

    def _line(self, line: bytes | None, *, torn: bool) -> Any:
        if line is not None and not line.strip():
            return BAD
        problem = "is longer than the line limit" if line is None else None
        if line is not None:
            try:
                return parse_json(line)
            except ValueError as exc:
                problem = f"is not valid JSON ({str(exc)[:80]})"
                if torn:
                    problem = "is cut off (a torn last line: the writer stopped mid-line)"
        self.bad += 1
        if self.bad <= MAX_WARNED_LINES:
            warn(f"{self.where}: line {len(self.values) + 1} {problem}; skipped")
        return BAD


def parse_lines(
    data: bytes | Iterable[bytes],
    where: str,
    max_lines: int = MAX_EVENTS,
    what: str = "lines",
    hint: str = "",
) -> list[Any]:
    """Parse JSON lines; a bad line becomes :data:`BAD` and is warned about.

    Args:
        data: The entry's bytes, or its chunks; one JSON value a line.
        where: ``"<file>: <entry>"`` for warnings.
        max_lines: Most lines parsed.
        what: What a line is, for the error.
        hint: Added to the error's limit (how to raise it).

    Returns:
        One value per line (blank lines and bad lines are :data:`BAD`).

    Raises:
        SessionFormatError: More than ``max_lines`` lines.
    """
    parser = LineParser(where, max_lines, what, hint=hint)
    for chunk in (data,) if isinstance(data, bytes) else data:
        parser.feed(chunk)
    return parser.close()


def parse_events(data: bytes | Iterable[bytes], where: str) -> list[dict[str, Any]]:
    """Parse ``events.jsonl``: keep the objects, skip (and warn about) anything else."""
    hint = f"; set {DEVDUCK_LOAD_MAX_EVENTS} to load more"
    values = parse_lines(data, where, max_events(), "events (lines)", hint)
    events = [v for v in values if type(v) is dict]
    if len(events) != len(values):
        skipped = [n for n, v in enumerate(values, 1) if type(v) is not dict and v is not BAD]
        for number in skipped[:MAX_WARNED_LINES]:
            warn(f"{where}: line {number} is not a JSON object; skipped")
    return events


def parse_records(data: bytes | None, where: str, *, array: bool) -> list[dict[str, Any]]:
    """Parse snapshot records from a JSON array (ZIP) or JSON lines (journal).

    A broken document is warned about and gives no records; entries that are not
    objects with an integer ``snapshot_id``, or repeat an id, are skipped with a warning.
    """
    if data is None:
        return []
    if array:
        try:
            values = parse_json(data)
        except ValueError as exc:
            warn(f"{where}: not valid JSON ({str(exc)[:80]}); no snapshots loaded")
            return []
        if not isinstance(values, list):
            warn(f"{where}: not a JSON array; no snapshots loaded")
            return []
    else:
        values = [v for v in parse_lines(data, where) if v is not BAD]
    return _valid_records(values, where)


def _valid_records(values: list[Any], where: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for index, value in enumerate(values):
        sid = value.get("snapshot_id") if isinstance(value, dict) else None
        if not isinstance(sid, int) or isinstance(sid, bool):
            warn(f"{where}: record {index} has no integer snapshot_id; skipped")
        elif sid in seen:
            warn(f"{where}: snapshot_id {sid} appears twice; the later record is skipped")
        else:
            seen.add(sid)
            out.append(value)
    return out


def restore(value: Any, *, allow_pickle: bool) -> Any:
    """Restore lossless tags; a value nested too deeply for that is kept as stored."""
    try:
        return _jsonsafe.restore(value, allow_pickle=allow_pickle)
    except RecursionError:
        return value
    except Exception as exc:
        # Only an allowed pickle can fail here: a missing class, a broken stream.
        raise SessionFormatError(f"cannot restore a pickled value ({exc!r})") from exc


def read_metadata(source: EntrySource, name: str) -> dict[str, Any]:
    """Read ``metadata.json`` (or a journal's ``meta.json``); broken or absent gives ``{}``."""
    raw = source.read(name, MAX_METADATA_BYTES)
    if raw is None:
        warn(f"{source.label}: {name} is missing; metadata is empty")
        return {}
    try:
        value = parse_json(raw)
    except ValueError as exc:
        warn(f"{source.label}: {name} is not valid JSON ({str(exc)[:80]}); metadata is empty")
        return {}
    if not isinstance(value, dict):
        warn(f"{source.label}: {name} is not a JSON object; metadata is empty")
        return {}
    return value


def check_format(label: str, metadata: dict[str, Any], legacy: bool) -> None:
    """Refuse a session of a newer ``format_version`` or of another format.

    Raises:
        SessionFormatError: The version is not an integer, newer than ours, or the
            ``format`` is not ours.
    """
    if legacy:
        return
    version = metadata.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise SessionFormatError(f"{label}: format_version {version!r} is not an integer")
    if version > FORMAT_VERSION:
        raise SessionFormatError(
            f"{label}: unknown format_version {version}; this devduck-otel reads up to "
            f"{FORMAT_VERSION} (upgrade devduck-otel)"
        )
    fmt = metadata.get("format", FORMAT_NAME)
    if fmt not in (FORMAT_NAME, LEGACY_FORMAT):
        raise SessionFormatError(f"{label}: unknown format {fmt!r}; expected {FORMAT_NAME!r}")
