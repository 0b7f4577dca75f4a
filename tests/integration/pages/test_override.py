"""Operator overrides: carried by the hotline intake, honoured by the router, recorded on the case."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from services.core.dispatch import decide, routed_event
from services.core.engine import Engine
from services.core.events import Channel, ComplaintReceived
from tests.e2e.test_pipeline import wait_routed
from tests.integration.pages.conftest import LiveApi

TEXT = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着"


def received(**overrides: str) -> ComplaintReceived:
    cid = str(uuid.uuid4())
    return ComplaintReceived.model_validate({
        "event_id": f"recv-{cid}", "complaint_id": cid, "ticket_no": "RG20261126000001", "city": "rugao",
        "channel": Channel.HOTLINE, "text": TEXT, "received_at": datetime.now(UTC), **overrides})


def test_router_honours_and_records_overrides() -> None:
    engine = Engine.load("rugao")
    plain = routed_event(received(), decide(engine, received()), router="stream")
    assert (plain.category, plain.unit, plain.override) == ("NOISE_CONSTRUCTION", "SQ_BAIPU", None)
    ev = received(category_override="NOISE_SOCIAL", territory_override="320682104", unit_override="SQ_MOTOU")
    out = routed_event(ev, decide(engine, ev), router="stream")
    assert out.category == "NOISE_SOCIAL" and out.category_candidates[0].code == "NOISE_SOCIAL"
    assert out.territory == "320682104" and out.territory_name == "丁堰镇"
    assert out.unit == "SQ_MOTOU" and out.rule == "operator override"
    assert out.override == {"category": "NOISE_SOCIAL", "territory": "320682104", "unit": "SQ_MOTOU"}
    # only the territory: the unit follows the routing rules for that town
    town = received(territory_override="320682104")
    assert decide(engine, town).unit == "SQ_DINGYAN"
    # an unknown value (not from the hotline, which refuses it) is ignored, never a crash
    odd = received(category_override="NO_SUCH", unit_override="NOPE")
    assert (decide(engine, odd).category, decide(engine, odd).unit) == ("NOISE_CONSTRUCTION", "SQ_BAIPU")


def test_hotline_refuses_unknown_overrides(api: LiveApi) -> None:
    body = {"channel": "hotline", "text": TEXT, "phone": "13812345678"}
    for field, value in (("category_override", "NO_SUCH"), ("territory_override", "999999999"),
                         ("unit_override", "SQ_NOWHERE")):
        r = api.post("operator", "/api/v1/complaints", {**body, field: value})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", field]


def test_override_end_to_end(stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url)
    body = {"channel": "hotline", "text": TEXT, "phone": "13812345678", "category_override": "NOISE_SOCIAL",
            "unit_override": "SQ_DINGYAN"}
    r = httpx.post(f"{stack.base_url}/api/v1/complaints", json=body, headers=stack.headers, timeout=10)
    assert r.status_code == 201, r.text
    case = wait_routed(stack.base_url, stack.headers, r.json()["ticket_no"])
    assert case["category"] == "NOISE_SOCIAL" and case["unit"] == "SQ_DINGYAN" and case["rule"] == "operator override"
    assert case["territory"] == "320682105"  # the place found in the text is kept
    dispatched = next(h for h in case["history"] if h["type"] == "dispatched")
    assert dispatched["data"]["override"] == {"category": "NOISE_SOCIAL", "unit": "SQ_DINGYAN"}
    plain = httpx.post(f"{stack.base_url}/api/v1/complaints", json={k: v for k, v in body.items()
                                                                     if not k.endswith("override")},
                       headers=stack.headers, timeout=10).json()["ticket_no"]
    time.sleep(0.1)
    routed = wait_routed(stack.base_url, stack.headers, plain)
    assert "override" not in next(h for h in routed["history"] if h["type"] == "dispatched")["data"]
