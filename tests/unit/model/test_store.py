"""The model store: atomic pointer, history, rollback, and the engine swap of a running process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.core.classifier import MODEL_FILE
from services.core.engine import Engine
from services.core.loader import load_city
from services.modelstore import EngineHolder, ModelStore, StoreError, shipped_version


def variant(tag: str) -> dict[str, Any]:
    """The shipped weights under another version id (a distinct, loadable version)."""
    data: dict[str, Any] = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    data["version"] = f"{tag}{data['version']}"[:16]
    return data


def test_empty_store_uses_the_shipped_model(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    assert store.pointed() is None
    assert store.current_version() == shipped_version()
    assert store.current_path() == MODEL_FILE
    assert [v.version for v in store.versions()] == [shipped_version()]
    with pytest.raises(StoreError, match="nothing to roll back"):
        store.rollback()


def test_promote_and_roll_back_through_the_history(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    a, b = variant("aa"), variant("bb")
    store.add(a)
    store.add(b)
    store.promote(a["version"], figures={"x": 1})
    assert store.current_version() == a["version"]
    assert (store.versions_dir / f"{shipped_version()}.json").exists()  # kept for the rollback
    store.promote(b["version"])
    assert store.stack() == [shipped_version(), a["version"], b["version"]]
    with pytest.raises(StoreError, match="already current"):
        store.promote(b["version"])
    assert store.rollback() == a["version"]
    assert store.current_version() == a["version"]
    assert store.rollback() == shipped_version()
    assert store.pointed() == shipped_version()
    with pytest.raises(StoreError, match="nothing to roll back"):
        store.rollback()
    listed = {v.version: v for v in store.versions()}
    assert listed[a["version"]].figures == {"x": 1} and listed[shipped_version()].current
    assert [e["action"] for e in store.history()] == ["promote", "promote", "rollback", "rollback"]
    assert not list(store.root.glob(".current.*"))  # no temp file left behind


def test_unknown_or_broken_versions_are_never_promoted(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(StoreError, match="not in the store"):
        store.promote("0123456789abcdef")
    broken = variant("cc")
    broken["schema"] = 99
    store.add(broken)
    with pytest.raises(ValueError, match="schema"):
        store.promote(broken["version"])
    assert store.pointed() is None
    with pytest.raises(StoreError):
        store.path_of("../../etc/passwd")


def test_holder_swaps_only_when_the_pointer_changes(tmp_path: Path) -> None:
    city = load_city("rugao")
    store = ModelStore(tmp_path / "models")
    injected = Engine.load("rugao")
    holder = EngineHolder(city, store, injected)
    assert not holder.check() and holder.engine is injected  # no pointer change: the injected engine stays
    new = variant("dd")
    store.add(new)
    store.promote(new["version"])
    assert holder.check() and holder.version == new["version"]
    assert not holder.check()
    store.rollback()
    assert holder.check() and holder.version == shipped_version()
    # a pointer to a file that does not load: the engine in use is kept, and it is not retried
    (store.versions_dir / "ee00000000000000.json").write_text("{}", encoding="utf-8")
    store.pointer.write_text("ee00000000000000\n", encoding="utf-8")
    assert not holder.check() and holder.version == shipped_version()
    assert not holder.check()
    started = EngineHolder(city, ModelStore(tmp_path / "models"))  # a process starting on a broken store
    assert started.version == shipped_version() and not started.check()
