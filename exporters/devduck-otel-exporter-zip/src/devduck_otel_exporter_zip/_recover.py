"""Turn journals left by a crashed process into session ZIPs.

A journal on disk is as untrusted as a ZIP: before anything is read, every file in
it must be a regular file (no symlink, device or FIFO is followed) within the same
size limits as the loader's, and ``meta.json`` must be a journal's metadata. A
journal that fails is left in place with a one-line reason; the others are recovered.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import stat
from datetime import datetime
from pathlib import Path
from typing import Final

import orjson

from devduck_otel_exporter_zip._exporter import recordings_dir, remove_journal
from devduck_otel_exporter_zip._files import JournalError, open_regular
from devduck_otel_exporter_zip._signing import signing_key
from devduck_otel_exporter_zip._zipwrite import write_session_zip
from devduck_otel_exporter_zip.schema import (
    JOURNAL_BLOBS,
    JOURNAL_FILES,
    JOURNAL_META,
    JOURNAL_SUFFIX,
)

logger = logging.getLogger("devduck_otel_exporter_zip")

MAX_JOURNAL_FILE_BYTES: Final = 1 << 30
"""Largest journal file recovered (the loader's largest ZIP entry)."""

MAX_JOURNAL_BYTES: Final = 4 << 30
"""Largest journal recovered in all (the loader's largest ZIP)."""

MAX_META_BYTES: Final = 1 << 20
"""Largest ``meta.json`` read."""

_TEMP_ZIP: Final = re.compile(r"^\..+\.zip\.(\d+)\.tmp$")


def _regular_size(path: Path, limit: int) -> int:
    """Return the size of ``path``, a regular file within ``limit``, never following links."""
    handle = open_regular(path, limit)
    if handle is None:
        return 0
    with handle:
        return os.fstat(handle.fileno()).st_size


def check_journal(journal: Path) -> None:
    """Refuse a journal whose files are links, devices, too large, or whose meta is broken.

    Raises:
        JournalError: With a one-line reason.
    """
    if journal.is_symlink() or not journal.is_dir():
        raise JournalError(f"{journal} is not a journal directory (or is a symlink)")
    total = _regular_size(journal / JOURNAL_META, MAX_META_BYTES)
    for name in JOURNAL_FILES:
        total += _regular_size(journal / name, MAX_JOURNAL_FILE_BYTES)
    blobs = journal / JOURNAL_BLOBS
    if blobs.is_symlink() or (blobs.exists() and not blobs.is_dir()):
        raise JournalError(f"{blobs} is not a directory (or is a symlink)")
    if blobs.is_dir():
        for blob in blobs.iterdir():
            total += _regular_size(blob, MAX_JOURNAL_FILE_BYTES)
    if total > MAX_JOURNAL_BYTES:
        raise JournalError(f"{journal} holds {total} bytes, over the limit of {MAX_JOURNAL_BYTES}")
    _check_meta(journal / JOURNAL_META)


def _read_meta(path: Path) -> object:
    handle = open_regular(path, MAX_META_BYTES)
    if handle is None:
        raise FileNotFoundError(f"{path}: no such file")
    with handle:
        return orjson.loads(handle.read(MAX_META_BYTES + 1))


def _check_meta(path: Path) -> None:
    try:
        meta = _read_meta(path)
    except orjson.JSONDecodeError as exc:
        raise JournalError(f"{path} is not JSON ({exc})") from None
    start = meta.get("start_time") if isinstance(meta, dict) else None
    if not isinstance(start, str):
        raise JournalError(f"{path} is not a journal's metadata (no start_time)")
    try:
        datetime.fromisoformat(start)
    except ValueError:
        raise JournalError(f"{path}: start_time {start[:40]!r} is not an ISO time") from None


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temp files of ZIP writes interrupted in processes that are gone.

    Returns:
        The paths removed.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        match = _TEMP_ZIP.match(name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        path = folder / name
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0
    return True


def _owner_alive(journal_dir: Path) -> bool:
    try:
        meta = _read_meta(journal_dir / JOURNAL_META)
    except (OSError, ValueError):  # refused with its reason by recover_journal
        return False
    if not isinstance(meta, dict):
        return False
    pid = meta.get("pid")
    if not isinstance(pid, int) or meta.get("hostname") != socket.gethostname():
        return False
    return _pid_alive(pid)


def recover_journal(
    journal_dir: str | os.PathLike[str], output_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Write the ZIP of one journal directory and remove the journal.

    Args:
        journal_dir: A ``<session_id>.journal`` directory.
        output_dir: Where the ZIP goes; defaults to the journal's folder.

    Returns:
        The path of the recovered ZIP.

    Raises:
        FileNotFoundError: ``journal_dir`` is no journal (no ``meta.json``).
        JournalError: The journal holds links, special or oversized files, or a
            broken ``meta.json``.
    """
    journal = Path(journal_dir)
    if not os.path.lexists(journal / JOURNAL_META):
        raise FileNotFoundError(f"{journal}: not a devduck-otel journal (no meta.json)")
    check_journal(journal)
    name = journal.name.removesuffix(JOURNAL_SUFFIX)
    target = Path(output_dir or journal.parent) / f"{name}.zip"
    path = write_session_zip(
        journal, target, stopped=True, signing_key=signing_key(), replace=False
    )
    remove_journal(journal)
    return path


def recover_journals(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Recover every journal in ``directory`` whose recording process is gone.

    Args:
        directory: The folder to scan; defaults to the recordings folder.

    Returns:
        The paths of the ZIPs written, oldest journal first.
    """
    folder = recordings_dir(directory)
    if not folder.is_dir():
        return []
    remove_stale_temps(folder)
    written = []
    for journal in sorted(folder.glob(f"*{JOURNAL_SUFFIX}")):
        if not journal.is_dir() or _owner_alive(journal):
            continue
        try:
            written.append(recover_journal(journal))
        except Exception as exc:  # one bad journal never stops the others
            logger.warning("devduck-otel: could not recover %s: %s", journal, exc)
    return written
