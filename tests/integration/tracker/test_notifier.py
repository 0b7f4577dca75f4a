"""The notifier tells the citizen once; a notification being sent elsewhere is asked again, not given up."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.core.engine import Engine
from services.core.events import Channel
from services.intake.wechat.client import WeChatApiClient, WeChatApiSettings
from services.intake.wechat.state import WeChatState
from services.platform.settings import TrackerSettings
from services.tracker.notifier import CaseNotification, Notifier
from tests.integration.tracker.conftest import Api, make_case
from tests.integration.wechat.fake_wechat_api import FakeWeChatApi

APPID, SECRET, OPENID = "wx49f0ab532d5d035a", "notify-secret", "oNotifierCitizen"


@pytest.fixture
async def wechat() -> AsyncIterator[FakeWeChatApi]:
    server = FakeWeChatApi(APPID, SECRET)
    await server.start()
    yield server
    await server.stop()


async def test_a_notification_in_progress_elsewhere_is_asked_again_until_sent(
        api: Api, wechat: FakeWeChatApi, redis: Redis) -> None:
    prefix = f"{api.redis_prefix}wechat:"
    client = WeChatApiClient(WeChatApiSettings.model_validate(
        {"appid": APPID, "secret": SECRET, "base_url": wechat.base_url, "key_prefix": prefix}), redis)
    notifier = Notifier(TrackerSettings(), api.sessions, Engine.load("rugao"), client)
    try:
        ticket = make_case(api.sessions, channel=Channel.WECHAT, citizen_id=OPENID)
        await WeChatState(redis, prefix).mark_last_message(OPENID)
        assert api.post("squad", f"/api/v1/cases/{ticket}/accept").status_code == 200
        [(event, _case)] = notifier.pending()
        claim = f"{prefix}notif:case-event:{event.event_id}"
        await redis.set(claim, f"sending:{time.time() + 60!r}")  # another tracker is sending it now

        assert await notifier.sweep() == 0
        assert wechat.custom == [] and len(notifier.pending()) == 1  # not recorded as done

        await redis.delete(claim)  # that send failed and gave the claim back
        assert await notifier.sweep() == 1
        assert len(wechat.custom) == 1 and ticket in str(wechat.custom[0])
        assert notifier.pending() == [] and await notifier.sweep() == 0  # recorded: never sent again
        with api.sessions() as s:
            assert s.get(CaseNotification, event.event_id).status == "sent_custom"  # type: ignore[union-attr]
    finally:
        await client.aclose()


async def test_the_citizen_is_told_even_if_redis_lost_the_time_of_the_message(
        api: Api, wechat: FakeWeChatApi, redis: Redis) -> None:
    """Redis restarted while the complaint came in: the case's own time keeps the 48 h window open."""
    client = WeChatApiClient(WeChatApiSettings.model_validate(
        {"appid": APPID, "secret": SECRET, "base_url": wechat.base_url, "key_prefix": f"{api.redis_prefix}wechat:"}),
        redis)
    notifier = Notifier(TrackerSettings(), api.sessions, Engine.load("rugao"), client)
    try:
        ticket = make_case(api.sessions, channel=Channel.WECHAT, citizen_id="oNoMarkCitizen")
        assert api.post("squad", f"/api/v1/cases/{ticket}/accept").status_code == 200
        assert await notifier.sweep() == 1
        assert len(wechat.custom) == 1 and ticket in str(wechat.custom[0])
    finally:
        await client.aclose()
