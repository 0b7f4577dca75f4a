"""Duplicates on the operator console in a real browser (issue 17): a re-worded call about an open case
shows that case beside the form while it is typed, with the reason; linking asks first (确认关联 / 取消),
取消 merges nothing, 确认关联 records the call on the case and files no new one."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ViewportSize, expect
from sqlalchemy import func, select

from services.core.engine import Engine
from services.platform.db import make_engine, make_sessionmaker
from services.tracker.models import Case, CaseEventRow
from tests.browser.test_pages_flow import login, users
from tests.integration.pages.conftest import make_case

pytestmark = pytest.mark.browser
LAPTOP_900: ViewportSize = {"width": 1440, "height": 900}
OPEN_CASE = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着"
REWORDED = "白蒲镇唐堡村那个工地晚上十一点多还在打桩，吵得睡不着觉"


def test_a_reworded_call_finds_the_open_case_beside_the_form_and_links_after_asking(
        browser: Browser, stack_factory: Any, sqlite_url: str, artifacts: Path) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    tokens = users(sqlite_url)
    sessions = make_sessionmaker(make_engine(sqlite_url))
    ticket = make_case(Engine.load("rugao"), sessions, OPEN_CASE, ago=timedelta(hours=2))

    def linked_calls() -> int:
        with sessions() as s:
            cid = s.scalars(select(Case.complaint_id).where(Case.ticket_no == ticket)).one()
            return s.scalar(select(func.count()).select_from(CaseEventRow).where(
                CaseEventRow.complaint_id == cid, CaseEventRow.type == "linked_call")) or 0

    errors: list[str] = []
    page = login(browser, stack.base_url, tokens["operator"], LAPTOP_900, errors)
    expect(page).to_have_url(re.compile(r"/console$"))
    page.fill("#phone", "13900001111")
    page.locator("#text").press_sequentially(REWORDED, delay=15)

    # while typing: the open case appears beside the form, with its reason, without scrolling
    dup = page.locator(f"#sg-duplicates li.dup[data-ticket='{ticket}']")
    expect(dup).to_be_visible(timeout=10000)
    expect(dup.locator(".dup-reason")).to_have_text(re.compile(r"^同村·文字相似 0\.[89]\d$"))
    expect(dup).to_contain_text("建筑施工噪声")
    form, card = page.locator("#call-form").bounding_box(), dup.bounding_box()
    assert form and card
    assert card["x"] >= form["x"] + form["width"], (form, card)  # next to the form, not below it
    assert card["y"] >= 0 and card["y"] + card["height"] <= LAPTOP_900["height"], card  # above the fold
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate("document.activeElement.id") == "text"  # the operator kept typing
    page.screenshot(path=str(artifacts / "console_duplicate_beside_form.png"))

    # linking asks first, naming this call and the case; 取消 merges nothing
    dup.locator("button.link-btn").click()
    dialog = page.locator("#link-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#link-title")).to_have_text(f"将本次来电关联到工单 {ticket}？")
    expect(page.locator("#link-call")).to_contain_text("未建单")
    expect(page.locator("#link-call")).to_contain_text("139****1111")
    expect(page.locator("#link-case")).to_contain_text(f"工单 {ticket}")
    expect(page.locator("#link-confirm")).to_have_text("确认关联")
    expect(page.locator("#link-cancel")).to_have_text("取消")
    page.screenshot(path=str(artifacts / "console_link_confirm.png"))
    page.locator("#link-cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#ticket")).to_be_hidden()
    page.wait_for_timeout(500)
    assert linked_calls() == 0

    # Escape is a cancel too
    dup.locator("button.link-btn").click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.wait_for_timeout(300)
    assert linked_calls() == 0

    # 确认关联: the call is recorded on the open case, no new ticket
    dup.locator("button.link-btn").click()
    page.locator("#link-confirm").click()
    expect(page.locator("#ticket-no")).to_have_text(ticket, timeout=10000)
    expect(page.locator("#ticket")).to_contain_text("第 1 次补充来电")
    expect(dup.locator("button.link-btn")).to_be_disabled()
    assert linked_calls() == 1
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1
    # a smaller laptop: the panel still beside the form; a phone: below it, nothing wider than the screen
    page.set_viewport_size({"width": 1280, "height": 800})
    form, card = page.locator("#call-form").bounding_box(), dup.bounding_box()
    assert form and card and card["x"] >= form["x"] + form["width"] and card["y"] < 800, (form, card)
    page.screenshot(path=str(artifacts / "console_duplicate_1280.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    form, card = page.locator("#call-form").bounding_box(), dup.bounding_box()
    assert form and card and card["y"] >= form["y"] + form["height"], (form, card)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "console_duplicate_phone.png"), full_page=True)
    assert not [e for e in errors if "favicon" not in e], errors
