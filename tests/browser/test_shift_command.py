"""The command centre's shift on /dashboard, scripted in Chromium (issue 17): what waits for it is listed in
待指挥中心处理 (two extension requests, two resolved cases); it refuses one extension with a reason
(驳回延期) and grants the other (批准延期), verifies one result (核查结案), sends the other back (返工),
and sends a supervision notice (督办) that reaches the alerts list and the squad's page; the wall
screen shows the shift's cases.  The tracker
runs beside the API: the notice goes out through the outbox and the alerts topic like any other."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from services.platform.db import make_engine, make_sessionmaker
from tests.browser.shift import Shift, api
from tests.browser.test_pages_flow import LAPTOP, PHONE, users
from tests.integration.tracker.conftest import make_case

pytestmark = pytest.mark.browser
NOTE = "群众反映强烈，请今日内到场处置并反馈"
WALL: ViewportSize = {"width": 1920, "height": 1080}


def open_case(dash: Page, ticket: str) -> Locator:
    """Open a case from 待指挥中心处理 (or by its number when it is not listed there)."""
    item = dash.locator("#todo li", has_text=ticket)
    if item.count():
        item.first.locator("a.tno").click()
    else:
        dash.fill("#find-ticket", ticket)
        dash.click("#find button[type=submit]")
    dialog = dash.locator("#detail")
    expect(dialog).to_be_visible()
    expect(dash.locator("#detail-title")).to_contain_text(ticket)
    return dialog


def close(dash: Page) -> None:
    dash.click("#detail-close")
    expect(dash.locator("#detail")).to_be_hidden()


def test_command_centre_shift(browser: Browser, stack_factory: Any, sqlite_url: str, artifacts: Path) -> None:
    stack = stack_factory(sqlite_url, services=("tracker", "api"))
    base, admin = stack.base_url, stack.env["COMPLAINTS_ADMIN_TOKEN"]
    tokens = users(sqlite_url)
    sessions = make_sessionmaker(make_engine(sqlite_url))
    refuse, grant, verify, reopen, supervise = (make_case(sessions) for _ in range(5))
    squad = tokens["squad"]
    for t in (refuse, grant, verify, reopen, supervise):
        api(base, squad, "POST", f"/api/v1/cases/{t}/accept", {})
    for t in (refuse, grant):
        api(base, squad, "POST", f"/api/v1/cases/{t}/extension", {"hours": 48, "reason": "需协调多部门联合处置"})
    for t in (verify, reopen):
        api(base, squad, "POST", f"/api/v1/cases/{t}/resolve", {"result": "已责令停工", "disposal_mode": "管理"})

    shift = Shift("command", browser, base, artifacts)
    dash = shift.login(tokens["command"], LAPTOP)
    expect(dash).to_have_url(re.compile(r"/dashboard$"))
    todo = dash.locator("#todo")
    for t in (refuse, grant):
        expect(todo.locator("li.ext-pending", has_text=t)).to_be_visible(timeout=15000)
    for t in (verify, reopen):
        expect(todo.locator("li", has_text=t)).to_contain_text("待核查")
    shift.shot(dash, "dashboard_start")

    # 驳回延期, with its reason
    dialog = open_case(dash, refuse)
    section = dialog.locator("#extension-request")
    expect(section).to_contain_text("48 小时")
    section.locator("button[data-action=extension_refuse]").click()
    section.locator("textarea[name=reason]").fill("情况简单，请按原时限办结")
    shift.shot(dash, "extension_refuse", full_page=False)
    section.locator("button[data-action=extension_refuse_confirm]").click()
    expect(section).to_contain_text("延期已驳回", timeout=10000)
    expect(dash.locator("#toast")).to_have_text(f"已驳回延期：{refuse}")
    close(dash)

    # 批准延期: the deadline moves by the hours asked for
    before = api(base, admin, "GET", f"/api/v1/cases/{grant}")["resolve_by"]
    dialog = open_case(dash, grant)
    dialog.locator("#extension-request button[data-action=extension_approve]").click()
    expect(dialog.locator("#extension-request")).to_contain_text("已批准延期", timeout=10000)
    expect(dash.locator("#toast")).to_have_text(f"已批准延期：{grant}")
    after = api(base, admin, "GET", f"/api/v1/cases/{grant}")["resolve_by"]
    assert after > before
    shift.shot(dash, "extension_granted", full_page=False)
    close(dash)

    # 核查结案
    dialog = open_case(dash, verify)
    dialog.locator("button[data-action=verify]").click()
    expect(dialog.locator(".badge.st-closed")).to_be_visible(timeout=10000)
    expect(dialog.locator(".history")).to_contain_text("核查结案")
    expect(dash.locator("#toast")).to_have_text(f"已核查结案：{verify}")
    shift.shot(dash, "verified", full_page=False)
    close(dash)

    # 返工, with its reason
    dialog = open_case(dash, reopen)
    dialog.locator("button[data-action=reopen]").click()
    dialog.locator("form textarea[name=reason]").fill("回访发现夜间仍在施工，请重新处置")
    dialog.locator("form button[type=submit]").click()
    expect(dialog.locator(".badge.st-in_progress")).to_be_visible(timeout=10000)  # back to the squad's work
    expect(dialog.locator(".history")).to_contain_text("返工")
    expect(dash.locator("#toast")).to_have_text(f"已返工：{reopen}")
    shift.shot(dash, "reopened", full_page=False)
    close(dash)

    # 督办: the notice reaches the alerts list and the squad's page
    dialog = open_case(dash, supervise)
    dialog.locator("button[data-action=supervise]").click()
    dialog.locator("form textarea[name=note]").fill(NOTE)
    dialog.locator("form button[type=submit]").click()
    expect(dash.locator("#toast")).to_have_text(f"已督办：{supervise}", timeout=10000)
    expect(dialog.locator(".history")).to_contain_text("督办")
    close(dash)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not api(base, admin, "GET", "/api/v1/alerts?kind=supervision")["alerts"]:
        time.sleep(0.5)  # relayed from the outbox by the tracker, stored from the alerts topic
    dash.reload()
    expect(dash.locator("#alerts li", has_text=supervise)).to_contain_text(NOTE, timeout=15000)
    shift.shot(dash, "supervision_listed")

    states = {t: api(base, admin, "GET", f"/api/v1/cases/{t}") for t in (refuse, grant, verify, reopen)}
    assert (states[refuse]["status"], states[refuse]["extension"]) == ("accepted", "refused")
    assert (states[grant]["status"], states[grant]["extension"]) == ("accepted", "approved")
    assert states[verify]["status"] == "closed" and states[reopen]["status"] == "in_progress"
    assert [h["type"] for h in states[reopen]["history"]][-1] == "reopened"
    expect(todo.locator("li.ext-pending")).to_have_count(0)

    # the wall screen of the same room: the shift's cases on its feed and on 白蒲镇's tile, no scrolling
    wall = shift.login(tokens["command"], WALL)
    wall.goto("/wall")
    expect(wall.locator("#wall-feed li", has_text=supervise).first).to_be_visible(timeout=15000)
    expect(wall.locator('#wall-map .town[data-code="320682105"] .o')).to_have_text("在办 4", timeout=15000)
    assert wall.evaluate("document.documentElement.scrollHeight") <= WALL["height"]
    shift.shot(wall, "wall")

    member = shift.login(squad, PHONE)  # the squad reads the notice on its phone
    expect(member.locator("#notices")).to_contain_text(NOTE, timeout=15000)
    expect(member.locator(f"#case-{reopen}")).to_be_visible()  # back in its queue
    shift.shot(member, "squad_sees_notice")
    assert not shift.script_errors(), shift.errors
