"""The wall screen's API (/api/v1/wall/*) on SQLite and PostgreSQL: command centre and admin only, and
every figure equal to a recount of the cases in Python."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.core import figures as fig
from services.tracker.models import AlertRow, Case
from tests.integration.tracker.conftest import Api, make_case

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
ENDPOINTS = ("/api/v1/wall/map", "/api/v1/wall/trend", "/api/v1/wall/recent", "/api/v1/wall/geojson")


def seed(api: Api) -> list[str]:
    """Cases today (several towns, one unlocated), on the same weekday last week, and on other days."""
    now = datetime.now(UTC)
    tickets = []
    for ago, territory, unit in [(0.1, "320682105", "SQ_BAIPU"), (0.2, "320682105", "SQ_BAIPU"),
                                 (1.5, "320682001", "SQ_RUCHENG"), (3.0, "320682111", "SQ_CHANGJIANG"),
                                 (0.3, None, "COMMAND_CENTER"), (0.4, "320682402", "COMMAND_CENTER"),
                                 (24 * 7 - 2, "320682105", "SQ_BAIPU"), (24 * 7 + 1, "320682117", "SQ_MOTOU"),
                                 (24 * 7 + 5, "320682117", "SQ_MOTOU"), (24 * 7 - 30, "320682105", "SQ_BAIPU"),
                                 (24 * 8, "320682001", "SQ_RUCHENG"), (26, "320682105", "SQ_BAIPU")]:
        tickets.append(make_case(api.sessions, unit=unit, territory=territory, received_at=now - ago * H))
    api.set(tickets[1], status="closed")
    api.set(tickets[2], status="accepted", accepted_at=now - H)
    api.set(tickets[9], status="resolved")
    with api.sessions.begin() as s:
        s.add(AlertRow(alert_id=f"hotspot-{tickets[0]}", kind="hotspot", ticket_no=tickets[0], unit="SQ_BAIPU",
                       category="NOISE_CONSTRUCTION", territory="320682105", raised_at=now - 0.05 * H,
                       message="热点：白蒲镇 60 分钟内收到 2 件同类投诉（建筑施工噪声）", data={}))
    return tickets


def cases(api: Api) -> list[tuple[str | None, str, datetime]]:
    with api.sessions() as s:
        return [(t, st, at.astimezone(TZ)) for t, st, at in s.execute(select(Case.territory, Case.status, Case.received_at))]


def overdue_now(api: Api) -> Counter[str | None]:
    """The core's own predicate (services/core/figures.py), case by case."""
    now = datetime.now(UTC)
    with api.sessions() as s:
        rows = s.scalars(select(Case)).all()
        return Counter(c.territory for c in rows if fig.is_overdue(
            fig.Clock(c.status, c.received_at, c.accept_by, c.resolve_by, c.accepted_at), now))


def test_only_the_command_centre_and_admin_open_the_wall(api: Api) -> None:
    for path in ENDPOINTS:
        assert api.get("anonymous", path).status_code == 401, path
        for role in ("operator", "squad"):
            r = api.get(role, path)
            assert r.status_code == 403, (role, path, r.text)
        for role in ("command", "admin"):
            r = api.get(role, path)
            assert r.status_code == (404 if path.endswith("geojson") else 200), (role, path, r.text)
    assert "方块地图" in api.get("command", "/api/v1/wall/geojson").json()["detail"]  # Rugao has no GeoJSON file


def test_trend_is_a_recount_of_today_and_the_same_day_last_week(api: Api) -> None:
    seed(api)
    r = api.get("command", "/api/v1/wall/trend")
    assert r.status_code == 200, r.text
    body = r.json()
    now = datetime.now(TZ)
    today, week_ago = now.date(), now.date() - timedelta(days=7)
    rows = cases(api)
    per_hour = Counter((at.date(), at.hour) for _, _, at in rows)
    assert body["date"] == today.isoformat() and body["last_week_date"] == week_ago.isoformat()
    assert body["today"] == [per_hour[(today, h)] if h <= now.hour else None for h in range(24)]
    assert body["last_week"] == [per_hour[(week_ago, h)] for h in range(24)]
    assert body["today_total"] == sum(1 for _, _, at in rows if at.date() == today)
    assert body["last_week_total"] == sum(1 for _, _, at in rows if at.date() == week_ago) > 0
    assert body["last_week_same_time"] == sum(1 for _, _, at in rows if at.date() == week_ago and at.hour <= now.hour)


def test_map_counts_every_town_today_and_open(api: Api) -> None:
    seed(api)
    r = api.get("admin", "/api/v1/wall/map")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "tiles" and (body["cols"], body["rows"]) == (5, 5)
    towns = {t["code"]: t for t in body["towns"]}
    assert len(towns) == 14 and towns["320682105"]["name"] == "白蒲镇" and towns["320682105"]["short"] == "白蒲镇"
    assert len({(t["col"], t["row"]) for t in body["towns"]}) == 14  # one tile each
    rows = cases(api)
    today = datetime.now(TZ).date()
    received = Counter(t for t, _, at in rows if at.date() == today)
    still_open = Counter(t for t, st, _ in rows if fig.is_open(st))
    late = overdue_now(api)
    for code, town in towns.items():
        assert (town["today"], town["open"], town["overdue"]) == (received[code], still_open[code], late[code]), town
    assert towns["320682105"]["open"] >= 3 and towns["320682001"]["open"] == 2 and towns["320682105"]["overdue"] >= 1
    assert towns["320682117"]["overdue"] == 2  # last week's cases, never accepted
    assert body["other"] == {"name": "其他", "today": sum(n for t, n in received.items() if t not in towns),
                             "open": sum(n for t, n in still_open.items() if t not in towns),
                             "overdue": sum(n for t, n in late.items() if t not in towns)}
    assert body["other"]["open"] == 2  # one unlocated case and one in a territory that is not on the map


def test_recent_back_fills_the_feed_newest_first_without_citizen_data(api: Api) -> None:
    tickets = seed(api)
    r = api.get("command", "/api/v1/wall/recent", limit=5)
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert len(events) == 5
    moments = [datetime.fromisoformat(e["at"]) for e in events]
    assert moments == sorted(moments, reverse=True)
    assert events[0]["type"] == "alert" and events[0]["kind"] == "hotspot" and events[0]["ticket_no"] == tickets[0]
    assert {e["type"] for e in events[1:]} <= {"received", "dispatched"}
    assert events[1]["ticket_no"] == tickets[0] and events[1]["territory"] == "320682105"
    assert events[1]["unit"] == "SQ_BAIPU" and events[1]["category"] == "NOISE_CONSTRUCTION"
    assert all("phone" not in e and "text" not in e and "name" not in e for e in events)
    everything = api.get("command", "/api/v1/wall/recent", limit=100).json()["events"]
    # the last 7 days only: the cases of more than a week ago are left out
    assert {e["ticket_no"] for e in everything} == set(tickets) - {tickets[7], tickets[8], tickets[10]}
    assert api.get("command", "/api/v1/wall/recent", limit=101).status_code == 422


def test_the_wall_page_is_for_the_command_centre_and_admin(api: Api) -> None:
    for role, status in (("operator", 403), ("squad", 403), ("command", 200), ("admin", 200)):
        api.client.cookies.set("c12319_token", api.tokens[role])
        r = api.client.get("/wall", follow_redirects=False)
        assert r.status_code == status, (role, r.text[:200])
        if status == 200:
            assert 'src="/static/vendor/echarts.min.js?v=' in r.text and 'src="/static/wall.js?v=' in r.text
            assert 'href="/static/wall.css?v=' in r.text and "<style" not in r.text and "<script>" not in r.text
            assert "default-src 'self'" in r.headers["content-security-policy"]
            nav = r.text.split("<nav>")[1].split("</nav>")[0]
            assert 'href="/wall"' in nav and "指挥大屏" in nav and "指挥中心" in nav
    api.client.cookies.clear()
    assert api.client.get("/wall", follow_redirects=False).headers["location"] == "/login?next=/wall"
    assert api.client.get("/static/vendor/echarts.min.js").status_code == 200
