"""Citizens' WeChat photos and voice messages are copied before WeChat drops them, and served to staff.

Real SQLite/PostgreSQL and Redis, the real API app, and a local server that answers like the WeChat API.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from services.core import media
from services.core.events import Attachment, Channel
from services.core.media import MediaStore
from services.intake.wechat.client import WeChatApiClient, WeChatApiSettings
from services.platform.settings import MediaSettings
from services.tracker import supplements
from services.tracker.media import MediaFetcher
from services.tracker.models import Case
from tests.integration.tracker.conftest import WECHAT_APPID as APPID
from tests.integration.tracker.conftest import WECHAT_SECRET as SECRET
from tests.integration.tracker.conftest import Api, make_case
from tests.integration.wechat.fake_wechat_api import FakeWeChatApi

JPEG = b"\xff\xd8\xff\xe0" + os.urandom(4096) + b"\xff\xd9"
AMR = b"#!AMR\n" + os.urandom(2048)
OPENID = "oMediaCitizen"


FetcherFactory = Callable[..., MediaFetcher]


@pytest.fixture
async def make_fetcher(api: Api, wechat: FakeWeChatApi, redis: Redis) -> AsyncIterator[FetcherFactory]:
    clients: list[WeChatApiClient] = []

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    def factory(max_bytes: int = 10 * 2**20, **settings: Any) -> MediaFetcher:
        prefix = f"{api.redis_prefix}wechat:"
        client = WeChatApiClient(WeChatApiSettings(appid=APPID, secret=SecretStr(SECRET), base_url=wechat.base_url,
                                                   key_prefix=prefix, media_max_bytes=max_bytes, max_attempts=2),
                                 redis, sleep=no_sleep)
        clients.append(client)
        return MediaFetcher(MediaSettings(**settings), api.sessions, client, store(api), redis, prefix)

    yield factory
    for c in clients:
        await c.aclose()


def store(api: Api) -> MediaStore:
    media: MediaStore = api.client.app.state.media  # type: ignore[attr-defined]
    return media


def wechat_case(api: Api, *media_ids: str, received_at: datetime | None = None) -> str:
    atts = [Attachment(kind="voice" if m.startswith("voice") else "image", media_id=m,
                       url=None if m.startswith("voice") else f"http://mmbiz.qpic.cn/{m}") for m in media_ids]
    return make_case(api.sessions, channel=Channel.WECHAT, citizen_id=OPENID, received_at=received_at,
                     attachments=[*atts, Attachment(kind="link", url="https://example.cn/post")])


def media_of(api: Api, ticket: str) -> list[dict[str, Any]]:
    return list(api.case(ticket).attachments)


def url(ticket: str, index: int) -> str:
    return f"/api/v1/cases/{ticket}/attachments/{index}"


async def test_photo_and_voice_are_stored_and_served_to_who_may_see_the_case(
        api: Api, wechat: FakeWeChatApi, make_fetcher: FetcherFactory) -> None:
    wechat.add_media("img-a", JPEG, "image/jpeg")
    wechat.add_media("voice-a", AMR, "audio/amr")
    ticket = wechat_case(api, "img-a", "voice-a")
    version = api.case(ticket).version

    result = await make_fetcher().sweep()

    assert (result.stored, result.given_up, result.failed) == (2, 0, 0)
    image, voice, link = media_of(api, ticket)
    assert image["sha256"] == hashlib.sha256(JPEG).hexdigest() and image["size"] == len(JPEG)
    assert image["content_type"] == "image/jpeg" and image["media_id"] == "img-a"
    assert image["url"] == "http://mmbiz.qpic.cn/img-a" and "fetched_at" in image
    assert (voice["sha256"], voice["content_type"]) == (hashlib.sha256(AMR).hexdigest(), "audio/amr")
    assert "sha256" not in link and api.case(ticket).version == version + 2
    assert store(api).get(image["sha256"]) == JPEG

    for role in ("admin", "command", "operator", "squad"):
        r = api.get(role, url(ticket, 0))
        assert r.status_code == 200, (role, r.text)
        assert r.content == JPEG and r.headers["content-type"] == "image/jpeg"
    r = api.get("squad", url(ticket, 1))
    assert r.content == AMR and r.headers["content-type"] == "audio/amr"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert api.get("squad_other", url(ticket, 0)).status_code == 403  # another unit's case
    assert api.get("anonymous", url(ticket, 0)).status_code == 401

    missing = api.get("admin", url(ticket, 7))
    assert missing.status_code == 404 and missing.json()["media_state"] == "missing" and "没有第 7 个附件" in missing.json()["detail"]
    assert api.get("admin", url(ticket, 2)).json()["media_state"] == "none"  # the link has no file

    detail = api.get("squad", f"/api/v1/cases/{ticket}").json()
    assert [(a["media_state"], a["stored_url"]) for a in detail["attachments"]] == [
        ("stored", url(ticket, 0)), ("stored", url(ticket, 1)), ("none", None)]
    queue = api.get("squad", "/api/v1/units/SQ_BAIPU/cases").json()["cases"]
    assert next(c for c in queue if c["ticket_no"] == ticket)["attachments"][0]["stored_url"] == url(ticket, 0)


async def test_second_sweep_and_a_concurrent_fetcher_download_nothing_twice(
        api: Api, wechat: FakeWeChatApi, make_fetcher: FetcherFactory) -> None:
    for m in ("img-b", "img-c", "voice-b"):
        wechat.add_media(m, os.urandom(1000) + m.encode(), "audio/amr" if m.startswith("voice") else "image/jpeg")
    ticket = wechat_case(api, "img-b", "img-c", "voice-b")

    one, two = await asyncio.gather(make_fetcher().sweep(), make_fetcher().sweep())  # two tracker processes
    assert one.stored + two.stored == 3
    stored = media_of(api, ticket)
    again = await make_fetcher().sweep()

    assert (again.stored, again.given_up, again.failed) == (0, 0, 0)
    assert sorted(wechat.media_requests) == ["img-b", "img-c", "voice-b"]
    assert media_of(api, ticket) == stored and len(stored) == 4
    assert all(a.get("sha256") for a in stored[:3])


async def test_expired_media_is_marked_and_never_asked_for_again(
        api: Api, wechat: FakeWeChatApi, make_fetcher: FetcherFactory) -> None:
    ticket = wechat_case(api, "img-gone")  # WeChat answers 40007
    fetcher = make_fetcher()

    assert (await fetcher.sweep()).given_up == 1
    assert (await fetcher.sweep()).given_up == 0
    att = media_of(api, ticket)[0]
    assert att["media_state"] == "expired" and "40007" in att["media_error"] and "sha256" not in att
    assert wechat.media_requests == ["img-gone"]
    r = api.get("command", url(ticket, 0))
    assert r.status_code == 404 and r.json()["media_state"] == "expired" and "过期" in r.json()["detail"]


async def test_media_older_than_three_days_is_expired_without_asking(
        api: Api, wechat: FakeWeChatApi, make_fetcher: FetcherFactory) -> None:
    wechat.add_media("img-old", JPEG)
    ticket = wechat_case(api, "img-old", received_at=datetime.now(UTC) - timedelta(days=3, hours=1))

    assert (await make_fetcher().sweep()).given_up == 1
    assert media_of(api, ticket)[0]["media_state"] == "expired" and wechat.media_requests == []


async def test_expired_token_is_refreshed_and_the_medium_stored(
        api: Api, wechat: FakeWeChatApi, make_fetcher: FetcherFactory) -> None:
    wechat.add_media("img-tok", JPEG)
    ticket = wechat_case(api, "img-tok")
    fetcher = make_fetcher()
    old = await fetcher.client.access_token()
    wechat.expire_current()  # 42001 for the cached token

    assert (await fetcher.sweep()).stored == 1
    assert media_of(api, ticket)[0]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert wechat.current != old and wechat.media_requests == ["img-tok", "img-tok"]


async def test_oversized_medium_is_refused_and_nothing_stored(
        api: Api, wechat: FakeWeChatApi, make_fetcher: FetcherFactory) -> None:
    wechat.add_media("img-big", b"\xff" * 50_000)
    ticket = wechat_case(api, "img-big")
    fetcher = make_fetcher(max_bytes=20_000)

    assert (await fetcher.sweep()).given_up == 1
    await fetcher.sweep()
    att = media_of(api, ticket)[0]
    assert att["media_state"] == "too_large" and "sha256" not in att
    assert store(api).get(hashlib.sha256(b"\xff" * 50_000).hexdigest()) is None
    assert wechat.media_requests == ["img-big"]
    assert api.get("admin", url(ticket, 0)).json()["media_state"] == "too_large"


async def test_transient_failure_backs_off_then_succeeds(
        api: Api, wechat: FakeWeChatApi, make_fetcher: FetcherFactory) -> None:
    wechat.add_media("img-flaky", JPEG)
    wechat.then("media", ("http", 503), ("http", 503))  # the client's two attempts of the first sweep
    ticket = wechat_case(api, "img-flaky")
    # a back-off long enough that a slow second sweep (PostgreSQL on a busy machine) still falls in it
    fetcher = make_fetcher(media_retry_base_s=2.0)

    assert (await fetcher.sweep()).failed == 1
    assert (await fetcher.sweep()).failed == 0  # backing off: not asked again yet
    assert len(wechat.media_requests) == 2 and "sha256" not in media_of(api, ticket)[0]
    await asyncio.sleep(2.1)
    assert (await fetcher.sweep()).stored == 1
    assert media_of(api, ticket)[0]["sha256"] == hashlib.sha256(JPEG).hexdigest()


async def test_a_supplement_photo_is_fetched_and_a_concurrent_supplement_is_kept(
        api: Api, wechat: FakeWeChatApi, make_fetcher: FetcherFactory) -> None:
    wechat.add_media("img-first", JPEG)
    wechat.add_media("img-later", AMR, "image/png")
    ticket = wechat_case(api, "img-first")
    case = api.case(ticket)
    fetcher = make_fetcher()
    due = await asyncio.to_thread(fetcher.pending)
    mine = next(d for d in due if d.complaint_id == case.complaint_id)

    # the citizen sends another photo after the fetcher read the case and before it writes
    photo = Attachment(kind="image", media_id="img-later", url="http://mmbiz.qpic.cn/img-later")
    with api.sessions.begin() as s:
        supplements.add(s, complaint_id=case.complaint_id, ticket_no=ticket, actor=f"citizen:wechat:{OPENID}",
                        data={"attachments": [photo.model_dump()]}, engine=None)
    await fetcher._fetch(mine)

    first, _link, later = media_of(api, ticket)
    assert first["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert later["media_id"] == "img-later" and "sha256" not in later and later["received_at"]
    assert (await fetcher.sweep()).stored == 1
    later = media_of(api, ticket)[2]
    assert later["sha256"] == hashlib.sha256(AMR).hexdigest() and later["content_type"] == "image/png"


async def test_a_write_that_lost_the_compare_and_set_is_merged_again(
        api: Api, wechat: FakeWeChatApi, make_fetcher: FetcherFactory) -> None:
    ticket = wechat_case(api, "img-cas")
    case = api.case(ticket)
    fetcher = make_fetcher()
    due = next(d for d in await asyncio.to_thread(fetcher.pending)
               if d.complaint_id == case.complaint_id)
    calls = 0

    def change(att: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:  # another writer commits between our read and our write
            with api.sessions.begin() as s:
                supplements.add(s, complaint_id=case.complaint_id, ticket_no=ticket, actor="citizen:wechat:x",
                                data={"attachments": [Attachment(kind="image", media_id="img-cas-2").model_dump()]},
                                engine=None)
        return media.stored(att, sha256=hashlib.sha256(b"x").hexdigest(), size=1, content_type="image/jpeg",
                            fetched_at=datetime.now(UTC))

    assert await asyncio.to_thread(fetcher.record, due, change)
    after = media_of(api, ticket)
    assert calls == 2  # the first UPDATE found a newer version and wrote nothing
    assert after[0]["sha256"] == hashlib.sha256(b"x").hexdigest() and after[2]["media_id"] == "img-cas-2"
    assert api.case(ticket).version == case.version + 2


async def test_only_cases_marked_as_waiting_are_read_and_the_marker_follows_the_media(
        api: Api, wechat: FakeWeChatApi, make_fetcher: FetcherFactory) -> None:
    """A sweep reads the marked cases only (indexed), not every recent WeChat case."""
    wechat.add_media("img-mark", JPEG, "image/jpeg")
    ticket = wechat_case(api, "img-mark")
    plain = make_case(api.sessions, channel=Channel.WECHAT, citizen_id=OPENID)  # text only: nothing to fetch
    assert api.case(ticket).media_pending and not api.case(plain).media_pending
    fetcher = make_fetcher()
    assert {d.complaint_id for d in await asyncio.to_thread(fetcher.pending)} == {api.case(ticket).complaint_id}

    assert (await fetcher.sweep()).stored == 1
    assert not api.case(ticket).media_pending  # everything fetched: unmarked with the write

    # a photo sent later marks the case again
    photo = Attachment(kind="image", media_id="img-mark-2").model_dump()
    with api.sessions.begin() as s:
        supplements.add(s, complaint_id=api.case(ticket).complaint_id, ticket_no=ticket,
                        actor=f"citizen:wechat:{OPENID}", data={"attachments": [photo]}, engine=None)
    assert api.case(ticket).media_pending

    # a marked case with nothing left to fetch (marked by the migration, stored before) is unmarked
    with api.sessions.begin() as s:
        s.get(Case, api.case(plain).complaint_id).media_pending = True  # type: ignore[union-attr]
    assert all(d.complaint_id != api.case(plain).complaint_id for d in await asyncio.to_thread(fetcher.pending))
    assert not api.case(plain).media_pending
