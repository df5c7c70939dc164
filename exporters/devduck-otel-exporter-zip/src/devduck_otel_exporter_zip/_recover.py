"""Turn journals left by a crashed process into session ZIPs."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import orjson

from devduck_otel_exporter_zip._exporter import recordings_dir, remove_journal
from devduck_otel_exporter_zip._signing import signing_key
from devduck_otel_exporter_zip._zipwrite import write_session_zip
from devduck_otel_exporter_zip.schema import JOURNAL_SUFFIX

logger = logging.getLogger("devduck_otel_exporter_zip")


def _owner_alive(journal_dir: Path) -> bool:
    try:
        meta = orjson.loads((journal_dir / "meta.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    pid = meta.get("pid")
    if not isinstance(pid, int) or meta.get("hostname") != socket.gethostname():
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    """
    journal = Path(journal_dir)
    if not (journal / "meta.json").is_file():
        raise FileNotFoundError(f"{journal}: not a devduck-otel journal (no meta.json)")
    name = journal.name.removesuffix(JOURNAL_SUFFIX)
    target = Path(output_dir or journal.parent) / f"{name}.zip"
    path = write_session_zip(journal, target, stopped=True, signing_key=signing_key())
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
    written = []
    for journal in sorted(folder.glob(f"*{JOURNAL_SUFFIX}")):
        if not journal.is_dir() or _owner_alive(journal):
            continue
        try:
            written.append(recover_journal(journal))
        except (OSError, ValueError) as exc:
            logger.warning("devduck-otel: could not recover %s: %s", journal, exc)
    return written
