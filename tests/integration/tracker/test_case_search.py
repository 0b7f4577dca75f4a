"""Case search (issue 19): ``q`` by ticket number, phone (full or last digits) and text, on SQLite and
PostgreSQL; the text and phone searches use the pg_trgm GIN indexes on PostgreSQL (migration 0009) and the
FTS5 trigram table on SQLite (migration 0014)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from services.tracker.auth import Principal, Role
from services.tracker.case_query import CaseFilters, filtered
from services.tracker.text_search import rebuild
from tests.integration.tracker.conftest import Api, make_case

NOISE = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着"
GARBAGE = "如城街道花园小区门口垃圾堆了三天没人清运，100%臭"
ROAD = "长江镇沿江路上井盖缺失，晚上很危险"


def tickets(api: Api, role: str = "command", **params: Any) -> set[str]:
    r = api.get(role, "/api/v1/cases", limit=500, **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == body["count"]
    return {c["ticket_no"] for c in body["cases"]}


def test_search_by_ticket_phone_and_text(api: Api) -> None:
    noise = make_case(api.sessions, text=NOISE, phone="13812345678")
    garbage = make_case(api.sessions, text=GARBAGE, phone="13999995678", unit="SQ_RUCHENG")
    road = make_case(api.sessions, text=ROAD, phone="051287654321")

    assert tickets(api, q=noise) == {noise}
    assert tickets(api, q=noise.lower()) == {noise}
    assert tickets(api, q="13812345678") == {noise}        # the whole number
    assert tickets(api, q="5678") == {noise, garbage}       # its last digits
    assert tickets(api, q="87654321") == {road}
    assert tickets(api, q="打桩") == {noise}               # two characters: still found (no trigram needed)
    assert tickets(api, q="垃圾堆了") == {garbage}
    assert tickets(api, q="某小区") == {noise, garbage, road}  # the address
    assert tickets(api, q="100%") == {garbage}              # % and _ are literal, not wildcards
    assert tickets(api, q="0_%") == set()
    assert tickets(api, q="晚上", unit="SQ_BAIPU") == {noise, road}  # search and filters together
    assert tickets(api, q="不存在的内容") == set()

    # a squad member: own unit only, and digits are not looked up in phones the role may not see
    assert tickets(api, "squad", q="5678") == set()
    assert tickets(api, "squad", q="垃圾") == set()
    found = api.get("squad", "/api/v1/cases", q="打桩").json()["cases"]
    assert [c["ticket_no"] for c in found] == [noise]
    assert found[0]["phone"] == "138****5678"
    assert api.get("operator", "/api/v1/cases", q="打桩").json()["cases"][0]["phone"] == "13812345678"
    assert api.get("command", "/api/v1/cases", q="").status_code == 422


def plan(api: Api, q: str) -> str:
    stmt = filtered(CaseFilters(q=q), Principal("cc", Role.COMMAND), datetime.now(UTC))
    with api.sessions.begin() as s:
        sql = str(stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        s.execute(text("SET LOCAL enable_seqscan = off"))
        return "\n".join(s.scalars(text("EXPLAIN " + sql)))


def test_search_uses_the_trigram_indexes(api: Api, database_url: str) -> None:
    make_case(api.sessions, text=NOISE)
    if not database_url.startswith("postgresql"):
        text_plan, phone_plan = plan_sqlite(api, "工地晚上"), plan_sqlite(api, "12345678")
        assert "cases_fts VIRTUAL TABLE" in text_plan and "SCAN cases\n" not in text_plan + "\n", text_plan
        assert "cases_fts VIRTUAL TABLE" in phone_plan, phone_plan
        assert "cases_fts" not in plan_sqlite(api, "打桩")  # two characters: no trigram to look up
        return
    text_plan = plan(api, "工地晚上")
    assert "ix_cases_text_trgm" in text_plan and "ix_cases_address_trgm" in text_plan, text_plan
    phone_plan = plan(api, "12345678")
    assert "ix_cases_phone_trgm" in phone_plan, phone_plan


def plan_sqlite(api: Api, q: str) -> str:
    stmt = filtered(CaseFilters(q=q), Principal("cc", Role.COMMAND), datetime.now(UTC))
    with api.sessions() as s:
        sql = str(stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        return "\n".join(r[-1] for r in s.execute(text("EXPLAIN QUERY PLAN " + sql)))


def test_sqlite_search_index_follows_changes_and_a_vacuum(api: Api, database_url: str) -> None:
    """The FTS5 table is kept by triggers: a changed text is found by its new words only, a deleted
    case not at all; after a VACUUM (rowids may move) `rebuild` indexes the cases again."""
    if not database_url.startswith("sqlite"):
        return  # PostgreSQL's trigram indexes are ordinary indexes of the table
    kept = make_case(api.sessions, text=NOISE)
    changed = make_case(api.sessions, text=GARBAGE)
    gone = make_case(api.sessions, text=ROAD)
    with api.sessions.begin() as s:
        s.execute(text("UPDATE cases SET text = :t WHERE ticket_no = :n"), {"t": "新华路烧烤摊油烟很大", "n": changed})
        s.execute(text("DELETE FROM cases WHERE ticket_no = :n"), {"n": gone})
    assert tickets(api, q="烧烤摊油烟") == {changed}
    assert tickets(api, q="垃圾堆了") == set()
    assert tickets(api, q="井盖缺失") == set()
    assert tickets(api, q="工地晚上") == {kept}
    with api.sessions() as s:
        conn = s.connection()
        conn.exec_driver_sql("VACUUM")
        rebuild(conn)
        s.commit()
    assert tickets(api, q="工地晚上") == {kept}
    assert tickets(api, q="烧烤摊油烟") == {changed}
