"""/static on a real uvicorn: versioned URLs cached for a year, others briefly with an ETag; gzip when asked."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable

import httpx
import pytest

from services.tracker.pages.access import STATIC_DIR
from tests.integration.pages.conftest import LiveApi

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def live(api_factory: Callable[..., LiveApi]) -> LiveApi:
    return api_factory()


def raw_get(url: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (httpx would otherwise decode the gzip)."""
    with httpx.stream("GET", url, headers=headers, timeout=10) as r:
        return r, b"".join(r.iter_raw())


def asset_urls(live: LiveApi) -> list[str]:
    page = httpx.get(live.url + "/console", cookies={"c12319_token": live.tokens["operator"]}, timeout=10)
    assert page.status_code == 200
    urls = re.findall(r'(?:href|src)="(/static/[^"]+\?v=[0-9a-f]+)"', page.text)
    assert any(u.startswith("/static/style.css?v=") for u in urls) and any(".js?v=" in u for u in urls), urls
    return urls


def test_the_pages_versioned_assets_are_immutable_and_gzipped(live: LiveApi) -> None:
    for url in asset_urls(live):
        r, body = raw_get(live.url + url, **{"Accept-Encoding": "gzip, deflate, br"})
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == IMMUTABLE, url
        assert r.headers["content-encoding"] == "gzip", url
        assert r.headers["vary"] == "Accept-Encoding"
        assert r.headers["x-content-type-options"] == "nosniff"
        plain = (STATIC_DIR / url.split("?")[0].removeprefix("/static/")).read_bytes()
        assert gzip.decompress(body) == plain, url
        assert len(body) < len(plain) * 0.6, url
        assert int(r.headers["content-length"]) == len(body)


def test_identity_when_gzip_is_not_accepted(live: LiveApi) -> None:
    url = live.url + asset_urls(live)[0]
    plain = (STATIC_DIR / "style.css").read_bytes()
    for accept in ("identity", "gzip;q=0, br", ""):
        r, body = raw_get(url, **{"Accept-Encoding": accept})
        assert "content-encoding" not in r.headers, accept
        assert body == plain
        assert r.headers["cache-control"] == IMMUTABLE
        assert r.headers["vary"] == "Accept-Encoding"


def test_unversioned_or_stale_urls_are_cached_briefly_and_revalidate_with_the_etag(live: LiveApi) -> None:
    for url in ("/static/console.js", "/static/console.js?v=0000000000", "/static/console.js?v=a&v=b"):
        plain = httpx.get(live.url + url, headers={"Accept-Encoding": "identity"}, timeout=10)
        assert plain.status_code == 200
        assert plain.headers["cache-control"] == "public, max-age=300", url
        etag = plain.headers["etag"]
        again = httpx.get(live.url + url, headers={"Accept-Encoding": "identity", "If-None-Match": etag}, timeout=10)
        assert again.status_code == 304 and again.content == b""
        assert again.headers["cache-control"] == "public, max-age=300"
        zipped, body = raw_get(live.url + url, **{"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == plain.content
        # the compressed bytes are another representation: another ETag, revalidated on its own
        assert zipped.headers["etag"] != etag
        gz_again = httpx.get(live.url + url, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]},
                             timeout=10)
        assert gz_again.status_code == 304
        stale = httpx.get(live.url + url, headers={"Accept-Encoding": "gzip", "If-None-Match": etag}, timeout=10)
        assert stale.status_code == 200


def test_the_font_is_immutable_and_not_compressed_twice(live: LiveApi) -> None:
    css = (STATIC_DIR / "style.css").read_text(encoding="utf-8")
    found = re.search(r'url\("(/static/fonts/[^"]+\.woff2\?v=[0-9a-f]+)"\)', css)
    assert found
    r, body = raw_get(live.url + found.group(1), **{"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "font/woff2"
    assert r.headers["cache-control"] == IMMUTABLE
    assert "content-encoding" not in r.headers
    assert body == (STATIC_DIR / "fonts" / "rugao-sans-sc.woff2").read_bytes()
    # a wrong version of it is no year-long promise
    wrong = httpx.get(live.url + found.group(1).split("?")[0] + "?v=0123456789", timeout=10)
    assert wrong.headers["cache-control"] == "public, max-age=300"


def test_a_missing_file_is_404_without_a_cache_promise(live: LiveApi) -> None:
    r = httpx.get(live.url + "/static/nope.js?v=1", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 404
    assert "immutable" not in r.headers.get("cache-control", "")
