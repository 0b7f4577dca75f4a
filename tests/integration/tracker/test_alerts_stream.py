"""Alerts end to end: the Faust router worker watches deadlines and hot spots (state in Redis) and
raises each alert once to the ``alerts`` topic; the tracker stores it (idempotent) for GET /api/v1/alerts."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from kafka import KafkaProducer
from sqlalchemy import func, select

from services.core.alerts import AlertKind, AlertRaised
from services.core.events import CategoryScore, Channel, ComplaintReceived, ComplaintRouted
from services.platform.db import make_engine, make_sessionmaker
from services.platform.migrate import upgrade
from services.platform.topics import ALERTS, COMPLAINTS_ROUTED
from services.tracker.models import AlertRow
from services.tracker.worker import apply_batch


def routed(ticket: str, *, received_at: datetime, village: str = "唐堡村委会", category: str = "NOISE_CONSTRUCTION",
           accept_in: timedelta = timedelta(minutes=30), resolve_in: timedelta = timedelta(hours=4)) -> ComplaintRouted:
    cid = str(uuid.uuid4())
    complaint = ComplaintReceived(event_id=f"recv-{cid}", complaint_id=cid, ticket_no=ticket, city="rugao",
                                  channel=Channel.HOTLINE, text="白蒲镇唐堡村工地夜间打桩", phone="13812345678",
                                  received_at=received_at)
    return ComplaintRouted(event_id=f"route-{cid}", complaint_id=cid, ticket_no=ticket, routed_at=received_at,
                           category=category, category_candidates=[CategoryScore(code=category, score=0.9)],
                           territory="320682105", village=village, unit="SQ_BAIPU", rule="test",
                           accept_by=received_at + accept_in, resolve_by=received_at + resolve_in, complaint=complaint)


def alerts(stack: Any, **params: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{stack.base_url}/api/v1/alerts", params={"limit": "1000", **params}, headers=stack.headers,
                  timeout=5)
    assert r.status_code == 200, r.text
    return list(r.json()["alerts"])


def wait_for(stack: Any, predicate: Any, timeout_s: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = alerts(stack)
        if predicate(found):
            return found
        time.sleep(0.3)
    raise AssertionError(f"alerts not as expected after {timeout_s}s: {found}\n{stack.logs('worker')[-3000:]}")


def test_overdue_case_raises_exactly_one_alert_and_hotspot_once(stack_factory: Any, database_url: str) -> None:
    stack = stack_factory(database_url, alert_check_every_s="0.5", hotspot_threshold="3")
    producer = KafkaProducer(bootstrap_servers=stack.env["COMPLAINTS_KAFKA_BOOTSTRAP"], acks="all")
    now = datetime.now(UTC)
    late = routed("RG20261126900001", received_at=now - timedelta(hours=5))  # both deadlines passed
    near = routed("RG20261126900002", received_at=now - timedelta(minutes=25))  # 83% of the accept time used
    fine = routed("RG20261126900003", received_at=now, village="丁堰社区居委会", category="GARBAGE")
    for ev in (late, near, fine, late):  # `late` twice: a redelivery
        producer.send(COMPLAINTS_ROUTED, key=ev.complaint_id.encode(), value=ev.model_dump_json().encode())
    producer.flush()

    def settled(found: list[dict[str, Any]]) -> bool:
        kinds = {(a["ticket_no"], a["kind"]) for a in found}
        return {("RG20261126900001", AlertKind.RESOLVE_OVERDUE.value),
                ("RG20261126900002", AlertKind.ACCEPT_NEAR_DUE.value)} <= kinds

    wait_for(stack, settled)
    # the same complaints again (a replay) and a few more checks of the timer: nothing new
    for ev in (late, near):
        producer.send(COMPLAINTS_ROUTED, key=ev.complaint_id.encode(), value=ev.model_dump_json().encode())
    producer.flush()
    time.sleep(3)
    found = alerts(stack)
    late_kinds = sorted(a["kind"] for a in found if a["ticket_no"] == "RG20261126900001")
    assert late_kinds == sorted(["accept_near_due", "accept_overdue", "resolve_near_due", "resolve_overdue"])
    assert [a["kind"] for a in found if a["ticket_no"] == "RG20261126900002"] == ["accept_near_due"]
    assert not [a for a in found if a["ticket_no"] == "RG20261126900003"]
    overdue = [a for a in found if a["kind"] == "accept_overdue"]
    assert len(overdue) == 1 and overdue[0]["unit"] == "SQ_BAIPU" and "签收时限" in overdue[0]["message"]

    # hot spot: 3 noise complaints from one village within the hour, then a 4th: one alert
    for i in range(4):
        ev = routed(f"RG2026112690010{i}", received_at=now - timedelta(minutes=10 - i), village="东陈社区居委会")
        producer.send(COMPLAINTS_ROUTED, key=ev.complaint_id.encode(), value=ev.model_dump_json().encode())
    producer.flush()
    spots = wait_for(stack, lambda f: any(a["kind"] == "hotspot" for a in f))
    time.sleep(1.5)
    spots = [a for a in alerts(stack) if a["kind"] == "hotspot"]
    assert len(spots) == 1 and spots[0]["place"] == "东陈社区居委会" and spots[0]["data"]["count"] in (3, 4)  # partitions run concurrently
    assert alerts(stack, kind="hotspot", unit="SQ_BAIPU")[0]["alert_id"] == spots[0]["alert_id"]
    producer.close()


def test_alert_store_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    sessions = make_sessionmaker(make_engine(database_url))
    alert = AlertRaised(alert_id="accept_overdue:RG20261126000001:2026-11-26T00:30:00Z", kind=AlertKind.ACCEPT_OVERDUE,
                        raised_at=datetime.now(UTC), message="工单已超过签收时限", ticket_no="RG20261126000001",
                        unit="SQ_BAIPU")
    raw = alert.model_dump_json().encode()
    with sessions.begin() as s:
        changes = apply_batch(s, [(ALERTS, raw), (ALERTS, raw)])
    with sessions.begin() as s:
        changes += apply_batch(s, [(ALERTS, raw), (ALERTS, b"not json")])
    assert [c["type"] for c in changes] == ["alert"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AlertRow)) == 1
