"""A citizen's part of the shift on a phone, scripted in Chromium (issue 17): looks the case up on /citizen
(ticket + last four digits of the phone; a wrong pair and another citizen's ticket get the same answer),
reads the progress, adds a note and a photo while the squad works on it, and rates the result once it is
resolved; the rating reaches the case the command centre sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from services.platform.db import make_engine, make_sessionmaker
from tests.browser.shift import Shift, api
from tests.browser.test_pages_flow import PHONE, users
from tests.integration.tracker.conftest import make_case
from tests.photo_images import png

pytestmark = pytest.mark.browser
MINE, THEIRS = "13812345678", "13955554321"
WRONG = "工单号或手机号后四位不正确"


def look_up(page: Page, ticket: str, last4: str) -> None:
    page.fill("#c-ticket", ticket)
    page.fill("#c-last4", last4)
    page.click("#c-go")


def test_citizen_looks_up_adds_and_rates(browser: Browser, stack_factory: Any, sqlite_url: str,
                                         artifacts: Path) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    base, admin = stack.base_url, stack.env["COMPLAINTS_ADMIN_TOKEN"]
    tokens = users(sqlite_url)
    sessions = make_sessionmaker(make_engine(sqlite_url))
    ticket = make_case(sessions, phone=MINE)
    other = make_case(sessions, phone=THEIRS, text="白蒲镇唐堡村路边饭店油烟直排，呛得人没法开窗")
    shift = Shift("citizen", browser, base, artifacts)
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=base, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.on("pageerror", lambda exc: shift.errors.append(str(exc)))
    page.on("console", lambda m: shift.errors.append(m.text) if m.type == "error" else None)

    page.goto("/citizen")
    shift.shot(page, "lookup_form")
    look_up(page, ticket, "0000")  # wrong digits
    expect(page.locator("#c-form-error")).to_have_text(WRONG)
    look_up(page, other, MINE[-4:])  # another citizen's ticket with my digits: the same answer, nothing of theirs
    expect(page.locator("#c-form-error")).to_have_text(WRONG)
    assert "油烟" not in page.locator("body").inner_text()
    look_up(page, ticket, MINE[-4:])
    expect(page.locator("#c-headline")).to_have_text("已派至白蒲镇城管执法中队，等待处理", timeout=10000)
    shift.shot(page, "progress_dispatched")

    # the squad takes it on; the citizen adds what they saw since
    api(base, tokens["squad"], "POST", f"/api/v1/cases/{ticket}/accept", {})
    page.fill("#c-add-text", "补充：今晚十点以后还在打桩，工地东门进出")
    page.click("#c-add-send")
    expect(page.locator("#c-toast")).to_have_text("已提交补充，承办单位会看到", timeout=10000)
    expect(page.locator("#c-timeline li span").last).to_have_text("您补充了文字说明")
    expect(page.locator("#c-headline")).to_have_text("白蒲镇城管执法中队已签收，正在处置")
    photo: FilePayload = {"name": "site.png", "mimeType": "image/png", "buffer": png(1600, 1200, seed=7)}
    page.set_input_files("#c-photo-box input[data-photo-input=gallery]", files=[photo])
    expect(page.locator("#c-photo-box li.photo .photo-state")).to_have_text("已上传", timeout=30000)
    expect(page.locator("#c-timeline li span").last).to_have_text("您补充了1张照片")
    shift.shot(page, "information_added")
    case = api(base, admin, "GET", f"/api/v1/cases/{ticket}")
    assert "今晚十点以后还在打桩" in case["text"]
    assert [a["content_type"] for a in case["attachments"] if a.get("source") == "citizen"] == ["image/jpeg"]

    # resolved by the squad: the citizen looks again and rates it
    api(base, tokens["squad"], "POST", f"/api/v1/cases/{ticket}/resolve",
        {"result": "已责令工地夜间停工，施工方承诺整改", "disposal_mode": "执法"})
    page.reload()
    look_up(page, ticket, MINE[-4:])
    expect(page.locator("#c-headline")).to_have_text("已办结，欢迎您对处理结果进行评价", timeout=10000)
    expect(page.locator("#c-result")).to_have_text("已责令工地夜间停工，施工方承诺整改")
    page.get_by_label("满意", exact=True).check()
    shift.shot(page, "rating")
    page.click("#c-rate-send")
    expect(page.locator("#c-rated")).to_be_visible(timeout=10000)
    expect(page.locator("#c-rating")).to_have_text("满意")
    shift.shot(page, "rated")
    assert api(base, admin, "GET", f"/api/v1/cases/{ticket}")["rating"] == "满意"
    assert api(base, admin, "GET", f"/api/v1/cases/{other}")["rating"] is None
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # the only failed requests are the two refused look-ups (404, the same for both)
    refused = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    assert shift.script_errors(allowed=(refused,)) == [], shift.errors
    assert shift.errors.count(refused) == 2, shift.errors
    context.close()
