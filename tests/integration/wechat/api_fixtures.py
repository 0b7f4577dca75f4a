"""Fixtures for tests of the outbound client: the fake WeChat API and clients against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from fake_wechat_api import FakeWeChatApi
from redis.asyncio import Redis

from services.intake.wechat.client import WeChatApiClient, WeChatApiSettings

APPID, SECRET = "wx49f0ab532d5d035a", "s3cr3t"
ClientFactory = Callable[..., WeChatApiClient]


@pytest.fixture
async def api() -> AsyncIterator[FakeWeChatApi]:
    server = FakeWeChatApi(APPID, SECRET)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_client(api: FakeWeChatApi, redis: Redis, prefix: str) -> AsyncIterator[ClientFactory]:
    """Clients with the given settings overrides; their back-off sleeps are recorded in ``.sleeps``, not slept."""
    made: list[WeChatApiClient] = []
    sleeps: list[float] = []

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)
        await asyncio.sleep(0)

    def factory(**overrides: object) -> WeChatApiClient:
        settings = WeChatApiSettings.model_validate(
            {"appid": APPID, "secret": SECRET, "base_url": api.base_url, "key_prefix": prefix, **overrides}
        )
        c = WeChatApiClient(settings, redis, sleep=fake_sleep)
        c.sleeps = sleeps  # type: ignore[attr-defined]
        made.append(c)
        return c

    yield factory
    for c in made:
        await c.aclose()
