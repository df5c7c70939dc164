"""Signing has no accidental off switch, and a signature is bound to its entry's name."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import devduck_otel
from devduck_otel.exceptions import ConfigurationError, UnsafeSessionError
from devduck_otel.session._loader import load_session
from tests.support.zipbuilder import evil_pickle, session_entries, sign, user, write_zip

KEY = "s3cret-signing-key"
BLOB = "blobs/" + "a" * 64 + ".dill"


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_key_is_refused_at_start(
    blank: str, recordings_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty or whitespace DEVDUCK_SIGNING_KEY stops start_recording, leaving nothing."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", blank)
    with pytest.raises(ConfigurationError, match="DEVDUCK_SIGNING_KEY is set but blank"):
        devduck_otel.start_recording(session_id="blank-key")
    assert not devduck_otel.recording_status().get("recording")
    assert not list(recordings_dir.glob("blank-key*"))


@pytest.mark.parametrize("blank", ["", "  "])
def test_blank_key_is_refused_at_a_pickling_load(
    blank: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a blank key an unsigned malicious pickle is refused, not run."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", blank)
    marker = tmp_path / "pwned"
    entries = session_entries(snapshots=[[user("a")]])
    entries["session.pkl"] = evil_pickle(marker)
    path = write_zip(tmp_path / "s.zip", entries)
    with pytest.raises(UnsafeSessionError, match="DEVDUCK_SIGNING_KEY is set but blank"):
        load_session(path, allow_pickle=True)
    assert not marker.exists()
    assert len(load_session(path).snapshots) == 1  # without pickles the key is not needed


def test_signed_blob_copied_as_session_pkl_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blob's valid signature does not verify the same bytes under another name."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    marker = tmp_path / "pwned"
    entries = session_entries(snapshots=[[user("a")]])
    entries[BLOB] = evil_pickle(marker)
    sign(entries, KEY.encode(), [BLOB])
    doc = orjson.loads(entries["signatures.json"])
    doc["entries"]["session.pkl"] = doc["entries"][BLOB]
    entries["signatures.json"] = orjson.dumps(doc)
    entries["session.pkl"] = entries[BLOB]
    with pytest.raises(UnsafeSessionError, match=r"session\.pkl has a bad HMAC-SHA256"):
        load_session(write_zip(tmp_path / "s.zip", entries), allow_pickle=True)
    assert not marker.exists()


def test_old_scheme_signatures_get_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """signatures.json without the scheme (name not bound) is refused, naming the scheme."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    entries = session_entries(snapshots=[[user("a")]])
    entries["signatures.json"] = b'{"algorithm": "hmac-sha256", "entries": {}}'
    with pytest.raises(UnsafeSessionError, match="signature scheme 1, which does not bind"):
        load_session(write_zip(tmp_path / "s.zip", entries), allow_pickle=True)


def test_a_signed_recording_loads_with_pickles(monkeypatch: pytest.MonkeyPatch) -> None:
    """A recording made with a key has scheme-2 signatures that its loader accepts."""
    monkeypatch.setenv("DEVDUCK_SIGNING_KEY", KEY)
    devduck_otel.start_recording(session_id="signed")

    class Agent:
        messages = [{"role": "user", "content": [{"text": "hi"}]}]

    devduck_otel.snapshot(Agent(), "one")
    path = devduck_otel.stop_recording()
    assert path is not None
    session = load_session(path, allow_pickle=True)
    assert session.pickled_state["metadata"]["session_id"] == "signed"
