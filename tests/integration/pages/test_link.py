"""POST /api/v1/cases/{ticket}/link: a repeated call is recorded on the open case, in one transaction."""

from __future__ import annotations

import json
import time
from typing import Any

import redis
from sqlalchemy import func, select

from services.core.events import CaseEvent
from services.platform.topics import CASES_EVENTS
from services.tracker.models import Case, CaseEventRow, OutboxRow
from tests.integration.pages.conftest import LiveApi

TEXT = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着"
CALL = {"text": "又打电话来了：唐堡村工地现在还在打桩", "phone": "13900001111", "name": "李先生"}


def test_link_records_the_call_on_the_case(api: LiveApi, redis_url: str) -> None:
    ticket = api.new_case(TEXT)
    with api.sessions() as s:
        case = s.scalars(select(Case).where(Case.ticket_no == ticket)).one()
        version, cid = case.version, case.complaint_id
    listener = redis.Redis.from_url(redis_url).pubsub()
    listener.subscribe(f"{api.redis_prefix}feed")
    r1 = api.post("operator", f"/api/v1/cases/{ticket}/link", CALL)
    assert r1.status_code == 201, r1.text
    assert r1.json()["linked_calls"] == 1 and r1.json()["ticket_no"] == ticket
    r2 = api.post("command", f"/api/v1/cases/{ticket}/link", {**CALL, "text": "第三次来电，仍在施工"})
    assert r2.status_code == 201 and r2.json()["linked_calls"] == 2
    with api.sessions() as s:
        case = s.scalars(select(Case).where(Case.ticket_no == ticket)).one()
        assert case.version == version + 2 and case.status == "dispatched"
        events = s.scalars(select(CaseEventRow).where(CaseEventRow.complaint_id == cid,
                                                      CaseEventRow.type == "linked_call")
                           .order_by(CaseEventRow.id)).all()
        assert [e.data["text"] for e in events] == [CALL["text"], "第三次来电，仍在施工"]
        assert events[0].actor.startswith("operator:") and events[1].actor.startswith("command:")
        assert events[0].data["phone"] == "13900001111" and events[0].data["name"] == "李先生"
        outbox = [CaseEvent.model_validate_json(o.payload) for o in s.scalars(
            select(OutboxRow).where(OutboxRow.topic == CASES_EVENTS, OutboxRow.key == cid))]
        assert [o.type for o in outbox] == ["linked_call", "linked_call"]
        assert outbox[1].data["case"]["version"] == version + 2
    # the case's history shows the calls; the live feed got them
    history = api.get("command", f"/api/v1/cases/{ticket}").json()["history"]
    assert [h["type"] for h in history][-2:] == ["linked_call", "linked_call"]
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        msg = listener.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if msg:
            seen.append(json.loads(msg["data"]))
    listener.close()
    assert [(m["type"], m["ticket_no"], m["unit"]) for m in seen] == [("linked_call", ticket, "SQ_BAIPU")] * 2


def test_link_is_idempotent_with_a_key(api: LiveApi) -> None:
    ticket = api.new_case(TEXT)
    first = api.post("operator", f"/api/v1/cases/{ticket}/link", CALL, **{"Idempotency-Key": "call-77"})
    again = api.post("operator", f"/api/v1/cases/{ticket}/link", CALL, **{"Idempotency-Key": "call-77"})
    assert first.status_code == again.status_code == 201
    assert again.json()["replayed"] is True and again.json()["event_id"] == first.json()["event_id"]
    with api.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CaseEventRow).where(CaseEventRow.type == "linked_call")) == 1


def test_link_refusals(api: LiveApi) -> None:
    ticket = api.new_case(TEXT)
    closed = api.new_case(TEXT, status="closed")
    assert api.post("squad", f"/api/v1/cases/{ticket}/link", CALL).status_code == 403
    assert api.post("anonymous", f"/api/v1/cases/{ticket}/link", CALL).status_code == 401
    assert api.post("operator", f"/api/v1/cases/{closed}/link", CALL).status_code == 409
    assert api.post("operator", "/api/v1/cases/RG20000101999999/link", CALL).status_code == 404
    bad = api.post("operator", f"/api/v1/cases/{ticket}/link", {**CALL, "phone": "abc"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "phone"]
    assert api.post("operator", f"/api/v1/cases/{ticket}/link", {**CALL, "extra": 1}).status_code == 422
    with api.sessions() as s:  # nothing half-stored by the refusals
        assert s.scalar(select(func.count()).select_from(CaseEventRow).where(CaseEventRow.type == "linked_call")) == 0
