"""The local-filesystem ``MediaStore``: ``<root>/<sha[:2]>/<sha>``, written atomically.

A blob is written to a temporary file in its final directory, flushed to disk and renamed
into place, so a reader (or a crash) never sees a partial file; two processes storing the
same bytes rename identical files over each other, which is harmless.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from services.core.media import SHA256_HEX


class LocalMediaStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not SHA256_HEX.match(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def put(self, content: bytes) -> str:
        sha = hashlib.sha256(content).hexdigest()
        final = self.path(sha)
        if final.is_file() and final.stat().st_size == len(content):
            return sha
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return sha

    def get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except (FileNotFoundError, ValueError):
            return None
