"""The router's alert state on real Redis: follows tracker events, raises each alert once across restarts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from services.core.alerts import AlertKind, AlertRaised
from services.core.events import CaseEvent
from services.router.alert_state import AlertState
from tests.integration.tracker.test_alerts_stream import routed

T0 = datetime.now(UTC)


def state(redis: Redis, prefix: str) -> AlertState:
    return AlertState(redis, prefix, hotspot_threshold=3, hotspot_window=timedelta(hours=1))


def event(ticket: str, cid: str, type_: str, **snap: Any) -> CaseEvent:
    case = {"status": "accepted", "unit": "SQ_BAIPU", "category": "NOISE_CONSTRUCTION", "territory": "320682105",
            "received_at": T0.isoformat(), "accept_by": (T0 + timedelta(minutes=30)).isoformat(),
            "resolve_by": (T0 + timedelta(hours=4)).isoformat(), "accepted_at": None, **snap}
    return CaseEvent(event_id=f"{type_}-{uuid.uuid4().hex}", complaint_id=cid, ticket_no=ticket, type=type_,
                     actor="squad:x@SQ_BAIPU", at=T0, data={"case": case})


async def raise_once(s: AlertState, alerts: list[AlertRaised]) -> list[str]:
    return [a.kind.value for a in alerts if await s.claim(a)]


async def test_accept_stops_accept_alerts_and_resolve_stops_everything(redis: Redis, redis_prefix: str) -> None:
    s = state(redis, redis_prefix)
    ev = routed("RG20261126800001", received_at=T0)
    assert await s.track_routed(ev, T0) == []
    accepted_at = (T0 + timedelta(minutes=10)).isoformat()
    await s.apply_case_event(event(ev.ticket_no, ev.complaint_id, "accepted", accepted_at=accepted_at), T0)
    assert await raise_once(s, await s.due_alerts(T0 + timedelta(hours=1))) == []
    assert await raise_once(s, await s.due_alerts(T0 + timedelta(hours=3, minutes=30))) == ["resolve_near_due"]
    await s.apply_case_event(event(ev.ticket_no, ev.complaint_id, "resolved", status="resolved"), T0)
    assert await s.due_alerts(T0 + timedelta(hours=5)) == []
    assert await s.track_routed(ev, T0 + timedelta(hours=5)) == []  # a late replay does not re-open it
    await s.apply_case_event(event(ev.ticket_no, ev.complaint_id, "reopened", status="reopened",
                                   accepted_at=accepted_at), T0)
    assert await raise_once(s, await s.due_alerts(T0 + timedelta(hours=5))) == ["resolve_overdue"]


async def test_restart_does_not_raise_again(redis: Redis, redis_prefix: str) -> None:
    first = state(redis, redis_prefix)
    ev = routed("RG20261126800002", received_at=T0 - timedelta(hours=1))
    raised = await raise_once(first, await first.track_routed(ev, T0))
    assert raised == [AlertKind.ACCEPT_NEAR_DUE.value, AlertKind.ACCEPT_OVERDUE.value]
    restarted = state(redis, redis_prefix)  # a new worker, same Redis
    assert await raise_once(restarted, await restarted.track_routed(ev, T0)) == []
    assert await raise_once(restarted, await restarted.due_alerts(T0 + timedelta(minutes=1))) == []


async def test_claim_many_matches_one_by_one_claims(redis: Redis, redis_prefix: str) -> None:
    s = state(redis, redis_prefix)
    now = datetime.now(UTC)

    def spot(place: str, moment: datetime) -> AlertRaised:
        return AlertRaised(alert_id=f"hotspot:GARBAGE:{place}:{moment.isoformat()}", kind=AlertKind.HOTSPOT,
                           raised_at=now, message="热点", category="GARBAGE", place=place)

    def overdue(ticket: str) -> AlertRaised:
        return AlertRaised(alert_id=f"accept_overdue:{ticket}", kind=AlertKind.ACCEPT_OVERDUE, raised_at=now,
                           message="超时", ticket_no=ticket)

    first = [overdue("T1"), spot("A村", now), spot("A村", now + timedelta(hours=1)), overdue("T1"), spot("B村", now)]
    # one per alert id; the second bucket of A村 falls in its cool-down, as with claim()
    assert [a.alert_id for a in await s.claim_many(first)] == [first[0].alert_id, first[1].alert_id,
                                                               first[4].alert_id]
    assert await s.claim_many(first) == [] and await s.claim_many([]) == []
    assert [a.alert_id for a in await s.claim_many([overdue("T2")])] == ["accept_overdue:T2"]
