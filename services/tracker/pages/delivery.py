"""How /static is delivered: cache headers by URL kind and gzip where the browser takes it.

- ``?v=`` equal to the pages' ``asset_version()`` (scripts, style) or to the file's own content hash
  (the font, whose URL is written in style.css): ``public, max-age=31536000, immutable`` - a new
  release has new URLs.  Any other URL (no ``v``, a stale or unknown one): a short max-age and the
  ETag, so a changed file is seen within minutes and an unchanged one is a 304.
- Text assets (CSS, JS, SVG, JSON, plain text) of 1 KiB or more are sent gzip-compressed when
  Accept-Encoding allows gzip, with ``Vary: Accept-Encoding`` and their own ETag; the compressed
  bytes are kept in memory per file version.  Fonts (woff2 is compressed already) and images go as
  they are.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections import OrderedDict
from functools import lru_cache
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Scope

from services.tracker.pages.screens import asset_version

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
MIN_GZIP_BYTES = 1024
GZIP_CACHE_FILES = 64
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")


@lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:10]


def accepts_gzip(headers: Headers) -> bool:
    """gzip (or ``*``) listed in Accept-Encoding with a q-value above 0."""
    for part in headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        q = params.strip()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


class CachedStaticFiles(StaticFiles):
    """StaticFiles with the cache policy and gzip above."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._gzipped: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    def cache_control(self, scope: Scope, full_path: str, stat_result: os.stat_result) -> str:
        versions = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [])
        if len(versions) != 1:
            return SHORT
        current = {asset_version(), _digest(full_path, stat_result.st_mtime_ns, stat_result.st_size)}
        return IMMUTABLE if versions[0] in current else SHORT

    def file_response(self, full_path: PathLike, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        request_headers = Headers(scope=scope)
        plain = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        plain.headers["cache-control"] = self.cache_control(scope, str(full_path), stat_result)
        plain.headers["x-content-type-options"] = "nosniff"
        media_type = plain.media_type or ""
        compressible = media_type.startswith(COMPRESSIBLE)
        if compressible:
            plain.headers["vary"] = "Accept-Encoding"
        if not (compressible and stat_result.st_size >= MIN_GZIP_BYTES and accepts_gzip(request_headers)
                and "range" not in request_headers):
            if self.is_not_modified(plain.headers, request_headers):
                return NotModifiedResponse(plain.headers)
            return plain
        etag = plain.headers["etag"]
        headers = {"etag": etag[:-1] + '-gz"' if etag.endswith('"') else etag + "-gz",
                   "last-modified": plain.headers["last-modified"], "cache-control": plain.headers["cache-control"],
                   "vary": "Accept-Encoding", "x-content-type-options": "nosniff", "content-encoding": "gzip"}
        if self.is_not_modified(Headers(headers=headers), request_headers):
            return NotModifiedResponse(Headers(headers=headers))
        return Response(self._gzip(str(full_path), etag), status_code=status_code, media_type=media_type,
                        headers=headers)

    def _gzip(self, path: str, etag: str) -> bytes:
        key = (path, etag)
        body = self._gzipped.get(key)
        if body is None:
            with open(path, "rb") as f:
                body = gzip.compress(f.read(), compresslevel=6, mtime=0)
            self._gzipped[key] = body
            while len(self._gzipped) > GZIP_CACHE_FILES:
                self._gzipped.popitem(last=False)
        else:
            self._gzipped.move_to_end(key)
        return body
