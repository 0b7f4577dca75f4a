"""KPIs on a known set of cases: exact numbers through GET /api/v1/stats (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.tracker.conftest import Api, make_case

T0 = datetime(2026, 10, 5, 0, 0, tzinfo=UTC)  # 08:00 in Rugao
M = timedelta(minutes=1)
H = timedelta(hours=1)


def seed(api: Api) -> None:
    def case(unit: str = "SQ_BAIPU", at: datetime = T0, **state: Any) -> None:
        territory = "320682105" if unit == "SQ_BAIPU" else "320682001"
        ticket = make_case(api.sessions, unit=unit, territory=territory, received_at=at,
                           routed=state.pop("routed", True))
        if state:
            api.set(ticket, **state)

    case(status="closed", accepted_at=T0 + 10 * M, resolved_at=T0 + 2 * H, closed_at=T0 + 3 * H,
         disposal_mode="服务", rating="满意")                                               # A
    case(status="resolved", accepted_at=T0 + 40 * M, resolved_at=T0 + 5 * H, disposal_mode="管理",
         rating="不满意", reopens=1)                                                         # B: late twice, reworked
    case(status="resolved", accepted_at=T0 + 20 * M, resolved_at=T0 + 20 * H, disposal_mode="执法",
         extended=True, extension="approved", resolve_by=T0 + 28 * H, rating="基本满意")      # C: extended
    case()                                                                                  # D: overdue, open
    case("SQ_RUCHENG", status="closed", accepted_at=T0 + 5 * M, resolved_at=T0 + H, disposal_mode="服务",
         rating="满意")                                                                      # E
    case("SQ_RUCHENG", status="forwarded", closed_at=T0 + H)                                # F: not handled
    case(routed=False)                                                                      # H: never routed
    case(at=datetime(2026, 9, 1, tzinfo=UTC), status="closed")                              # outside the period


def test_stats_add_up(api: Api) -> None:
    seed(api)
    r = api.get("command", "/api/v1/stats", **{"from": "2026-10-01", "to": "2026-10-31", "group_by": "unit"})
    assert r.status_code == 200, r.text
    body = r.json()
    t = body["total"]
    assert {k: t[k] for k in ("received", "dispatched", "handled", "accepted", "accepted_on_time", "resolved",
                              "resolved_on_time", "overdue_open", "reworked", "extended", "rated")} == {
        "received": 7, "dispatched": 6, "handled": 5, "accepted": 4, "accepted_on_time": 3, "resolved": 4,
        "resolved_on_time": 3, "overdue_open": 1, "reworked": 1, "extended": 1, "rated": 4}
    assert t["response_rate"] == 0.6 and t["on_time_resolution_rate"] == 0.6
    assert t["rework_rate"] == 0.25 and t["extension_rate"] == 0.2 and t["satisfaction_rate"] == 0.75
    assert t["ratings"] == {"满意": 2, "基本满意": 1, "不满意": 1}
    assert t["time_to_accept_s"] == {"avg": 1125.0, "p90": 2400.0}
    assert t["time_to_resolve_s"] == {"avg": 25200.0, "p90": 72000.0}
    assert t["disposal"] == {"服务": {"count": 2, "share": 0.5}, "管理": {"count": 1, "share": 0.25},
                             "执法": {"count": 1, "share": 0.25}}
    groups = {g["unit"]: g for g in body["groups"]}
    assert set(groups) == {"SQ_BAIPU", "SQ_RUCHENG", "(none)"}
    baipu, rucheng = groups["SQ_BAIPU"], groups["SQ_RUCHENG"]
    assert (baipu["received"], baipu["handled"], baipu["accepted_on_time"], baipu["response_rate"]) == (4, 4, 2, 0.5)
    assert (baipu["resolved_on_time"], baipu["on_time_resolution_rate"]) == (2, 0.5)
    assert (rucheng["received"], rucheng["handled"], rucheng["response_rate"]) == (2, 1, 1.0)
    assert groups["(none)"]["received"] == 1 and groups["(none)"]["dispatched"] == 0
    assert sum(g["received"] for g in body["groups"]) == t["received"]
    assert sum(g["resolved"] for g in body["groups"]) == t["resolved"]
    assert body["disposal_by_unit"]["SQ_BAIPU"]["执法"] == {"count": 1, "share": 0.3333}
    assert body["disposal_by_unit"]["SQ_RUCHENG"]["服务"] == {"count": 1, "share": 1.0}
    by_cat = api.get("command", "/api/v1/stats", **{"from": "2026-10-01", "to": "2026-10-31",
                                                   "group_by": "category"}).json()
    assert sum(g["received"] for g in by_cat["groups"]) == 7


def test_stats_input_errors(api: Api) -> None:
    for params, field in (({"from": "2026-13-01"}, "from"), ({"from": "2026-10-05T08:00:00"}, "from"),
                          ({"from": "2026-10-05", "to": "2026-10-01"}, "from"),
                          ({"from": "2024-01-01", "to": "2026-01-01"}, "to"), ({"group_by": "colour"}, "group_by")):
        r = api.get("command", "/api/v1/stats", **params)
        assert r.status_code == 422, (params, r.text)
        assert any(field in e["loc"] for e in r.json()["detail"]), r.json()
