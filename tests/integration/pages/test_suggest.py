"""POST /api/v1/suggest: category top two, place, unit, urgency and open duplicates (any category, by
place, time window and text similarity, with the reason), for operators."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.core.config import DuplicatePolicy
from services.core.engine import Engine
from services.tracker.pages.duplicates import recent_query
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


def dups(api: LiveApi, text: str, **extra: object) -> list[dict[str, Any]]:
    r = api.post("operator", "/api/v1/suggest", {"text": text, **extra})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["duplicates"]
    return found


def test_duplicates_are_open_cases_across_categories_at_the_same_place(api: LiveApi) -> None:
    open_case = api.new_case(NOISE, ago=timedelta(hours=2))
    # the same site, filed under another category (the classifier or an operator read it differently)
    other_category = api.new_case(NOISE, ago=timedelta(hours=3), category_override="NOISE_SOCIAL")
    closed = api.new_case(NOISE, ago=timedelta(hours=1), status="closed")
    elsewhere = api.new_case("如城街道花园社区有个工地晚上十一点还在打桩，吵得整栋楼睡不着")
    other_village = api.new_case("白蒲镇林梓社区有个工地晚上十一点还在打桩，吵得整栋楼睡不着")
    other_matter = api.new_case("白蒲镇唐堡村有人在路边占道摆摊卖西瓜")
    found = dups(api, SIMILAR)
    tickets = [d["ticket_no"] for d in found]
    assert tickets == [open_case, other_category]  # the suggested category first
    assert not {closed, elsewhere, other_village, other_matter} & set(tickets)
    first, second = found
    assert first["similarity"] >= 0.8 and first["score"] > second["score"] >= 0.55
    assert first["category"] == "NOISE_CONSTRUCTION" and second["category"] == "NOISE_SOCIAL"
    assert second["category_name"] == "社会生活噪声"
    assert first["text"].startswith("白蒲镇唐堡村") and first["status"] == "dispatched"
    assert first["status_name"] and first["unit_name"] == "白蒲镇中队" and first["village"] == "唐堡村委会"
    assert first["place"] == "同村"
    # two open cases at the spot within three hours: counted in the reason
    assert first["reason"] == f"同一地点 3 小时内 2 起·文字相似 {first['similarity']:.2f}"
    # a different matter at the same place is no duplicate
    assert dups(api, "白蒲镇唐堡村新开的搅拌站凌晨机器轰鸣") == []


def test_one_case_at_the_place_has_the_place_in_its_reason(api: LiveApi) -> None:
    ticket = api.new_case(NOISE, ago=timedelta(hours=5))
    [d] = dups(api, SIMILAR)
    assert d["ticket_no"] == ticket and re.fullmatch(r"同村·文字相似 0\.(8|9)\d", d["reason"]), d["reason"]


def test_the_time_window_comes_from_the_city(api: LiveApi) -> None:
    inside = api.new_case(NOISE, ago=timedelta(hours=70))
    outside = api.new_case(NOISE, ago=timedelta(hours=73))
    body = api.post("operator", "/api/v1/suggest", {"text": SIMILAR}).json()
    assert body["duplicates_window_hours"] == 72
    assert [d["ticket_no"] for d in body["duplicates"]] == [inside]
    engine = api.app.state.core
    api.app.state.core = Engine(replace(engine.city, duplicates=DuplicatePolicy(window_hours=24)), engine.model)
    try:
        assert dups(api, SIMILAR) == []
        recent = api.new_case(NOISE, ago=timedelta(hours=20))
        assert [d["ticket_no"] for d in dups(api, SIMILAR)] == [recent]
    finally:
        api.app.state.core = engine
    assert outside not in [d["ticket_no"] for d in dups(api, SIMILAR)]


def test_coordinates_and_roads_place_a_duplicate(api: LiveApi) -> None:
    here = {"lat": 32.3900, "lon": 120.5600, "label": "如城街道"}
    near = api.new_case("这里有个烧烤摊晚上油烟很大，熏得楼上没法开窗", location=here)  # type: ignore[arg-type]
    far = api.new_case("这里有个烧烤摊晚上油烟很大，熏得楼上没法开窗",
                       location={"lat": 32.4500, "lon": 120.5600})  # type: ignore[arg-type]
    found = dups(api, "楼下烧烤摊晚上油烟太大，楼上熏得不能开窗", location={"lat": 32.3910, "lon": 120.5605})
    assert [d["ticket_no"] for d in found] == [near]
    assert found[0]["distance_m"] == 121 and found[0]["reason"].startswith("相距 121 米·文字相似 ")
    assert far not in [d["ticket_no"] for d in found]
    road = api.new_case("如城街道海阳路上的烧烤店油烟直排，熏得楼上没法开窗")
    found = dups(api, "海阳路烧烤店油烟很大，直接排放，楼上住户窗都不敢开")
    assert road in [d["ticket_no"] for d in found]
    assert next(d for d in found if d["ticket_no"] == road)["place"] == "同路段（海阳路）"
    bad = api.post("operator", "/api/v1/suggest", {"text": NOISE, "location": {"lat": 91, "lon": 0}})
    assert bad.status_code == 422


def test_the_candidate_query_reads_the_received_at_index(api: LiveApi) -> None:
    """Recent cases only, by the index: never a scan of the whole history."""
    query = recent_query(DuplicatePolicy(), datetime.now(UTC))
    with api.sessions() as s:
        dialect = s.get_bind().dialect
        compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        conn = s.connection()
        if dialect.name == "sqlite":
            params: Any = tuple(compiled.params[k] for k in compiled.positiontup or ())
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params))
            assert re.search(r"SEARCH cases USING (COVERING )?INDEX ix_cases_received\w* \(received_at>\?\)", plan), plan
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
            assert re.search(r"Index Cond: \(received_at >= ", plan) and "Seq Scan" not in plan, plan


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
