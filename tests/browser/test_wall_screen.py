"""The command centre's wall screen (/wall) on a 1920x1080 screen in a real browser: nothing scrolls,
the feed shows the recent events as soon as the page opens, every town of the map shows its count,
the trend is an ECharts chart of today and last week, a new complaint arrives live, no console or
CSP error.  The working dashboard draws its charts with ECharts too."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import update

from services.platform.db import make_engine, make_sessionmaker
from services.tracker.models import Case
from tests.browser.test_accessibility import AXE, axe_problems
from tests.browser.test_pages_flow import login, users
from tests.conftest import REPO
from tests.e2e.test_pipeline import wait_routed
from tests.integration.tracker.conftest import make_case

pytestmark = pytest.mark.browser
WALL: ViewportSize = {"width": 1920, "height": 1080}
CITY_TZ = ZoneInfo("Asia/Shanghai")
CSP_PROBE = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
             "(e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
TREND_SERIES = "echarts.getInstanceByDom(document.querySelector('#wall-trend .ec')).getOption().series.length"


def file_complaint(stack: Any, text: str, key: str) -> str:
    r = httpx.post(f"{stack.base_url}/api/v1/complaints", json={"channel": "hotline", "text": text, "phone": "13812345678"},
                   headers={**stack.headers, "Idempotency-Key": key}, timeout=10)
    assert r.status_code == 201, r.text
    ticket: str = r.json()["ticket_no"]
    return ticket


def tile_count(page: Page, code: str) -> int:
    return int(page.locator(f'#wall-map .town[data-code="{code}"] .n').inner_text())


def test_wall_fits_1920x1080_with_map_trend_and_a_back_filled_feed(browser: Browser, stack_factory: Any,
                                                                    sqlite_url: str, artifacts: Path) -> None:
    stack = stack_factory(sqlite_url)
    tokens = users(sqlite_url)
    # before the wall opens: two complaints routed by the real stack, and last week's cases for the trend
    first = file_complaint(stack, "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着", "wall-1")
    second = file_complaint(stack, "如城街道海阳路上有个窨井盖坏了，很危险", "wall-2")
    for ticket in (first, second):
        wait_routed(stack.base_url, stack.headers, ticket)
    sessions = make_sessionmaker(make_engine(sqlite_url))
    week_ago = datetime.now(CITY_TZ).date() - timedelta(days=7)  # at noon that day, whatever the hour of the test
    for i in range(3):
        make_case(sessions, unit="SQ_MOTOU", territory="320682117",
                  received_at=datetime.combine(week_ago, time(12, 10 * i), CITY_TZ).astimezone(UTC))
    resolved = make_case(sessions, unit="SQ_DINGYAN", territory="320682104", village=None)
    with sessions.begin() as s:
        s.execute(update(Case).where(Case.ticket_no == resolved).values(
            status="resolved", accepted_at=datetime.now(UTC), resolved_at=datetime.now(UTC), disposal_mode="管理"))

    errors: list[str] = []
    page = login(browser, stack.base_url, tokens["command"], WALL, errors)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    # the working dashboard: its feed back-filled on load too, its charts drawn by ECharts (no hand-drawn SVG)
    expect(page.locator("#feed a.tno", has_text=first).first).to_be_visible(timeout=5000)
    expect(page.locator("#chart-town .ec canvas")).to_be_visible(timeout=15000)
    expect(page.locator("#chart-disposal .ec canvas")).to_be_visible()
    expect(page.locator("#chart-disposal .legend")).to_contain_text("管理 1")
    assert page.locator("svg.chart-svg, svg.donut").count() == 0
    page.screenshot(path=str(artifacts / "dashboard_echarts_1920x1080.png"), full_page=True)
    page.add_init_script(CSP_PROBE)
    page.add_init_script(AXE)  # through the DevTools protocol, outside the page's CSP; never served
    page.goto("/wall")
    expect(page.locator("header nav a.on")).to_have_text("指挥大屏")

    # the feed is back-filled at once: both tickets are there although nothing happened since the page opened
    for ticket in (first, second):
        expect(page.locator("#wall-feed li", has_text=ticket).first).to_be_visible(timeout=5000)
    expect(page.locator("#wall-feed li.ev-dispatched", has_text=first)).to_contain_text("白蒲镇")
    expect(page.locator("#wall-feed li.ev-dispatched", has_text=first).locator(".t")).to_have_text(
        re.compile(r"^\d{2}:\d{2}:\d{2}$"))  # today's: the clock time (older ones carry their date)

    # every town of the map shows its count, as the API counts it
    figures = httpx.get(f"{stack.base_url}/api/v1/wall/map", headers=stack.headers, timeout=10).json()
    expect(page.locator("#wall-map .town")).to_have_count(len(figures["towns"]) + 1, timeout=10000)
    for town in figures["towns"]:
        tile = page.locator(f'#wall-map .town[data-code="{town["code"]}"]')
        expect(tile.locator(".nm")).to_have_text(town["short"])
        expect(tile.locator(".n")).to_have_text(str(town["today"]))
        expect(tile.locator(".o")).to_have_text(f"在办 {town['open']}")
        if town["overdue"]:
            expect(tile.locator(".x")).to_have_text(f"超时 {town['overdue']}")
        else:
            expect(tile.locator(".x")).to_have_count(0)
    assert tile_count(page, "320682105") == 1 and tile_count(page, "320682001") == 1
    assert tile_count(page, "320682104") == 1 and tile_count(page, "320682117") == 0
    expect(page.locator('#wall-map .town.late[data-code="320682117"] .x')).to_have_text("超时 3")  # last week's, never accepted

    # the trend: one ECharts instance with today and the same day last week
    page.wait_for_function(f"() => {{ try {{ return {TREND_SERIES} === 2; }} catch (e) {{ return false; }} }}", timeout=10000)
    last_week = page.evaluate("echarts.getInstanceByDom(document.querySelector('#wall-trend .ec')).getOption().series[1].data")
    assert sum(n or 0 for n in last_week) == 3
    expect(page.locator("#wall-trend-sum")).to_contain_text("今日 3 件")
    expect(page.locator("#kpi-received .v")).to_have_text("3")
    expect(page.locator("#kpi-resolved .v")).to_have_text("1")
    # the KPIs and the map agree: open / overdue now, summed over the towns and the rest of the city
    for kpi, figure in (("open", "open"), ("overdue", "overdue")):
        total = sum(t[figure] for t in figures["towns"]) + figures["other"][figure]
        expect(page.locator(f"#kpi-{kpi} .v")).to_have_text(str(total))
    assert figures["other"]["overdue"] + sum(t["overdue"] for t in figures["towns"]) >= 3
    expect(page.locator("#live.on")).to_be_visible(timeout=15000)

    # nothing scrolls on the wall, and every panel lies inside the screen
    assert page.evaluate("document.scrollingElement.scrollHeight <= innerHeight"), page.evaluate(
        "[document.scrollingElement.scrollHeight, innerHeight]")
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
    for selector in ("#wall-kpis", "#wall-map", "#wall-trend", "#wall-feed"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= WALL["height"], (selector, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= WALL["width"], (selector, box)
    # readable from 3 m: the figures are large
    assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('#wall-map .town .n')).fontSize)") >= 40
    assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('#wall-feed li')).fontSize)") >= 20
    page.screenshot(path=str(artifacts / "wall_1920x1080.png"))
    assert axe_problems(page) == []  # WCAG AA contrast of the dark wall, names of the charts and regions
    # in a browser window with its bars (960 px high) nothing scrolls either: the charts follow their panels
    page.set_viewport_size({"width": 1920, "height": 960})
    page.wait_for_timeout(500)
    assert page.evaluate("document.scrollingElement.scrollHeight <= innerHeight")
    canvas, panel = page.locator("#wall-trend .ec canvas").bounding_box(), page.locator("#wall-trend").bounding_box()
    assert canvas is not None and panel is not None and canvas["y"] + canvas["height"] <= panel["y"] + panel["height"] + 1
    page.set_viewport_size(WALL)

    # a new complaint arrives live: in the feed, and its town's tile counts it, without a reload
    page.evaluate("window.__noReload = true")
    third = file_complaint(stack, "白蒲镇白蒲村菜场门口有人占道摆摊卖菜，堵住了路", "wall-3")
    expect(page.locator("#wall-feed li.ev-dispatched", has_text=third)).to_be_visible(timeout=30000)
    expect(page.locator('#wall-map .town[data-code="320682105"] .n')).to_have_text("2", timeout=15000)
    assert page.evaluate("window.__noReload") is True
    assert page.evaluate("document.scrollingElement.scrollHeight <= innerHeight")
    page.screenshot(path=str(artifacts / "wall_1920x1080_live.png"))

    # a tooltip (drawn on the canvas: ECharts' HTML tooltips would break the CSP with inline styles)
    box = page.locator("#wall-trend .ec").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__csp") == []
    assert not [e for e in errors if "favicon" not in e], errors


def geojson_city(root: Path) -> Path:
    """A copy of Rugao's configuration whose map.yaml names a GeoJSON layer (a square around each town)."""
    folder = root / "cities" / "rugao"
    shutil.copytree(REPO / "config" / "cities" / "rugao", folder)
    towns = yaml.safe_load((folder / "map.yaml").read_text(encoding="utf-8"))["towns"]
    d = 0.025
    features = [{"type": "Feature", "properties": {"code": t["territory"], "name": t["short"]},
                 "geometry": {"type": "Polygon", "coordinates": [[
                     [t["lon"] - d, t["lat"] - d], [t["lon"] + d, t["lat"] - d], [t["lon"] + d, t["lat"] + d],
                     [t["lon"] - d, t["lat"] + d], [t["lon"] - d, t["lat"] - d]]]}} for t in towns]
    (folder / "towns.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    with (folder / "map.yaml").open("a", encoding="utf-8") as f:
        f.write("geojson: towns.geojson\nfeature_key: code\n")
    return root / "cities"


def test_wall_draws_the_citys_geojson_layer_when_configured(browser: Browser, stack_factory: Any, sqlite_url: str,
                                                            tmp_path: Path, artifacts: Path) -> None:
    stack = stack_factory(sqlite_url, config_root=str(geojson_city(tmp_path)))
    tokens = users(sqlite_url)
    ticket = file_complaint(stack, "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着", "geo-1")
    wait_routed(stack.base_url, stack.headers, ticket)
    errors: list[str] = []
    page = login(browser, stack.base_url, tokens["command"], WALL, errors)
    page.add_init_script(CSP_PROBE)
    page.goto("/wall")
    page.wait_for_function("() => window.Wall && window.Wall.mode() === 'geojson'", timeout=15000)
    series = page.evaluate("echarts.getInstanceByDom(document.querySelector('#wall-map .ec')).getOption().series[0]")
    figures = httpx.get(f"{stack.base_url}/api/v1/wall/map", headers=stack.headers, timeout=10).json()
    assert figures["mode"] == "geojson" and series["type"] == "map"
    assert {d["name"]: d["value"] for d in series["data"]} == {t["code"]: t["today"] for t in figures["towns"]}
    assert dict((d["name"], d["value"]) for d in series["data"])["320682105"] == 1
    assert page.locator("#wall-map .town").count() == 0  # the layer, not the tiles
    assert page.evaluate("document.querySelector('#wall-map .ec canvas').getBoundingClientRect().height") > 400
    expect(page.locator("#wall-feed li", has_text=ticket).first).to_be_visible(timeout=5000)
    assert page.evaluate("document.scrollingElement.scrollHeight <= innerHeight")
    page.screenshot(path=str(artifacts / "wall_1920x1080_geojson.png"))
    assert page.evaluate("window.__csp") == []
    assert not [e for e in errors if "favicon" not in e], errors
