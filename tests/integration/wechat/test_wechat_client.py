"""The outbound client against a local server that answers like the WeChat API."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from api_fixtures import APPID, SECRET, ClientFactory
from fake_wechat_api import FakeWeChatApi
from redis.asyncio import Redis

from services.intake.wechat.client import NotifyStatus, WeChatApiError
from services.intake.wechat.state import WeChatState

TEMPLATE = "tmpl-progress"
DATA = {"thing1": "路灯不亮", "character_string2": "RG00000001", "phrase3": "已办结"}


async def recent(redis: Redis, prefix: str, openid: str, hours_ago: float = 0.1) -> None:
    await WeChatState(redis, prefix).mark_last_message(openid, time.time() - hours_ago * 3600)


async def test_token_cached_in_redis_and_shared(api: FakeWeChatApi, make_client: ClientFactory) -> None:
    a, b = make_client(), make_client()
    t1 = await a.access_token()
    t2 = await b.access_token()
    assert t1 == t2 == api.current and len(api.token_requests) == 1
    assert api.token_requests[0] == {"grant_type": "client_credential", "appid": APPID, "secret": SECRET,
                                     "force_refresh": False}


async def test_one_process_refreshes(api: FakeWeChatApi, make_client: ClientFactory) -> None:
    clients = [make_client() for _ in range(4)]
    tokens = await asyncio.gather(*(c.access_token() for c in clients for _ in range(5)))
    assert len(set(tokens)) == 1 and len(api.token_requests) == 1


async def test_expired_token_refresh_and_retry_once(
    api: FakeWeChatApi, make_client: ClientFactory, redis: Redis, prefix: str
) -> None:
    c = make_client()
    await recent(redis, prefix, "oA")
    old = await c.access_token()
    api.expire_current()  # 42001 on next use
    await c.send_text("oA", "您的工单已受理")
    assert api.current != old and len(api.token_requests) == 2
    assert api.custom[-1]["text"]["content"] == "您的工单已受理"
    # another process picks the new token up from Redis without asking WeChat
    assert await make_client().access_token() == api.current and len(api.token_requests) == 2


async def test_invalid_token_forces_refresh_when_stable_token_is_stuck(
    api: FakeWeChatApi, make_client: ClientFactory
) -> None:
    api.stuck = True
    c = make_client()
    await c.access_token()
    api.expire_current()  # normal mode keeps handing out the rejected token
    await c.send_text("oA", "x")
    assert [r["force_refresh"] for r in api.token_requests] == [False, False, True]


async def test_40001_refreshed_only_once_then_error(api: FakeWeChatApi, make_client: ClientFactory) -> None:
    c = make_client()
    await c.access_token()
    api.then("custom", ("errcode", 40001), ("errcode", 40001))
    with pytest.raises(WeChatApiError) as err:
        await c.send_text("oA", "x")
    assert err.value.errcode == 40001 and not api.custom


async def test_within_48h_customer_service_message(
    api: FakeWeChatApi, make_client: ClientFactory, redis: Redis, prefix: str
) -> None:
    await recent(redis, prefix, "oA", hours_ago=47)
    r = await make_client().notify("n-1", "oA", "您反映的问题已办结，工单号 RG00000001", template_id=TEMPLATE, data=DATA)
    assert r.status is NotifyStatus.SENT_CUSTOM and len(api.custom) == 1 and not api.subscribe
    assert api.custom[0] == {"touser": "oA", "msgtype": "text",
                             "text": {"content": "您反映的问题已办结，工单号 RG00000001"}}
    assert "办结".encode() in api.raw_bodies[-1]  # raw UTF-8, not \\u escapes


async def test_outside_48h_subscription_message(
    api: FakeWeChatApi, make_client: ClientFactory, redis: Redis, prefix: str
) -> None:
    await recent(redis, prefix, "oB", hours_ago=49)
    r = await make_client().notify("n-2", "oB", "已办结", template_id=TEMPLATE, data=DATA, page="pages/case")
    assert r.status is NotifyStatus.SENT_SUBSCRIBE and not api.custom
    assert api.subscribe == [{"touser": "oB", "template_id": TEMPLATE, "page": "pages/case",
                              "data": {k: {"value": v} for k, v in DATA.items()}}]
    r = await make_client().notify("n-3", "oNever", "已办结")  # no template, never messaged
    assert r.status is NotifyStatus.NO_CHANNEL and not r.sent


async def test_45015_falls_back_to_subscription(
    api: FakeWeChatApi, make_client: ClientFactory, redis: Redis, prefix: str
) -> None:
    await recent(redis, prefix, "oA")
    api.then("custom", ("errcode", 45015))
    r = await make_client().notify("n-4", "oA", "已受理", template_id=TEMPLATE, data=DATA)
    assert r.status is NotifyStatus.SENT_SUBSCRIBE and not api.custom and len(api.subscribe) == 1


async def test_45047_quota_is_reported_and_released(
    api: FakeWeChatApi, make_client: ClientFactory, redis: Redis, prefix: str
) -> None:
    await recent(redis, prefix, "oA")
    c = make_client()
    api.then("custom", ("errcode", 45047))
    r = await c.notify("n-5", "oA", "请评价")
    assert r.status is NotifyStatus.QUOTA and r.errcode == 45047 and r.retry_after_s and not r.sent
    r = await c.notify("n-5", "oA", "请评价")  # released: the retry later goes out
    assert r.status is NotifyStatus.SENT_CUSTOM and len(api.custom) == 1
    api.then("custom", ("errcode", 45047))
    r = await c.notify("n-6", "oA", "请评价", template_id=TEMPLATE, data=DATA)  # other channel available
    assert r.status is NotifyStatus.SENT_SUBSCRIBE


async def test_5xx_then_success_with_backoff(
    api: FakeWeChatApi, make_client: ClientFactory, redis: Redis, prefix: str
) -> None:
    await recent(redis, prefix, "oA")
    c = make_client(backoff_base_s=0.2)
    await c.access_token()
    api.then("custom", ("http", 502), ("http", 503), ("errcode", -1))
    r = await c.notify("n-7", "oA", "处理中")
    assert r.status is NotifyStatus.SENT_CUSTOM and len(api.custom) == 1
    sleeps: list[float] = c.sleeps  # type: ignore[attr-defined]
    assert len(sleeps) == 3
    assert 0.1 <= sleeps[0] <= 0.2 and 0.2 <= sleeps[1] <= 0.4 and 0.4 <= sleeps[2] <= 0.8  # exponential, jittered


async def test_final_failure_is_released_for_retry(
    api: FakeWeChatApi, make_client: ClientFactory, redis: Redis, prefix: str
) -> None:
    await recent(redis, prefix, "oA")
    c = make_client(max_attempts=2)
    await c.access_token()
    api.then("custom", ("http", 500), ("http", 500))
    r = await c.notify("n-8", "oA", "x")
    assert r.status is NotifyStatus.FAILED and r.errcode == -2 and not api.custom
    r = await c.notify("n-8", "oA", "x")
    assert r.status is NotifyStatus.SENT_CUSTOM and len(api.custom) == 1


async def test_network_error_retried_then_failed(make_client: ClientFactory, redis: Redis, prefix: str) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    c = make_client(base_url=dead, max_attempts=3)
    await recent(redis, prefix, "oA")
    r = await c.notify("n-9", "oA", "x", template_id=TEMPLATE)
    assert r.status is NotifyStatus.FAILED and r.errcode == -2
    assert len(c.sleeps) == 2  # type: ignore[attr-defined]
    assert await redis.get(prefix + "notif:n-9") is None  # released


async def test_never_sent_twice(api: FakeWeChatApi, make_client: ClientFactory, redis: Redis, prefix: str) -> None:
    await recent(redis, prefix, "oA")
    a, b = make_client(), make_client()  # two processes sharing Redis
    results = await asyncio.gather(*(c.notify("case-1:resolved", "oA", "已办结") for c in (a, b, a, b)))
    assert sorted(r.status for r in results).count(NotifyStatus.SENT_CUSTOM) == 1
    # the others found it being sent (in progress) or sent (duplicate): none sent it again
    assert sum(r.status in (NotifyStatus.DUPLICATE, NotifyStatus.IN_PROGRESS) for r in results) == 3
    assert (await b.notify("case-1:resolved", "oA", "已办结")).status is NotifyStatus.DUPLICATE
    assert len(api.custom) == 1


async def test_a_claim_in_progress_is_asked_again_and_a_dead_senders_claim_is_never_resent(
        api: FakeWeChatApi, make_client: ClientFactory, redis: Redis, prefix: str) -> None:
    await recent(redis, prefix, "oA")
    c = make_client()
    await redis.set(prefix + "notif:n-busy", f"sending:{time.time() + 60!r}")  # another tracker is sending it
    assert (await c.notify("n-busy", "oA", "已签收")).status is NotifyStatus.IN_PROGRESS  # not final
    await redis.delete(prefix + "notif:n-busy")  # its send failed: the claim was given back
    assert (await c.notify("n-busy", "oA", "已签收")).status is NotifyStatus.SENT_CUSTOM

    await redis.set(prefix + "notif:n-dead", f"sending:{time.time() - 1!r}")  # its sender was killed mid-send
    dead = await c.notify("n-dead", "oA", "已签收")
    assert dead.status is NotifyStatus.UNKNOWN and "died" in (dead.detail or "")
    assert len(api.custom) == 1  # maybe delivered by the dead sender: at most once, never twice


async def test_the_complaints_own_time_keeps_the_48h_window_when_redis_lost_the_last_message(
        api: FakeWeChatApi, make_client: ClientFactory) -> None:
    c = make_client()  # Redis has no last-message time for oLost (restarted while it came in)
    assert (await c.notify("n-lost-1", "oLost", "已签收")).status is NotifyStatus.NO_CHANNEL
    r = await c.notify("n-lost-2", "oLost", "已签收", last_message_at=time.time() - 3600)
    assert r.status is NotifyStatus.SENT_CUSTOM and len(api.custom) == 1
    old = await c.notify("n-lost-3", "oLost", "已签收", last_message_at=time.time() - 49 * 3600)
    assert old.status is NotifyStatus.NO_CHANNEL  # outside the window: no customer-service message
