"""Hostile and broken session files: clear errors or skipped parts, never code run."""

from __future__ import annotations

import base64
import os
import pickle
import warnings
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from devduck_otel.exceptions import SessionFormatError, UnsafeSessionError
from devduck_otel.session import _loadparse, _zipsafe
from devduck_otel.session._loader import load_session
from tests.support.zipbuilder import (
    CENTRAL_FLAGS,
    CENTRAL_METHOD,
    CENTRAL_SIZE,
    build_journal,
    build_zip,
    evil_pickle,
    metadata,
    patch_central,
    session_entries,
    sign,
    user,
    write_zip,
)

KEY = "s3cret-signing-key"


@pytest.mark.parametrize(
    "name", ["../evil.txt", "/etc/cron.d/x", "a\\..\\b", "C:/win.ini", "x/../../y"]
)
def test_path_traversal_names_are_refused(tmp_path: Path, name: str) -> None:
    """An entry name that could escape a folder makes the ZIP refused."""
    entries = session_entries()
    entries[name] = b"x"
    with pytest.raises(SessionFormatError, match="unsafe entry name"):
        load_session(write_zip(tmp_path / "s.zip", entries))


def test_zip_bomb_ratio_is_refused(tmp_path: Path) -> None:
    """An entry of 20 MiB of zeros (ratio ~1000) is refused before it is inflated."""
    entries = session_entries()
    entries["events.jsonl"] = b"\0" * (20 << 20)
    with pytest.raises(SessionFormatError, match=r"compression ratio .* zip bomb"):
        load_session(write_zip(tmp_path / "s.zip", entries))


def test_declared_size_over_the_limit_is_refused(tmp_path: Path) -> None:
    """A header declaring 2 GiB for one entry is refused."""
    path = build_zip(tmp_path / "s.zip")
    patch_central(path, "events.jsonl", CENTRAL_SIZE, 0x7FFF_FFFF)
    with pytest.raises(SessionFormatError, match=r"events\.jsonl' declares 2147483647 bytes"):
        load_session(path)


def test_header_lying_small_stops_reading_at_the_declared_size(tmp_path: Path) -> None:
    """A header declaring fewer bytes than the data holds stops there and fails the CRC."""
    path = build_zip(tmp_path / "s.zip", events=50)
    patch_central(path, "events.jsonl", CENTRAL_SIZE, 10)
    with pytest.raises(SessionFormatError, match=r"events\.jsonl' is corrupt"):
        load_session(path)


def test_total_declared_size_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sum of declared sizes has its own limit."""
    monkeypatch.setattr(_zipsafe, "MAX_TOTAL_BYTES", 1000)
    with pytest.raises(SessionFormatError, match=r"declares .* bytes decompressed"):
        load_session(build_zip(tmp_path / "s.zip", events=50))


def test_too_many_entries_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More entries than MAX_ENTRIES is refused."""
    monkeypatch.setattr(_zipsafe, "MAX_ENTRIES", 3)
    with pytest.raises(SessionFormatError, match=r"5 entries \(limit 3\)"):
        load_session(build_zip(tmp_path / "s.zip"))


def test_huge_line_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line over the line limit is skipped with a warning; the rest loads."""
    monkeypatch.setattr(_loadparse, "MAX_LINE_BYTES", 1000)
    entries = session_entries(events=2)
    entries["events.jsonl"] += orjson.dumps({"data": "x" * 5000}) + b"\n"
    with pytest.warns(UserWarning, match="line 3 is longer than the line limit"):
        session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert len(session.events) == 2


def test_invalid_utf8_line_is_skipped(tmp_path: Path) -> None:
    """A line that is not UTF-8 is skipped with a warning."""
    entries = session_entries(events=2)
    entries["events.jsonl"] += b'{"layer": "\xff\xfe"}\n'
    with pytest.warns(UserWarning, match="line 3 is not valid JSON"):
        session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert len(session.events) == 2


def test_invalid_utf8_metadata_warns(tmp_path: Path) -> None:
    """A metadata.json that is not UTF-8 leaves the metadata empty, with a warning."""
    entries = session_entries(events=1)
    entries["metadata.json"] = b'{"session_id": "\xff"}'
    with pytest.warns(UserWarning, match=r"metadata\.json is not valid JSON"):
        session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert session.metadata == {}
    assert len(session.events) == 1


def test_deeply_nested_line_cannot_blow_the_stack(tmp_path: Path) -> None:
    """100,000 nested arrays are refused by orjson and json alike, and skipped."""
    entries = session_entries(events=1)
    entries["events.jsonl"] += b"[" * 100_000 + b"]" * 100_000 + b"\n"
    with pytest.warns(UserWarning, match="line 2 is not valid JSON"):
        session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert len(session.events) == 1


def test_deeply_nested_snapshots_json_is_skipped(tmp_path: Path) -> None:
    """A snapshots.json nested past the recursion limit loses the snapshots, not the load."""
    entries = session_entries(events=1)
    entries["snapshots.json"] = b"[" * 50_000 + b"]" * 50_000
    with pytest.warns(UserWarning, match="no snapshots loaded"):
        assert load_session(write_zip(tmp_path / "s.zip", entries)).snapshots == []


def test_deep_message_loads_but_refuses_to_resume(tmp_path: Path) -> None:
    """A message nested 1000 deep loads as stored; resuming it is a clear error."""
    entries = session_entries(snapshots=[[user("a")]])
    deep = b"[" * 1000 + b'"leaf"' + b"]" * 1000
    entries["messages.jsonl"] = b'{"sha256": "", "message": {"role": "user", "x": %b}}\n' % deep
    session = load_session(write_zip(tmp_path / "s.zip", entries))
    assert isinstance(session.get_snapshot(1).agent_messages[0]["x"], list)
    with pytest.raises(SessionFormatError, match="nested too deeply"):
        session.resume_from_snapshot(1)


def test_duplicate_entries_are_refused(tmp_path: Path) -> None:
    """Two entries of the same name make the ZIP ambiguous, so it is refused."""
    entries = list(session_entries().items())
    entries.append(("events.jsonl", b'{"evil": true}\n'))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate it writes
        path = write_zip(tmp_path / "s.zip", entries)
    with pytest.raises(SessionFormatError, match=r"duplicate entry 'events\.jsonl'"):
        load_session(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 2}, "unknown format_version 2"),
        ({"format_version": "1"}, "format_version '1' is not an integer"),
        ({"format": "other-tool"}, "unknown format 'other-tool'"),
    ],
)
def test_unknown_format_is_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    """A newer or foreign format is a clear error."""
    entries = session_entries(meta=metadata(**change))
    with pytest.raises(SessionFormatError, match=message):
        load_session(write_zip(tmp_path / "s.zip", entries))


def test_missing_events_is_refused(tmp_path: Path) -> None:
    """A ZIP without events.jsonl is no session."""
    entries = session_entries()
    del entries["events.jsonl"]
    with pytest.raises(SessionFormatError, match=r"missing events\.jsonl"):
        load_session(write_zip(tmp_path / "s.zip", entries))


def test_encrypted_entry_is_refused(tmp_path: Path) -> None:
    """An entry flagged as encrypted is refused."""
    path = build_zip(tmp_path / "s.zip")
    patch_central(path, "events.jsonl", CENTRAL_FLAGS, 1, width=2)
    with pytest.raises(SessionFormatError, match="is encrypted"):
        load_session(path)


def test_unknown_compression_is_refused(tmp_path: Path) -> None:
    """An entry with an unknown compression method is a format error."""
    path = build_zip(tmp_path / "s.zip")
    patch_central(path, "events.jsonl", CENTRAL_METHOD, 99, width=2)
    with pytest.raises(SessionFormatError, match=r"events\.jsonl' is corrupt"):
        load_session(path)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A named pipe is refused at once instead of blocking on open."""
    fifo = tmp_path / "pipe.zip"
    os.mkfifo(fifo)
    with pytest.raises(SessionFormatError, match="not a regular file"):
        load_session(fifo)


def test_plain_folder_is_not_a_journal(tmp_path: Path) -> None:
    """A folder with no journal files is refused."""
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(SessionFormatError, match=r"no meta\.json or events\.jsonl"):
        load_session(tmp_path)


def test_journal_symlinks_are_not_followed(tmp_path: Path) -> None:
    """A journal file that is a symlink (to a secret, say) is not read."""
    folder = build_journal(tmp_path / "s.journal", events=2)
    secret = tmp_path / "secret.jsonl"
    secret.write_bytes(b'{"secret": 1}\n')
    (folder / "events.jsonl").unlink()
    (folder / "events.jsonl").symlink_to(secret)
    assert load_session(folder).events == []


# -- pickles ------------------------------------------------------------------------------


def _evil_zip(tmp_path: Path, *, key: str | None = None) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    entries = session_entries(snapshots=[[user("a")]])
    entries["session.pkl"] = evil_pickle(marker)
    if key is not None:
        sign(entries, key.encode())
    return write_zip(tmp_path / "s.zip", entries), marker


def test_pickle_is_not_run_by_default(tmp_path: Path) -> None:
    """Without allow_pickle a malicious session.pkl is never unpickled."""
    path, marker = _evil_zip(tmp_path)
    session = load_session(path)
    assert not marker.exists()
    assert session.pickled_state is None


def test_pickle_runs_only_when_allowed(tmp_path: Path) -> None:
    """With allow_pickle and no key the pickle is loaded (so the test pickle is live)."""
    path, marker = _evil_zip(tmp_path)
    load_session(path, allow_pickle=True)
    assert marker.exists()


def test_key_set_and_unsigned_pickle_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With DEVDUCK_SIGNING_KEY set an unsigned session.pkl is refused even when allowed."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    path, marker = _evil_zip(tmp_path)
    with pytest.raises(UnsafeSessionError, match=r"session\.pkl is not signed"):
        load_session(path, allow_pickle=True)
    assert not marker.exists()


def test_key_set_and_wrong_signature_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session.pkl signed with another key is refused."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    path, marker = _evil_zip(tmp_path, key="another-key")
    with pytest.raises(UnsafeSessionError, match="bad HMAC-SHA256 signature"):
        load_session(path, allow_pickle=True)
    assert not marker.exists()


def test_key_set_and_wrong_algorithm_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signatures.json naming another algorithm is refused."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    entries = session_entries()
    entries["signatures.json"] = b'{"algorithm": "none", "entries": {}}'
    with pytest.raises(UnsafeSessionError, match="does not use hmac-sha256"):
        load_session(write_zip(tmp_path / "s.zip", entries), allow_pickle=True)


def test_key_set_and_broken_signatures_only_matter_for_pickles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken signatures.json refuses pickles but not a load without them."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    entries = session_entries(snapshots=[[user("a")]])
    entries["signatures.json"] = b"{not json"
    path = write_zip(tmp_path / "s.zip", entries)
    assert len(load_session(path).snapshots) == 1
    with pytest.raises(UnsafeSessionError, match=r"signatures\.json is not JSON"):
        load_session(path, allow_pickle=True)


def test_key_set_and_valid_signature_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A correctly signed session.pkl is unpickled."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    entries = session_entries(snapshots=[[user("a")]])
    sign(entries, KEY.encode())
    session = load_session(write_zip(tmp_path / "s.zip", entries), allow_pickle=True)
    assert session.pickled_state["metadata"]["session_id"] == "session-test"


def test_key_set_without_allow_pickle_needs_no_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a key but no allow_pickle nothing is unpickled and nothing is refused."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    path, marker = _evil_zip(tmp_path)
    assert len(load_session(path).snapshots) == 1
    assert not marker.exists()


def _blob_zip(tmp_path: Path, blob: bytes, *, key: str | None, blob_name: str) -> Path:
    entries = session_entries(snapshots=[[user("a")]])
    records = orjson.loads(entries["snapshots.json"])
    records[0]["state_blob"] = blob_name
    entries["snapshots.json"] = orjson.dumps(records)
    entries["blobs/" + "a" * 64 + ".dill"] = blob
    if key is not None:
        sign(entries, key.encode())
    return write_zip(tmp_path / "s.zip", entries)


def test_signed_state_blob_is_unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signed state blob is unpickled and restored as the agent's state on resume."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    name = "blobs/" + "a" * 64 + ".dill"
    path = _blob_zip(tmp_path, pickle.dumps({"mood": "quacky"}), key=KEY, blob_name=name)
    session = load_session(path, allow_pickle=True)
    assert session.blobs[name] == {"mood": "quacky"}


def test_unsigned_state_blob_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A state blob left out of signatures.json is refused."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    marker = tmp_path / "pwned"
    name = "blobs/" + "a" * 64 + ".dill"
    path = _blob_zip(tmp_path, evil_pickle(marker), key=None, blob_name=name)
    with pytest.raises(UnsafeSessionError, match="is not signed"):
        load_session(path, allow_pickle=True)
    assert not marker.exists()


def test_traversal_blob_reference_is_not_read(tmp_path: Path) -> None:
    """A state_blob naming a path outside the ZIP is only warned about."""
    path = _blob_zip(tmp_path, b"", key=None, blob_name="../../etc/passwd")
    with pytest.warns(UserWarning, match="state blob ../../etc/passwd is missing"):
        session = load_session(path, allow_pickle=True)
    assert session.blobs == {}


def _tagged_zip(tmp_path: Path, marker: Path, *, signed: bool) -> Path:
    tag = {
        "__devduck__": "pickle",
        "dill": base64.b64encode(evil_pickle(marker)).decode(),
        "repr": "Touch()",
    }
    entries = session_entries(snapshots=[[{"role": "user", "content": [{"obj": tag}]}]])
    names = ["session.pkl", "messages.jsonl"] if signed else ["session.pkl"]
    sign(entries, KEY.encode(), names)
    return write_zip(tmp_path / "s.zip", entries)


def test_pickle_tags_in_unsigned_messages_stay_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a key set, pickled values in an unsigned messages.jsonl are not unpickled."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    marker = tmp_path / "pwned"
    path = _tagged_zip(tmp_path, marker, signed=False)
    with pytest.warns(UserWarning, match=r"messages\.jsonl is not signed.*left as tags"):
        session = load_session(path, allow_pickle=True)
    assert not marker.exists()
    obj = session.get_snapshot(1).agent_messages[0]["content"][0]["obj"]
    assert obj["__devduck__"] == "pickle"


def test_pickle_tags_in_signed_messages_are_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a key set and messages.jsonl signed, pickled values are restored."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    marker = tmp_path / "pwned"
    load_session(_tagged_zip(tmp_path, marker, signed=True), allow_pickle=True)
    assert marker.exists()


def test_broken_pickle_when_allowed_is_a_warning(tmp_path: Path) -> None:
    """A session.pkl that cannot be unpickled is skipped with a warning."""
    entries = session_entries()
    entries["session.pkl"] = zlib.compress(b"not a pickle")
    with pytest.warns(UserWarning, match=r"cannot unpickle session\.pkl"):
        session = load_session(write_zip(tmp_path / "s.zip", entries), allow_pickle=True)
    assert session.pickled_state is None
