"""The tracker registers dispatched cases for the live alerts on real Redis; Redis away holds them, not the projection."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from services.core.alerts import AlertKind, AlertRaised
from services.platform.embedded import free_port
from services.tracker.dispatch_watch import DispatchWatch
from tests.integration.tracker.test_alert_state import state
from tests.integration.tracker.test_alerts_stream import routed


async def test_dispatched_cases_raise_due_deadlines_and_hot_spots_once(redis: Redis, redis_prefix: str) -> None:
    sent: list[AlertRaised] = []

    async def send(alert: AlertRaised) -> None:
        sent.append(alert)

    watch = DispatchWatch(state(redis, redis_prefix), send)
    now = datetime.now(UTC)
    late = routed("RG20261127800001", received_at=now - timedelta(hours=5))
    spot = [routed(f"RG2026112780010{i}", received_at=now - timedelta(minutes=9 - i), village="东陈社区居委会")
            for i in range(3)]
    watch.add([late, *spot[:2]])
    assert await watch.flush()
    watch.add([spot[2], late])  # `late` again (a replay): nothing new for it
    assert await watch.flush()
    kinds = sorted((a.ticket_no, a.kind.value) for a in sent if a.kind != AlertKind.HOTSPOT)
    assert kinds == [("RG20261127800001", k) for k in
                     sorted(["accept_near_due", "accept_overdue", "resolve_near_due", "resolve_overdue"])]
    spots = [a for a in sent if a.kind == AlertKind.HOTSPOT]
    assert len(spots) == 1 and spots[0].place == "东陈社区居委会" and spots[0].data["count"] == 3
    assert (watch.registered, watch.raised, watch.waiting) == (5, 5, 0)
    # the router's deadline check sees the registered cases (state shared through Redis)
    assert await redis.zscore(f"{redis_prefix}alerts:due", spot[0].complaint_id) is not None


async def test_redis_away_keeps_cases_waiting_until_it_answers(redis: Redis, redis_prefix: str) -> None:
    sent: list[AlertRaised] = []

    async def send(alert: AlertRaised) -> None:
        sent.append(alert)

    away = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    alert_state = state(away, redis_prefix)
    watch = DispatchWatch(alert_state, send, max_waiting=2)
    now = datetime.now(UTC)
    late = [routed(f"RG2026112780020{i}", received_at=now - timedelta(hours=5), village=f"村{i}") for i in range(3)]
    watch.add(late)  # never waits: the projection goes on
    assert (watch.waiting, watch.dropped) == (2, 1)  # bounded: the oldest went
    assert not await watch.flush()
    assert (watch.waiting, sent) == (2, [])  # kept for the next try
    alert_state.redis = redis  # Redis is back
    runner = asyncio.create_task(watch.run(retry_s=0.05))
    try:
        for _ in range(200):
            if watch.registered == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        runner.cancel()
    assert watch.waiting == 0 and watch.registered == 2
    assert {a.ticket_no for a in sent} == {"RG20261127800201", "RG20261127800202"}
    await away.aclose()


async def test_a_failed_send_gives_the_claim_back(redis: Redis, redis_prefix: str) -> None:
    tried: list[AlertRaised] = []

    async def broken(alert: AlertRaised) -> None:
        tried.append(alert)
        raise ConnectionError("broker away")

    alert_state = state(redis, redis_prefix)
    watch = DispatchWatch(alert_state, broken)
    watch.add([routed("RG20261127800301", received_at=datetime.now(UTC) - timedelta(hours=5))])
    assert await watch.flush()
    assert watch.registered == 1 and watch.raised == 0 and len(tried) == 4  # the four deadline alerts
    assert all([await alert_state.claim(a) for a in tried])  # unclaimed again: a later check can raise them
