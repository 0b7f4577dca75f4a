"""Keyset pagination (issue 19): the case list, alerts and corrections page by an opaque cursor.

Every case comes exactly once and in order, also while new cases arrive between pages; a bad or
foreign cursor is a clear 422; ``offset`` still works for old clients.  SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.tracker import routes_actions
from services.tracker.models import AlertRow, CaseEventRow, CorrectionRow
from tests.integration.tracker.conftest import Api, make_case

BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def walk(api: Api, path: str, items: str, between: Any = None, **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        body = api.get("command", path, **params, **({"cursor": cursor} if cursor else {})).json()
        assert body["count"] == len(body[items]) <= params["limit"]
        seen += body[items]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        if between is not None:
            between(len(seen))
    raise AssertionError("the cursor never reached the last page")


def seed(api: Api, n: int) -> None:
    for i in range(n):
        # every third case shares its received time with the one before (ties broken by complaint_id);
        # every fifth one is not routed yet (no deadline: last in the deadline order)
        make_case(api.sessions, received_at=BASE + timedelta(minutes=(i // 3) * 2 + (i % 3 != 0)),
                  resolve_in=timedelta(hours=4 + (i * 7) % 11), routed=i % 5 != 4)


def due_key(c: dict[str, Any]) -> tuple[Any, ...]:
    return (c["resolve_by"] is None, c["resolve_by"] or "", c["received_at"], c["complaint_id"])


def test_newest_first_each_case_once_in_order_while_cases_arrive(api: Api) -> None:
    seed(api, 23)
    everything = api.get("command", "/api/v1/cases", order="received", limit=500).json()
    expected = [c["ticket_no"] for c in everything["cases"]]
    assert len(expected) == everything["total"] == 23
    assert [(c["received_at"], c["complaint_id"]) for c in everything["cases"]] == sorted(
        ((c["received_at"], c["complaint_id"]) for c in everything["cases"]), reverse=True)

    arrived: list[str] = []
    seen = walk(api, "/api/v1/cases", "cases", order="received", limit=5,
                between=lambda _: arrived.append(make_case(api.sessions)))  # a new call: newest of all
    assert [c["ticket_no"] for c in seen] == expected
    assert len(arrived) == 4
    assert api.get("command", "/api/v1/cases", order="received", limit=500).json()["total"] == 27


def test_deadline_order_each_case_once_while_cases_arrive(api: Api) -> None:
    seed(api, 21)
    expected = [c["ticket_no"] for c in api.get("command", "/api/v1/cases", limit=500).json()["cases"]]
    arrived: list[str] = []

    def new_case(n: int) -> None:  # deadlines in the middle of the list, before and after the cursor
        arrived.append(make_case(api.sessions, received_at=BASE + timedelta(minutes=n),
                                 resolve_in=timedelta(hours=2 + n % 9)))

    seen = walk(api, "/api/v1/cases", "cases", limit=4, between=new_case)
    tickets = [c["ticket_no"] for c in seen]
    assert len(tickets) == len(set(tickets)), "a case came twice"
    assert [t for t in tickets if t not in arrived] == expected, "an existing case was skipped or moved"
    assert [due_key(c) for c in seen] == sorted(due_key(c) for c in seen)
    assert seen[-1]["resolve_by"] is None  # cases without a deadline last


def test_offset_still_pages_for_old_clients(api: Api) -> None:
    seed(api, 12)
    first = api.get("command", "/api/v1/cases", limit=5).json()
    second = api.get("command", "/api/v1/cases", limit=5, offset=5).json()
    by_cursor = api.get("command", "/api/v1/cases", limit=5, cursor=first["next_cursor"]).json()
    assert [c["ticket_no"] for c in second["cases"]] == [c["ticket_no"] for c in by_cursor["cases"]]
    assert second["total"] == 12 and second["count"] == 5


def test_total_is_counted_up_to_the_cap(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A year's closed cases are not counted one by one for every page: `total` stops at TOTAL_CAP and
    says so (the dashboard shows 「10000+」); below the cap it is exact."""
    seed(api, 12)
    monkeypatch.setattr(routes_actions, "TOTAL_CAP", 12)
    exact = api.get("command", "/api/v1/cases", limit=5).json()
    assert (exact["total"], exact["total_capped"], exact["count"]) == (12, False, 5)
    monkeypatch.setattr(routes_actions, "TOTAL_CAP", 10)
    capped = api.get("command", "/api/v1/cases", limit=5).json()
    assert (capped["total"], capped["total_capped"], capped["count"]) == (10, True, 5)
    walked = walk(api, "/api/v1/cases", "cases", limit=5)  # the pages still reach every case
    assert len({c["ticket_no"] for c in walked}) == 12


def test_bad_cursor_is_a_clear_chinese_422(api: Api) -> None:
    seed(api, 6)
    cursor = api.get("command", "/api/v1/cases", limit=2).json()["next_cursor"]
    assert cursor
    cases = [({"cursor": "not-a-cursor!"}, "无法识别的翻页游标"),
             ({"cursor": "eyJvIjoxfQ"}, "无法识别的翻页游标"),  # base64 JSON, not ours
             ({"cursor": cursor, "order": "received"}, "不属于当前列表或排序方式"),
             ({"cursor": cursor, "status": "dispatched"}, "筛选条件已改变"),
             ({"cursor": cursor, "offset": 2}, "cursor 与 offset 不能同时使用")]
    for params, words in cases:
        r = api.get("command", "/api/v1/cases", limit=2, **params)
        assert r.status_code == 422, params
        assert words in r.text, (params, r.text)
    # a squad member's cursor walks the own unit only (the unit is part of the cursor's filters)
    squad = api.get("squad", "/api/v1/cases", limit=2).json()
    r = api.get("squad_other", "/api/v1/cases", limit=2, cursor=squad["next_cursor"])
    assert r.status_code == 422 and "筛选条件已改变" in r.text


def test_alerts_and_corrections_page_by_cursor(api: Api) -> None:
    with api.sessions.begin() as s:
        for i in range(11):
            s.add(AlertRow(alert_id=f"a-{i:02d}", kind="supervision", ticket_no=None, unit="SQ_BAIPU",
                           raised_at=BASE + timedelta(minutes=i // 2), message=f"督办 {i}", data={}))
            s.add(CorrectionRow(event_id=f"e-{i}", complaint_id=f"c-{i}", ticket_no=f"RG2026112000000{i:01d}"[:16],
                                action="reassign", actor="command:t", at=BASE, text="t", old_urgent=False,
                                new_category="GARBAGE", new_unit="SQ_BAIPU", new_urgent=False))
    alerts = walk(api, "/api/v1/alerts", "alerts", limit=3)
    assert [a["alert_id"] for a in alerts] == [f"a-{i:02d}" for i in reversed(range(11))]
    corrections = walk(api, "/api/v1/corrections", "corrections", limit=4)
    assert [c["event_id"] for c in corrections] == [f"e-{i}" for i in reversed(range(11))]
    r = api.get("command", "/api/v1/alerts", limit=3, cursor=api.get("command", "/api/v1/corrections", limit=2)
                .json()["next_cursor"])
    assert r.status_code == 422 and "不属于当前列表" in r.text


def test_case_history_pages_by_cursor(api: Api) -> None:
    ticket = make_case(api.sessions, received_at=BASE)
    cid = api.case(ticket).complaint_id
    with api.sessions.begin() as s:
        for i in range(9):  # linked calls, three at the same moment (ties broken by id)
            s.add(CaseEventRow(event_id=f"link-{cid}-{i}", complaint_id=cid, type="CallLinked", actor="operator:t",
                               at=BASE + timedelta(minutes=10 + i // 3), data={"phone": "13900001111"}))
    history = api.get("command", f"/api/v1/cases/{ticket}").json()["history"]
    assert len(history) == 11
    assert walk(api, f"/api/v1/cases/{ticket}/events", "events", limit=3) == history
    squad = api.get("squad", f"/api/v1/cases/{ticket}/events", limit=20).json()["events"]
    assert [e["data"].get("phone") for e in squad if e["type"] == "CallLinked"] == ["139****1111"] * 9
    assert api.get("squad_other", f"/api/v1/cases/{ticket}/events").status_code == 403
    other = make_case(api.sessions)
    cursor = api.get("command", f"/api/v1/cases/{ticket}/events", limit=3).json()["next_cursor"]
    r = api.get("command", f"/api/v1/cases/{other}/events", cursor=cursor)
    assert r.status_code == 422 and "筛选条件已改变" in r.text
