"""The model store: classifier versions as files, a ``current`` pointer, a history for rollback.

Layout of ``COMPLAINTS_MODEL_DIR`` (default ``<data dir>/models``)::

    versions/<version>.json   weight tables (services/core/training.dump), one per version
    current                   the version in use (one line), replaced atomically (temp file + rename)
    history.jsonl             every promotion and rollback, appended: rollback replays it
    .lock                     serialises writers (flock)

The model shipped with the code (``services/core/model/weights.json``) is the first version and
the fallback: with no pointer (an empty or new store) it is what every process uses, and the
first promotion copies it into ``versions/`` so that a rollback can return to it.

Processes that decide (router worker, tracker's reconciler, API) hold their :class:`Engine` in an
:class:`EngineHolder` and call :meth:`EngineHolder.check` every few seconds: when the pointer
changed it loads the version it names and swaps the engine (a batch in progress keeps the engine
it started with).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.core.classifier import MODEL_FILE, Model
from services.core.config import CityConfig
from services.core.engine import Engine
from services.core.training import dump

log = logging.getLogger(__name__)


class StoreError(Exception):
    """A store operation that cannot be done (nothing to roll back to, unknown version...)."""


@dataclass(frozen=True)
class VersionInfo:
    version: str
    path: Path
    current: bool
    in_history: bool          # a rollback can return to it
    trained_on: dict[str, Any]
    promoted_at: str | None   # last promotion of this version
    figures: dict[str, Any] | None


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def shipped_version(shipped: Path = MODEL_FILE) -> str:
    return str(json.loads(shipped.read_text(encoding="utf-8"))["version"])


class ModelStore:
    def __init__(self, root: Path, shipped: Path = MODEL_FILE) -> None:
        self.root = Path(root)
        self.shipped = shipped
        self.versions_dir = self.root / "versions"
        self.pointer = self.root / "current"
        self.history_file = self.root / "history.jsonl"

    # ---- reading (any process) -----------------------------------------------------------
    def pointed(self) -> str | None:
        """The version the pointer names, or None when there is no pointer (the shipped model)."""
        try:
            text = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def path_of(self, version: str) -> Path:
        if not version.isalnum():
            raise StoreError(f"not a model version: {version!r}")
        return self.versions_dir / f"{version}.json"

    def current_path(self) -> Path:
        version = self.pointed()
        if version is None:
            return self.shipped
        path = self.path_of(version)
        if not path.exists():
            raise StoreError(f"the pointer names {version}, which is not in {self.versions_dir}")
        return path

    def current_version(self) -> str:
        return self.pointed() or shipped_version(self.shipped)

    def load_current(self) -> Model:
        return Model.load(self.current_path())

    def history(self) -> list[dict[str, Any]]:
        try:
            lines = self.history_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def stack(self) -> list[str]:
        """The versions a rollback returns through, oldest first; the last is current."""
        stack: list[str] = []
        for entry in self.history():
            if entry["action"] == "promote":
                if not stack and entry.get("previous"):
                    stack.append(entry["previous"])
                stack.append(entry["version"])
            elif entry["action"] == "rollback" and stack:
                stack.pop()
        return stack

    def versions(self) -> list[VersionInfo]:
        current = self.current_version()
        stack = set(self.stack())
        promoted: dict[str, dict[str, Any]] = {}
        for entry in self.history():
            if entry["action"] == "promote":
                promoted[entry["version"]] = entry
        paths = {p.stem: p for p in sorted(self.versions_dir.glob("*.json"))} if self.versions_dir.exists() else {}
        shipped = shipped_version(self.shipped)
        paths.setdefault(shipped, self.shipped)
        out = []
        for version, path in paths.items():
            data = json.loads(path.read_text(encoding="utf-8"))
            entry = promoted.get(version, {})
            out.append(VersionInfo(version, path, version == current, version in stack,
                                   dict(data.get("trained_on", {})), entry.get("at"), entry.get("figures")))
        return sorted(out, key=lambda v: (v.promoted_at or "", v.version))

    # ---- writing (the model CLI) ---------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def add(self, model: dict[str, Any]) -> Path:
        """Keep a trained model as a version (idempotent: same data, same version, same file)."""
        path = self.path_of(str(model["version"]))
        if not path.exists():
            self.versions_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
            dump(model, tmp)
            os.replace(tmp, path)
        return path

    def _keep_shipped(self) -> None:
        """The shipped model becomes a stored version (rollback target even after a code update)."""
        path = self.path_of(shipped_version(self.shipped))
        if not path.exists():
            self.versions_dir.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, self.shipped.read_text(encoding="utf-8"))

    def _log(self, entry: dict[str, Any]) -> None:
        with open(self.history_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def promote(self, version: str, *, by: str = "cli", figures: dict[str, Any] | None = None) -> None:
        """Make a stored version current: history first, then the pointer (one atomic rename)."""
        with self._locked():
            if not self.path_of(version).exists():
                raise StoreError(f"version {version} is not in the store")
            previous = self.current_version()
            if previous == version:
                raise StoreError(f"version {version} is already current")
            if self.pointed() is None:
                self._keep_shipped()
            Model.load(self.path_of(version))  # a file that does not load is never promoted
            self._log({"action": "promote", "version": version, "previous": previous, "by": by,
                       "at": datetime.now(UTC).isoformat(), "figures": figures})
            _atomic_write(self.pointer, version + "\n")

    def rollback(self, *, by: str = "cli") -> str:
        """Return to the version that was current before the current one; returns it."""
        with self._locked():
            stack = self.stack()
            if len(stack) < 2:
                raise StoreError("nothing to roll back to: the current model is the first version")
            current, target = stack[-1], stack[-2]
            if not self.path_of(target).exists():
                raise StoreError(f"version {target} is missing from {self.versions_dir}")
            self._log({"action": "rollback", "version": target, "previous": current, "by": by,
                       "at": datetime.now(UTC).isoformat()})
            _atomic_write(self.pointer, target + "\n")
            return target


class EngineHolder:
    """The engine a process decides with, swapped when the store's pointer changes.

    Only a *change* of the pointer swaps: a process started with an injected engine (tests,
    benchmarks) keeps it until a version is promoted or rolled back while it runs.
    """

    def __init__(self, city: CityConfig, store: ModelStore, engine: Engine | None = None) -> None:
        self.store = store
        self._seen = store.pointed()
        self._failed: str | None = None
        if engine is None:
            try:
                engine = Engine(city, store.load_current())
            except Exception as exc:  # a broken store must not stop the process: the shipped model decides
                log.error("model %s not loaded, using the shipped model: %s: %s", self._seen, type(exc).__name__, exc)
                self._failed = self._seen
                engine = Engine(city, Model.load(store.shipped))
        self.engine = engine

    @property
    def version(self) -> str:
        return self.engine.model.version

    def check(self) -> bool:
        """Blocking (file reads, model build: run it in a thread). True if the engine was swapped."""
        pointed = self.store.pointed()
        if pointed == self._seen or pointed == self._failed:
            return False
        try:
            model = Model.load(self.store.current_path())
            engine = Engine(self.engine.city, model)
        except Exception as exc:  # a bad file must not stop deciding: keep the engine in use
            log.error("model %s not loaded, keeping %s: %s: %s", pointed, self.version, type(exc).__name__, exc)
            self._failed = pointed
            return False
        old = self.version
        self.engine = engine
        self._seen = pointed
        self._failed = None
        log.info("model swapped: %s -> %s", old, model.version)
        return True
