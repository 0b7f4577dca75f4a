"""Downloading temporary media (``/cgi-bin/media/get``) against a local server that answers like WeChat."""

from __future__ import annotations

import os

import pytest
from api_fixtures import ClientFactory
from fake_wechat_api import FakeWeChatApi

from services.intake.wechat.client import MediaTooLarge, WeChatApiError

JPEG = b"\xff\xd8\xff\xe0" + os.urandom(3000) + b"\xff\xd9"
AMR = b"#!AMR\n" + os.urandom(1500)


async def test_image_and_voice_bytes_and_type(api: FakeWeChatApi, make_client: ClientFactory) -> None:
    api.add_media("img-1", JPEG, "image/jpeg")
    api.add_media("voice-1", AMR, "audio/amr")
    c = make_client()
    image, voice = await c.get_media("img-1"), await c.get_media("voice-1")
    assert (image.content, image.content_type) == (JPEG, "image/jpeg")
    assert (voice.content, voice.content_type) == (AMR, "audio/amr")
    assert api.media_requests == ["img-1", "voice-1"] and len(api.token_requests) == 1


async def test_expired_media_is_errcode_40007_without_retry(api: FakeWeChatApi, make_client: ClientFactory) -> None:
    with pytest.raises(WeChatApiError) as err:
        await make_client().get_media("gone-after-3-days")
    assert err.value.errcode == 40007 and "invalid media_id" in err.value.errmsg
    assert api.media_requests == ["gone-after-3-days"]  # a final answer: asked once


async def test_expired_token_is_refreshed_and_the_download_retried_once(
        api: FakeWeChatApi, make_client: ClientFactory) -> None:
    api.add_media("img-2", JPEG)
    c = make_client()
    old = await c.access_token()
    api.expire_current()  # the next call with the cached token answers 42001
    medium = await c.get_media("img-2")
    assert medium.content == JPEG
    assert api.current != old and len(api.issued) == 2
    assert api.media_requests == ["img-2", "img-2"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversized_medium_is_refused(api: FakeWeChatApi, make_client: ClientFactory, chunked: bool) -> None:
    api.chunked_media = chunked
    api.add_media("big", b"\0" * 300_000)
    api.add_media("fits", b"\1" * 100_000)
    c = make_client(media_max_bytes=200_000)
    with pytest.raises(MediaTooLarge) as err:
        await c.get_media("big")
    assert err.value.limit == 200_000 and err.value.size > 200_000
    assert api.media_requests == ["big"]  # not retried
    assert (await c.get_media("fits")).content == b"\1" * 100_000


async def test_server_errors_are_retried_with_backoff(api: FakeWeChatApi, make_client: ClientFactory) -> None:
    api.add_media("img-3", JPEG)
    api.then("media", ("http", 502), ("errcode", -1))
    assert (await make_client().get_media("img-3")).content == JPEG
    assert api.media_requests == ["img-3"] * 3


async def test_gives_up_after_max_attempts(api: FakeWeChatApi, make_client: ClientFactory) -> None:
    api.add_media("img-4", JPEG)
    api.then("media", *[("http", 503)] * 5)
    with pytest.raises(WeChatApiError) as err:
        await make_client(max_attempts=3).get_media("img-4")
    assert err.value.errcode == -2 and "http 503" in err.value.errmsg
    assert len(api.media_requests) == 3
