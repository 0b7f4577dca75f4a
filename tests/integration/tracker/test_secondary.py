"""A second city matter (issue 15): the routed event's ``secondary_category`` lands on the case and in
the case API with its Chinese name; an event from before the field routes a case without one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.core.dispatch import decide, routed_event
from services.core.engine import Engine
from services.core.events import Channel, ComplaintReceived, ComplaintRouted
from services.tracker.projection import apply_received, apply_routed
from tests.integration.tracker.conftest import Api, make_case, new_ticket

TWO_MATTERS = "白蒲镇唐堡村饭店厨房油烟直排呛人，还在人行道上摆桌子和炉灶占道经营。"


def test_secondary_category_lands_on_the_case_and_in_the_api(api: Api) -> None:
    ticket = make_case(api.sessions, category="CATERING_FUMES", secondary_category="OUT_OF_STORE")
    assert api.case(ticket).secondary_category == "OUT_OF_STORE"

    r = api.get("command", f"/api/v1/cases/{ticket}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["category"] == "CATERING_FUMES"
    assert body["secondary_category"] == "OUT_OF_STORE" and body["secondary_category_name"] == "店外经营"
    dispatched = [h for h in body["history"] if h["type"] == "dispatched"]
    assert dispatched[0]["data"]["secondary_category"] == "OUT_OF_STORE"

    # the lists the squad page and the dashboard read carry it too
    listed = {c["ticket_no"]: c for c in api.get("squad", "/api/v1/cases", unit="SQ_BAIPU", limit=500).json()["cases"]}
    assert listed[ticket]["secondary_category_name"] == "店外经营"
    queue = {c["ticket_no"]: c for c in api.get("squad", "/api/v1/units/SQ_BAIPU/cases", limit=500).json()["cases"]}
    assert queue[ticket]["secondary_category"] == "OUT_OF_STORE"


def test_an_event_without_the_field_routes_a_case_without_a_secondary(api: Api) -> None:
    ticket = make_case(api.sessions, routed=False)
    case = api.case(ticket)
    at = datetime.now(UTC)
    old = ComplaintRouted.model_validate_json(ComplaintRouted(
        event_id=f"route-{case.complaint_id}", complaint_id=case.complaint_id, ticket_no=ticket, routed_at=at,
        category="NOISE_CONSTRUCTION", category_candidates=[], unit="SQ_BAIPU", rule="test",
        accept_by=at + timedelta(hours=1), resolve_by=at + timedelta(hours=4),
    ).model_dump_json(exclude={"secondary_category"}))
    assert old.secondary_category is None
    with api.sessions.begin() as s:
        assert apply_routed(s, old)
    body = api.get("command", f"/api/v1/cases/{ticket}").json()
    assert body["status"] == "dispatched"
    assert body["secondary_category"] is None and body["secondary_category_name"] is None
    assert "secondary_category" not in [h for h in body["history"] if h["type"] == "dispatched"][0]["data"]


def test_the_routers_decision_carries_the_second_matter_to_the_case(api: Api, core: Engine) -> None:
    cid = str(uuid.uuid4())
    ticket = new_ticket()
    received = ComplaintReceived(event_id=f"recv-{cid}", complaint_id=cid, ticket_no=ticket, city="rugao",
                                 channel=Channel.HOTLINE, text=TWO_MATTERS, phone="13812345678",
                                 received_at=datetime.now(UTC), submitted_by="operator:test")
    decision = decide(core, received)
    assert decision.secondary is not None
    ev = routed_event(received, decision, router="stream", model_version=core.model.version)
    assert ev.secondary_category == decision.secondary
    with api.sessions.begin() as s:
        apply_received(s, received)
        s.flush()
        assert apply_routed(s, ComplaintRouted.model_validate_json(ev.model_dump_json()))
    body = api.get("admin", f"/api/v1/cases/{ticket}").json()
    assert body["category"] == decision.category
    assert body["secondary_category"] == decision.secondary
    assert body["secondary_category_name"] == core.city.categories[decision.secondary].name


def test_correcting_the_category_to_the_second_matter_clears_it(api: Api) -> None:
    ticket = make_case(api.sessions, category="CATERING_FUMES", secondary_category="OUT_OF_STORE")
    r = api.post("command", f"/api/v1/cases/{ticket}/reassign", {"unit": "SQ_RUCHENG", "category": "OUT_OF_STORE"})
    assert r.status_code == 200, r.text
    body = api.get("command", f"/api/v1/cases/{ticket}").json()
    assert body["category"] == "OUT_OF_STORE" and body["secondary_category"] is None
