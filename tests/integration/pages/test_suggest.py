"""POST /api/v1/suggest: category top two, place, unit, urgency and open duplicates, for operators."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.pages.conftest import LiveApi

NOISE = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着"
SIMILAR = "白蒲镇唐堡村那个工地晚上十一点多还在打桩，吵得睡不着觉"
# a restaurant's fumes and its tables and stoves on the pavement
TWO_MATTERS = "白蒲镇唐堡村饭店厨房油烟直排呛人，还在人行道上摆桌子和炉灶占道经营。"


def test_suggest_shows_what_the_router_would_do(api: LiveApi) -> None:
    r = api.post("operator", "/api/v1/suggest", {"text": SIMILAR})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["category"] == {"code": "NOISE_CONSTRUCTION", "name": "建筑施工噪声"}
    assert len(s["candidates"]) == 2 and s["candidates"][0]["code"] == "NOISE_CONSTRUCTION"
    assert s["candidates"][0]["score"] >= s["candidates"][1]["score"]
    assert s["evidence"] and all({"term", "weight", "category"} <= set(e) for e in s["evidence"])
    assert s["place"]["territory"] == "320682105" and s["place"]["territory_name"] == "白蒲镇"
    assert s["place"]["village"] and s["place"]["evidence"]
    assert s["unit"]["id"] == "SQ_BAIPU" and s["unit"]["name"] == "白蒲镇中队"
    assert s["urgent"] is True and s["urgent_evidence"]
    assert s["accept_by"] < s["resolve_by"]
    assert s["duplicates"] == []
    assert s["secondary"] is None  # one matter


def test_suggest_names_a_second_matter_the_text_raises(api: LiveApi) -> None:
    s = api.post("operator", "/api/v1/suggest", {"text": TWO_MATTERS}).json()
    names = {"CATERING_FUMES": "餐饮油烟", "OUT_OF_STORE": "店外经营"}
    assert {s["category"]["code"], s["secondary"]["code"]} == set(names)
    assert s["secondary"]["name"] == names[s["secondary"]["code"]]
    assert s["unit"]["id"] == "SQ_BAIPU"  # routed as usual (to the town squad); the second matter is only shown


def test_duplicates_are_open_similar_cases_of_same_category_and_place(api: LiveApi) -> None:
    open_case = api.new_case(NOISE, ago=timedelta(hours=2))
    closed = api.new_case(NOISE, ago=timedelta(hours=1), status="closed")
    old = api.new_case(NOISE, ago=timedelta(days=8))
    elsewhere = api.new_case("如城街道花园社区有个工地晚上十一点还在打桩，吵得整栋楼睡不着")
    other_category = api.new_case("白蒲镇唐堡村有人在路边占道摆摊卖西瓜")
    s = api.post("operator", "/api/v1/suggest", {"text": SIMILAR}).json()
    tickets = [d["ticket_no"] for d in s["duplicates"]]
    assert tickets == [open_case]
    assert not {closed, old, elsewhere, other_category} & set(tickets)
    dup = s["duplicates"][0]
    assert 0.2 <= dup["similarity"] <= 1 and dup["text"].startswith("白蒲镇唐堡村")
    assert dup["status"] == "dispatched" and dup["village"] == s["place"]["village"]
    # a different problem at the same place is not a duplicate
    unrelated = api.post("operator", "/api/v1/suggest", {"text": "白蒲镇唐堡村新开的搅拌站凌晨机器轰鸣"}).json()
    assert unrelated["category"]["code"] != "NOISE_CONSTRUCTION" or open_case not in [
        d["ticket_no"] for d in unrelated["duplicates"] if d["similarity"] < 0.2]


def test_overrides_change_the_preview(api: LiveApi) -> None:
    body = {"text": NOISE, "category_override": "NOISE_SOCIAL", "territory_override": "320682001",
            "unit_override": "SQ_DINGYAN"}
    s = api.post("command", "/api/v1/suggest", body).json()
    assert s["category"]["code"] == "NOISE_SOCIAL"
    assert s["place"]["territory"] == "320682001"
    assert s["unit"] == {"id": "SQ_DINGYAN", "name": "丁堰镇中队", "rule": "operator override"}
    bad = api.post("operator", "/api/v1/suggest", {"text": NOISE, "category_override": "NO_SUCH"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "category_override"]


def test_only_hotline_roles_may_ask(api: LiveApi) -> None:
    assert api.post("squad", "/api/v1/suggest", {"text": NOISE}).status_code == 403
    assert api.post("anonymous", "/api/v1/suggest", {"text": NOISE}).status_code == 401
    assert api.post("admin", "/api/v1/suggest", {"text": NOISE}).status_code == 200
    assert api.post("operator", "/api/v1/suggest", {"text": ""}).status_code == 422
    assert api.post("operator", "/api/v1/suggest", {"text": "x" * 4001}).status_code == 422
