"""The local media store: content-addressed, atomic, one copy per content."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from services.core.media import MediaStore
from services.platform.media_store import LocalMediaStore


def test_put_get_by_sha256(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    assert isinstance(store, MediaStore)
    content = os.urandom(5000)
    sha = store.put(content)
    assert sha == hashlib.sha256(content).hexdigest()
    assert store.get(sha) == content
    assert (tmp_path / "media" / sha[:2] / sha).read_bytes() == content
    assert store.put(content) == sha  # the same bytes again: one file
    assert [p.name for p in (tmp_path / "media").rglob("*") if p.is_file()] == [sha]


def test_unknown_or_malformed_keys(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    assert store.get(hashlib.sha256(b"never stored").hexdigest()) is None
    assert store.get("../../etc/passwd") is None
    with pytest.raises(ValueError):
        store.path("ABC")


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalMediaStore(tmp_path)

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        store.put(b"half a photo")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no partial file, no temp file left
    assert store.get(hashlib.sha256(b"half a photo").hexdigest()) is None
