"""`recover` treats a journal on disk as untrusted: no links followed, limits, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
from devduck_otel_exporter_zip import (
    JournalError,
    SessionJournal,
    base_metadata,
    recover_journal,
    recover_journals,
)

import devduck_otel

CLI = Path(sys.executable).with_name("devduck-otel")


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _crashed_journal(folder: Path, sid: str) -> Path:
    """A closed journal whose recording process is gone, as a crash leaves it."""
    journal = SessionJournal(
        folder, sid, base_metadata(sid, datetime.now(timezone.utc).astimezone()), flush_interval=60
    )
    journal.close()
    meta_path = journal.path / "meta.json"
    meta = orjson.loads(meta_path.read_bytes())
    meta["pid"] = _dead_pid()
    meta_path.write_bytes(orjson.dumps(meta))
    return journal.path


def test_symlink_out_of_the_journal_is_not_followed(tmp_path: Path) -> None:
    """A journal file that links to a file outside is refused, and nothing of it is copied."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET\n")
    journal = _crashed_journal(tmp_path, "s1")
    (journal / "events.jsonl").unlink(missing_ok=True)
    (journal / "events.jsonl").symlink_to(secret)
    with pytest.raises(JournalError, match=r"events\.jsonl is a symlink; refusing to follow it"):
        recover_journal(journal)
    assert not (tmp_path / "s1.zip").exists()
    assert journal.is_dir()


@pytest.mark.parametrize("where", ["spans.jsonl", "blobs/x.dill", "meta.json"])
def test_link_to_dev_zero_is_refused_at_once(tmp_path: Path, where: str) -> None:
    """A link to /dev/zero anywhere in the journal is refused before any byte is read."""
    journal = _crashed_journal(tmp_path, "s1")
    target = journal / where
    target.parent.mkdir(exist_ok=True)
    target.unlink(missing_ok=True)
    target.symlink_to("/dev/zero")
    with pytest.raises(JournalError, match="symlink"):
        recover_journal(journal)


def test_fifo_is_not_a_regular_file(tmp_path: Path) -> None:
    """A FIFO in place of a journal file is refused instead of blocking the recovery."""
    journal = _crashed_journal(tmp_path, "s1")
    (journal / "messages.jsonl").unlink(missing_ok=True)
    os.mkfifo(journal / "messages.jsonl")
    with pytest.raises(JournalError, match="is not a regular file"):
        recover_journal(journal)


def test_oversized_meta_is_refused(tmp_path: Path) -> None:
    """A meta.json over the size limit is refused without parsing it."""
    journal = _crashed_journal(tmp_path, "s1")
    (journal / "meta.json").write_bytes(b" " * (2 << 20))
    with pytest.raises(JournalError, match="over the limit"):
        recover_journal(journal)


@pytest.mark.parametrize(
    ("meta", "reason"),
    [(b"[]", "no start_time"), (b"{}", "no start_time"), (b"{broken", "is not JSON")],
)
def test_bad_meta_stops_only_its_journal(
    recordings_dir: Path, meta: bytes, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A meta.json of [] / {} / broken fails that journal alone; later journals are recovered."""
    bad = _crashed_journal(recordings_dir, "a-bad")
    good = _crashed_journal(recordings_dir, "b-good")
    (bad / "meta.json").write_bytes(meta)
    with pytest.raises(JournalError, match=reason):
        recover_journal(bad)
    assert recover_journals(recordings_dir) == [recordings_dir / "b-good.zip"]
    assert bad.is_dir() and not good.exists()
    with zipfile.ZipFile(recordings_dir / "b-good.zip") as zf:
        assert "events.jsonl" in zf.namelist()


def test_recover_cli_reports_a_bad_journal_in_one_line(recordings_dir: Path) -> None:
    """The CLI recovers the good journal, and says in one line why the bad one was not."""
    bad = _crashed_journal(recordings_dir, "a-bad")
    _crashed_journal(recordings_dir, "b-good")
    (bad / "meta.json").write_bytes(b"[]")
    done = subprocess.run([str(CLI), "recover"], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == str(recordings_dir / "b-good.zip")
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "a-bad.journal" in lines[0] and "no start_time" in lines[0]


def test_stale_temp_zip_is_removed_by_recover_and_by_start(recordings_dir: Path) -> None:
    """The temp file of a ZIP write killed midway is removed; a live process's temp stays."""
    recordings_dir.mkdir(parents=True)
    stale = recordings_dir / f".old.zip.{_dead_pid()}.tmp"
    live = recordings_dir / f".mine.zip.{os.getpid()}.tmp"
    stale.write_bytes(b"PK half")
    live.write_bytes(b"PK busy")
    recover_journals(recordings_dir)
    assert not stale.exists() and live.exists()
    stale.write_bytes(b"PK half")
    devduck_otel.start_recording(session_id="after-crash")
    assert not stale.exists() and live.exists()
    devduck_otel.stop_recording()


@pytest.mark.parametrize("where", ["events.jsonl", "messages.jsonl", "blobs/x.dill", "meta.json"])
def test_link_swapped_in_after_the_checks_is_not_followed(tmp_path: Path, where: str) -> None:
    """The ZIP writer opens every journal file itself without following links.

    ``recover`` checks the files, then the writer opens them: a file swapped for a
    link in between is still refused by the open (``O_NOFOLLOW``), nothing is copied.
    """
    from devduck_otel_exporter_zip._zipwrite import write_session_zip

    secret = tmp_path / "secret.txt"
    secret.write_text('{"TOP-SECRET": 1}\n')
    journal = _crashed_journal(tmp_path, "swapped")
    (journal / "blobs").mkdir(exist_ok=True)
    (journal / where).unlink(missing_ok=True)
    (journal / where).symlink_to(secret)  # as if swapped in after check_journal ran
    target = tmp_path / "swapped.zip"
    with pytest.raises(JournalError, match="is a symlink; refusing to follow it"):
        write_session_zip(journal, target, stopped=True)
    assert not target.exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_fifo_swapped_in_after_the_checks_does_not_block(tmp_path: Path) -> None:
    """A FIFO in place of a journal file is refused at open, without waiting for a writer."""
    from devduck_otel_exporter_zip._zipwrite import write_session_zip

    journal = _crashed_journal(tmp_path, "fifo")
    (journal / "spans.jsonl").unlink(missing_ok=True)
    os.mkfifo(journal / "spans.jsonl")
    with pytest.raises(JournalError, match="is not a regular file"):
        write_session_zip(journal, tmp_path / "fifo.zip", stopped=True)
