"""Reading session ZIPs and journals that may be hostile: bounded, and never running code.

A session file is data from somewhere else. Everything here reads it with hard limits
(entry count, declared and actual decompressed sizes, compression ratio, line length)
and turns every failure of :mod:`zipfile` into a :class:`SessionFormatError` that names
the file and the problem. Pickles are checked in :mod:`devduck_otel.session._signatures`.

Example:
    >>> from devduck_otel.session._zipsafe import open_source
    >>> with open_source(Path("session.zip")) as source:  # doctest: +SKIP
    ...     data = source.read("events.jsonl")
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO, Final, Protocol

from devduck_otel.exceptions import SessionFormatError, SessionNotFoundError

MAX_ENTRIES: Final = 100_000
"""Most entries a session ZIP (or journal) may hold; more is refused as hostile."""

MAX_ENTRY_BYTES: Final = 1 << 30
"""Largest decompressed size of one entry (1 GiB), declared or actual."""

MAX_TOTAL_BYTES: Final = 4 << 30
"""Largest sum of the declared decompressed sizes of all entries (4 GiB)."""

MAX_COMPRESSION_RATIO: Final = 200
"""Highest decompressed/compressed ratio allowed for an entry over
:data:`RATIO_MIN_BYTES`. Our JSON compresses about 5-30x; a zip bomb over 1000x."""

RATIO_MIN_BYTES: Final = 16 << 20
"""Entries smaller than this (16 MiB decompressed) are not held to the ratio limit."""

MAX_LINE_BYTES: Final = 64 << 20
"""Longest JSON line (64 MiB) parsed from a ``.jsonl`` entry; longer ones are skipped."""

MAX_SMALL_JSON_BYTES: Final = 1 << 20
"""Largest ``signatures.json`` (1 MiB)."""

READ_CHUNK: Final = 1 << 20
"""Bytes decompressed per read, so a lying header costs at most one chunk more."""

_ZIP_ERRORS: Final = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    KeyError,
    IndexError,
    OverflowError,
    TypeError,
)


class EntrySource(Protocol):
    """Named byte entries of one session: a ZIP's members or a journal's files."""

    label: str
    """The path shown in error messages."""

    def names(self) -> list[str]:
        """Return the entry names, in stored order."""
        ...

    def read(self, name: str, limit: int = MAX_ENTRY_BYTES) -> bytes | None:
        """Return the entry's bytes (at most ``limit``), or ``None`` when absent."""
        ...

    def chunks(self, name: str, limit: int = MAX_ENTRY_BYTES) -> Iterator[bytes] | None:
        """Return the entry's bytes as an iterator of chunks, or ``None`` when absent."""
        ...

    def close(self) -> None:
        """Release the underlying file."""
        ...


def check_name(label: str, name: str) -> None:
    """Refuse entry names that could escape a folder if anyone ever extracted them.

    Args:
        label: The session file, for the message.
        name: The entry name.

    Raises:
        SessionFormatError: The name is absolute, climbs with ``..``, or holds a
            backslash, a drive letter or a NUL.
    """
    parts = PurePosixPath(name).parts
    bad = (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or re.match(r"^[A-Za-z]:", name) is not None
        or ".." in parts
    )
    if bad:
        raise SessionFormatError(f"{label}: unsafe entry name {name!r} (path traversal)")


_EOCD: Final = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR: Final = struct.Struct("<4sLQL")
_ZIP64_EOCD: Final = struct.Struct("<4sQ2H2L4Q")
_EOCD_SEARCH: Final = _EOCD.size + 0xFFFF  # the record, then at most a 64 KiB comment


def declared_entries(path: Path) -> int | None:
    """Return the entry count a ZIP's end record declares, reading only the file's tail.

    :class:`zipfile.ZipFile` builds one ``ZipInfo`` per entry as it opens a file, so a
    million entries cost seconds and hundreds of MB before any limit can be checked.
    This reads the end-of-central-directory record (and its ZIP64 twin) instead.

    Returns:
        The declared count, or ``None`` when no end record is found (``zipfile``
        then reports the broken file).
    """
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        start = max(0, size - _EOCD_SEARCH)
        handle.seek(start)
        tail = handle.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _EOCD.size:
            return None
        count: int = max(_EOCD.unpack_from(tail, at)[3:5])
        where = start + at - _ZIP64_LOCATOR.size
        if where < 0:
            return count
        handle.seek(where)
        locator = _ZIP64_LOCATOR.unpack(handle.read(_ZIP64_LOCATOR.size))
        if locator[0] != b"PK\x06\x07":
            return count
        handle.seek(locator[2])
        record = handle.read(_ZIP64_EOCD.size)
        if len(record) < _ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
            return count
        declared: tuple[int, int] = _ZIP64_EOCD.unpack(record)[5:7]
        return max(count, *declared)


class ZipSource:
    """A session ZIP opened with the limits of this module checked up front."""

    def __init__(self, path: Path) -> None:
        self.label = str(path)
        try:
            declared = declared_entries(path)
        except FileNotFoundError as exc:
            raise SessionNotFoundError(f"{path}: no such session file") from exc
        except _ZIP_ERRORS as exc:
            raise SessionFormatError(f"{path}: not a readable ZIP file ({exc})") from exc
        if declared is not None and declared > MAX_ENTRIES:
            raise SessionFormatError(f"{path}: {declared} entries (limit {MAX_ENTRIES})")
        try:
            self._zip = zipfile.ZipFile(path)
        except FileNotFoundError as exc:
            raise SessionNotFoundError(f"{path}: no such session file") from exc
        except _ZIP_ERRORS as exc:
            raise SessionFormatError(f"{path}: not a readable ZIP file ({exc})") from exc
        try:
            self._infos = self._check(self._zip.infolist())
        except BaseException:
            self._zip.close()
            raise

    def _check(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        if len(infos) > MAX_ENTRIES:
            raise SessionFormatError(f"{self.label}: {len(infos)} entries (limit {MAX_ENTRIES})")
        out: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            check_name(self.label, info.filename)
            if info.filename in out:
                raise SessionFormatError(f"{self.label}: duplicate entry {info.filename!r}")
            _check_sizes(self.label, info)
            total += info.file_size
            out[info.filename] = info
        if total > MAX_TOTAL_BYTES:
            raise SessionFormatError(
                f"{self.label}: declares {total} bytes decompressed (limit {MAX_TOTAL_BYTES})"
            )
        return out

    def names(self) -> list[str]:
        """Return the entry names, in stored order."""
        return list(self._infos)

    def read(self, name: str, limit: int = MAX_ENTRY_BYTES) -> bytes | None:
        """Return the entry's bytes, reading at most ``limit`` (and its declared size).

        Raises:
            SessionFormatError: The entry is encrypted, corrupt, or larger than allowed.
        """
        chunks = self.chunks(name, limit)
        return None if chunks is None else b"".join(chunks)

    def chunks(self, name: str, limit: int = MAX_ENTRY_BYTES) -> Iterator[bytes] | None:
        """Return the entry's bytes as an iterator of decompressed chunks, or ``None``.

        The checks run as the iterator is consumed; it raises
        :class:`SessionFormatError` when the entry is encrypted, corrupt, or larger
        than ``limit`` (or than it declared).
        """
        info = self._infos.get(name)
        if info is None or info.is_dir():
            return None
        return self._chunks(info, limit)

    def _chunks(self, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
        name = info.filename
        if info.flag_bits & 0x1:
            raise SessionFormatError(f"{self.label}: entry {name!r} is encrypted")
        if info.file_size > limit:
            raise SessionFormatError(
                f"{self.label}: entry {name!r} is {info.file_size} bytes (limit {limit})"
            )
        got = 0
        try:
            with self._zip.open(info) as handle:
                while chunk := handle.read(READ_CHUNK):
                    got += len(chunk)
                    if got > info.file_size:
                        raise SessionFormatError(
                            f"{self.label}: entry {name!r} decompresses past {info.file_size} bytes"
                        )
                    yield chunk
        except SessionFormatError:
            raise
        except _ZIP_ERRORS as exc:
            raise SessionFormatError(f"{self.label}: entry {name!r} is corrupt ({exc})") from exc

    def close(self) -> None:
        """Close the ZIP file."""
        self._zip.close()

    def __enter__(self) -> ZipSource:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _check_sizes(label: str, info: zipfile.ZipInfo) -> None:
    name = info.filename
    if info.file_size > MAX_ENTRY_BYTES:
        raise SessionFormatError(
            f"{label}: entry {name!r} declares {info.file_size} bytes (limit {MAX_ENTRY_BYTES})"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
        raise SessionFormatError(
            f"{label}: entry {name!r} has compression ratio {ratio:.0f} "
            f"(limit {MAX_COMPRESSION_RATIO}): a zip bomb?"
        )


class DirSource:
    """A live or crashed journal directory (``<session_id>.journal/``), read in place."""

    def __init__(self, path: Path) -> None:
        self.label = str(path)
        self._root = path
        names: list[str] = []
        try:
            for entry in sorted(os.scandir(path), key=lambda e: e.name):
                if entry.is_file(follow_symlinks=False):
                    names.append(entry.name)
                elif entry.name == "blobs" and entry.is_dir(follow_symlinks=False):
                    names.extend(_blob_names(Path(entry.path)))
                if len(names) > MAX_ENTRIES:
                    raise SessionFormatError(f"{path}: more than {MAX_ENTRIES} files")
        except OSError as exc:
            raise SessionFormatError(f"{path}: cannot list the journal ({exc})") from exc
        self._names = names

    def names(self) -> list[str]:
        """Return the journal's file names (``blobs/<name>`` for blobs)."""
        return list(self._names)

    def read(self, name: str, limit: int = MAX_ENTRY_BYTES) -> bytes | None:
        """Return a journal file's bytes; ``None`` when it is not there.

        Raises:
            SessionFormatError: The file is larger than ``limit`` or unreadable.
        """
        if name not in self._names:
            return None
        path = self._root / name
        try:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SessionFormatError(f"{path}: unreadable ({exc})") from exc
        if len(data) > limit:
            raise SessionFormatError(f"{path}: larger than {limit} bytes")
        return data

    def chunks(self, name: str, limit: int = MAX_ENTRY_BYTES) -> Iterator[bytes] | None:
        """Return the file's bytes in chunks of :data:`READ_CHUNK`, or ``None`` when absent.

        The iterator raises :class:`SessionFormatError` past ``limit`` bytes.
        """
        if name not in self._names:
            return None
        try:
            handle = open(self._root / name, "rb")  # noqa: SIM115 (closed by _file_chunks)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SessionFormatError(f"{self._root / name}: unreadable ({exc})") from exc
        return self._file_chunks(handle, self._root / name, limit)

    @staticmethod
    def _file_chunks(handle: BinaryIO, path: Path, limit: int) -> Iterator[bytes]:
        got = 0
        with handle:
            try:
                while chunk := handle.read(READ_CHUNK):
                    got += len(chunk)
                    if got > limit:
                        raise SessionFormatError(f"{path}: larger than {limit} bytes")
                    yield chunk
            except OSError as exc:
                raise SessionFormatError(f"{path}: unreadable ({exc})") from exc

    def close(self) -> None:
        """Nothing to close for a directory."""

    def __enter__(self) -> DirSource:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _blob_names(folder: Path) -> list[str]:
    return sorted(f"blobs/{e.name}" for e in os.scandir(folder) if e.is_file(follow_symlinks=False))


def open_source(path: Path) -> ZipSource | DirSource:
    """Open a session ZIP or a journal directory.

    Args:
        path: A ``.zip`` file or a ``<session_id>.journal`` directory.

    Returns:
        The entry source; use it as a context manager.

    Raises:
        SessionNotFoundError: Nothing is at ``path``.
        SessionFormatError: ``path`` is not a ZIP, or breaks a limit.
    """
    if path.is_dir():
        return DirSource(path)
    if not path.exists():
        raise SessionNotFoundError(f"{path}: no such session file or journal")
    if not path.is_file():
        # A FIFO or a device would block or never end: only regular files are read.
        raise SessionFormatError(f"{path}: not a regular file")
    return ZipSource(path)
