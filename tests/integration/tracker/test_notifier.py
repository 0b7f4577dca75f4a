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
from tests.integration.tracker.conftest import WECHAT_APPID, WECHAT_SECRET, Api, make_case
from tests.integration.wechat.fake_wechat_api import FakeWeChatApi

OPENID = "oNotifierCitizen"


@pytest.fixture
def prefix(api: Api) -> str:
    return f"{api.redis_prefix}wechat:"


@pytest.fixture
async def notifier(api: Api, wechat: FakeWeChatApi, redis: Redis, prefix: str) -> AsyncIterator[Notifier]:
    client = WeChatApiClient(WeChatApiSettings.model_validate(
        {"appid": WECHAT_APPID, "secret": WECHAT_SECRET, "base_url": wechat.base_url, "key_prefix": prefix}), redis)
    yield Notifier(TrackerSettings(), api.sessions, Engine.load("rugao"), client)
    await client.aclose()


async def test_a_notification_in_progress_elsewhere_is_asked_again_until_sent(
        api: Api, wechat: FakeWeChatApi, redis: Redis, prefix: str, notifier: Notifier) -> None:
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


async def test_the_citizen_is_told_even_if_redis_lost_the_time_of_the_message(
        api: Api, wechat: FakeWeChatApi, notifier: Notifier) -> None:
    """Redis restarted while the complaint came in: the case's own time keeps the 48 h window open."""
    ticket = make_case(api.sessions, channel=Channel.WECHAT, citizen_id="oNoMarkCitizen")
    assert api.post("squad", f"/api/v1/cases/{ticket}/accept").status_code == 200
    assert await notifier.sweep() == 1
    assert len(wechat.custom) == 1 and ticket in str(wechat.custom[0])
