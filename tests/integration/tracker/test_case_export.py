"""Streamed export (issue 19): GET /api/v1/cases/export as CSV and XLSX.

The file holds exactly the list's cases for the same filters, in the list's order, with Chinese
headers and masked phones for squads; only the command centre, admin and squads (own unit) may
export; 20,000 cases are exported batch by batch (tracemalloc peak far below the file; on
PostgreSQL through a server-side cursor).  SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert

from services.core.engine import Engine
from services.tracker.auth import Principal, Role
from services.tracker.case_export import BOM, export_chunks
from services.tracker.case_query import ORDERINGS, CaseFilters, filtered
from services.tracker.models import Case
from tests.integration.tracker.conftest import Api, make_case

TZ = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def csv_rows(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[1:])))


def seed(api: Api) -> None:
    for i in range(9):
        ticket = make_case(api.sessions, unit="SQ_BAIPU" if i % 3 else "SQ_RUCHENG",
                           received_at=BASE + timedelta(minutes=i), text=f"第{i}号投诉，含逗号,和\"引号\"\n换行")
        if i % 4 == 0:
            api.set(ticket, status="accepted", accepted_at=BASE + timedelta(minutes=i + 5))


def test_csv_equals_the_list_for_the_same_filters(api: Api) -> None:
    seed(api)
    for params in ({}, {"order": "received"}, {"status": "dispatched", "unit": "SQ_BAIPU"}, {"q": "号投诉"}):
        listed = api.get("command", "/api/v1/cases", limit=500, **params).json()["cases"]
        r = api.get("command", "/api/v1/cases/export", **params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        header, *rows = csv_rows(r.content)
        assert header[:6] == ["工单号", "状态", "渠道", "受理时间", "诉求内容", "来电号码"]
        assert [row[0] for row in rows] == [c["ticket_no"] for c in listed], params
        for row, case in zip(rows, listed, strict=True):
            assert row[1] == case["status"] and row[4] == case["text"] and row[5] == case["phone"]
            assert row[header.index("承办单位")] == case["unit"]
            received = datetime.fromisoformat(case["received_at"]).astimezone(TZ)
            assert row[3] == received.strftime("%Y-%m-%d %H:%M:%S")
    assert len(csv_rows(api.get("command", "/api/v1/cases/export").content)) == 10


def test_who_may_export_and_what_they_see(api: Api) -> None:
    seed(api)
    own = csv_rows(api.get("squad", "/api/v1/cases/export").content)
    assert len(own) == 1 + 6 and {r[12] for r in own[1:]} == {"SQ_BAIPU"}
    assert {r[5] for r in own[1:]} == {"138****5678"}
    assert {r[5] for r in csv_rows(api.get("admin", "/api/v1/cases/export").content)[1:]} == {"13812345678"}
    assert api.get("squad", "/api/v1/cases/export", unit="SQ_RUCHENG").status_code == 403
    assert api.get("operator", "/api/v1/cases/export").status_code == 403
    assert api.get("anonymous", "/api/v1/cases/export").status_code == 401
    assert api.get("command", "/api/v1/cases/export", format="pdf").status_code == 422


def test_xlsx_holds_the_same_rows(api: Api) -> None:
    seed(api)
    expected = csv_rows(api.get("command", "/api/v1/cases/export", order="received").content)
    r = api.get("command", "/api/v1/cases/export", format="xlsx", order="received")
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} <= set(zf.namelist())
        sheet = ElementTree.fromstring(zf.read("xl/worksheets/sheet1.xml"))
    ns = {"s": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rows = [[(c.findtext("s:is/s:t", "", ns) or c.findtext("s:v", "", ns)) for c in row.findall("s:c", ns)]
            for row in sheet.iterfind("s:sheetData/s:row", ns)]
    assert rows == expected


def test_twenty_thousand_cases_stream_in_constant_memory(api: Api, core: Engine) -> None:
    n = 20_000
    with api.sessions.begin() as s:
        s.execute(insert(Case), [
            {"complaint_id": str(uuid.uuid4()), "ticket_no": f"RG20261120{i:06d}", "status": "dispatched",
             "channel": "hotline", "text": f"第{i}号：白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着，"
             "已经连续一个星期了，多次打电话给施工方都没有用，请城管尽快处理" * 8,
             "phone": f"138{i:08d}", "name": "王女士", "address": "白蒲镇唐堡村某小区3栋", "unit": "SQ_BAIPU",
             "category": "NOISE_CONSTRUCTION", "received_at": BASE + timedelta(seconds=i),
             "resolve_by": BASE + timedelta(hours=4, seconds=i), "updated_at": BASE, "attachments": [],
             "category_candidates": [], "evidence": []} for i in range(n)])
    principal = Principal("cc", Role.COMMAND)
    stmt = filtered(CaseFilters(), principal, datetime.now(UTC)).order_by(*ORDERINGS["due"].order_by())
    server_side: list[bool] = []

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "FROM cases" in statement:
            server_side.append(type(cursor).__name__ == "ServerCursor")

    engine = api.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", seen)
    size = rows = 0
    tracemalloc.start()
    try:
        with api.sessions() as s:
            for chunk in export_chunks(s, stmt, "csv", core.city, principal, TZ):
                size += len(chunk)
                rows += chunk.count(b"\r\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        event.remove(engine, "before_cursor_execute", seen)
    assert rows == n + 1
    assert size > 20_000_000
    assert peak < size / 5, f"peak {peak} bytes for a {size}-byte export"
    if engine.dialect.name == "postgresql":
        assert server_side == [True]  # rows fetched from a server-side cursor, batch by batch
