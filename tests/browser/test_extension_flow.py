"""Extensions on the command centre's page (issue 17): a squad's pending request is listed in
待指挥中心处理 and shown in the case (after a reload too); 驳回延期 asks for a reason (a Chinese error
when it is empty) and the case then shows the refusal; 批准延期 moves the deadline.  And the overdue /
near-due tiles equal their lists (one definition: services/core/figures.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from services.platform.db import make_engine, make_sessionmaker
from services.tracker.models import Case
from tests.browser.test_pages_flow import LAPTOP, login, users
from tests.integration.tracker.conftest import make_case

pytestmark = pytest.mark.browser
REASON = "需协调住建部门联合执法，现场整改需要两天"


def pending_case(base: str, database_url: str, squad_token: str) -> str:
    """A case the squad accepted and asked 48 hours more for, through the real API."""
    ticket = make_case(make_sessionmaker(make_engine(database_url)))
    auth = {"Authorization": f"Bearer {squad_token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=10) as http:
        assert http.post(f"/api/v1/cases/{ticket}/accept").status_code == 200
        r = http.post(f"/api/v1/cases/{ticket}/extension", json={"reason": REASON, "hours": 48})
        assert r.status_code == 200, r.text
    return ticket


def case_row(database_url: str, ticket: str) -> Case:
    with make_sessionmaker(make_engine(database_url))() as s:
        return s.scalars(select(Case).where(Case.ticket_no == ticket)).one()


def open_pending(dash: Page, ticket: str) -> Any:
    item = dash.locator("#todo li.ext-pending", has_text=ticket)
    expect(item).to_be_visible(timeout=15000)
    expect(item).to_contain_text("延期待审批（+48 小时）")
    item.locator("a.tno").click()
    dialog = dash.locator("#detail")
    expect(dialog).to_be_visible()
    section = dialog.locator("#extension-request")
    expect(section).to_contain_text("延期待审批")
    expect(section).to_contain_text("48 小时")
    expect(section).to_contain_text(REASON)
    expect(section).to_contain_text(re.compile(r"延期后时限\s*2026-\d\d-\d\d \d\d:\d\d"))  # Beijing time, in words
    expect(section).not_to_contain_text("[object")
    return dialog


def test_refusing_an_extension_asks_for_a_reason_and_shows_the_refusal(
        browser: Browser, stack_factory: Any, sqlite_url: str, artifacts: Path) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    tokens = users(sqlite_url)
    ticket = pending_case(stack.base_url, sqlite_url, tokens["squad"])
    errors: list[str] = []
    dash = login(browser, stack.base_url, tokens["command"], LAPTOP, errors)
    expect(dash).to_have_url(re.compile(r"/dashboard$"))

    dialog = open_pending(dash, ticket)
    dialog.locator("#extension-request button[data-action=extension_refuse]").click()
    confirm = dialog.locator("#extension-request button[data-action=extension_refuse_confirm]")
    confirm.click()  # no reason: refused in the page, in Chinese, nothing sent
    expect(dialog.locator("#extension-request .error")).to_have_text("请填写驳回原因")
    assert case_row(sqlite_url, ticket).extension == "requested"
    dialog.locator("#extension-request textarea[name=reason]").fill("不符合延期条件，请按原时限办结")
    dash.screenshot(path=str(artifacts / "dashboard_extension_refuse.png"), full_page=False)
    confirm.click()

    section = dialog.locator("#extension-request")
    expect(section).to_contain_text("延期已驳回", timeout=10000)
    expect(section).to_contain_text("不符合延期条件，请按原时限办结")
    expect(dialog.locator(".detail-badges")).to_contain_text("延期已驳回")
    expect(dialog.locator(".history")).to_contain_text("驳回延期")
    expect(section.locator("button[data-action=extension_refuse]")).to_have_count(0)
    row = case_row(sqlite_url, ticket)
    assert row.extension == "refused" and row.status == "accepted"
    dash.screenshot(path=str(artifacts / "dashboard_extension_refused.png"), full_page=False)

    dash.reload()  # no longer waiting for the command centre
    expect(dash.locator("#todo li").first).to_be_visible(timeout=15000)
    expect(dash.locator("#todo li.ext-pending", has_text=ticket)).to_have_count(0)
    assert not [e for e in errors if "favicon" not in e], errors


def test_a_pending_request_survives_a_reload_and_can_be_approved(
        browser: Browser, stack_factory: Any, sqlite_url: str, artifacts: Path) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    tokens = users(sqlite_url)
    errors: list[str] = []
    dash = login(browser, stack.base_url, tokens["command"], LAPTOP, errors)
    expect(dash.locator("#todo li").first).to_be_visible(timeout=15000)
    ticket = pending_case(stack.base_url, sqlite_url, tokens["squad"])  # asked while the page was open
    dash.reload()
    dash.reload()  # twice: nothing the page kept from a live event
    dialog = open_pending(dash, ticket)
    dash.screenshot(path=str(artifacts / "dashboard_extension_pending.png"), full_page=False)
    before = case_row(sqlite_url, ticket).resolve_by
    dialog.locator("#extension-request button[data-action=extension_approve]").click()
    expect(dialog.locator("#extension-request")).to_contain_text("已批准延期", timeout=10000)
    after = case_row(sqlite_url, ticket).resolve_by
    assert before is not None and after is not None and (after - before).total_seconds() == 48 * 3600
    expect(dialog.locator(".history")).to_contain_text("批准延期")
    assert not [e for e in errors if "favicon" not in e], errors


def test_overdue_and_near_due_tiles_equal_their_lists(browser: Browser, stack_factory: Any, sqlite_url: str) -> None:
    """The shift's defect: the tile counted today's overdue cases (2), the list every overdue case (35)."""
    stack = stack_factory(sqlite_url, services=("api",))
    tokens = users(sqlite_url)
    sessions = make_sessionmaker(make_engine(sqlite_url))
    now = datetime.now(UTC)
    for _ in range(33):  # received yesterday, still open: overdue now
        make_case(sessions, received_at=now - timedelta(hours=30))
    for _ in range(2):   # received today, past the 30-minute accept deadline
        make_case(sessions, received_at=now - timedelta(hours=1))
    for _ in range(3):   # 50 of 60 minutes used: near due
        make_case(sessions, received_at=now - timedelta(minutes=50), accept_in=timedelta(hours=1))
    make_case(sessions, received_at=now - timedelta(minutes=5))  # fine
    errors: list[str] = []
    dash = login(browser, stack.base_url, tokens["command"], LAPTOP, errors)
    expect(dash.locator("#overdue li").first).to_be_visible(timeout=15000)
    expect(dash.locator("#tile-overdue .tile-v")).to_have_text("35")
    expect(dash.locator("#overdue-count")).to_have_text("（35）")
    expect(dash.locator("#overdue li")).to_have_count(35)
    expect(dash.locator("#tile-neardue .tile-v")).to_have_text("3")
    expect(dash.locator("#neardue-count")).to_have_text("（3）")
    expect(dash.locator("#neardue li .countdown.warn")).to_have_count(3)
    assert not [e for e in errors if "favicon" not in e], errors
