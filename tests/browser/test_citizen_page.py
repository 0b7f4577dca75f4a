"""A citizen on a phone (390 px): opens the link of their notification, looks the case up with the last four
digits, reads its progress in plain words, adds text and a photo, and rates it once it is resolved; the page
never shows a phone number, a name or a member of staff."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from services.core.events import Channel
from services.platform.db import make_engine, make_sessionmaker
from services.tracker.auth import Role, add_user
from services.tracker.citizen_progress import status_url
from tests.browser.test_accessibility import AXE, axe_problems
from tests.integration.tracker.conftest import make_case
from tests.photo_images import png

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
CITIZEN_PHONE = "13812345678"
BEIJING = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


def texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


def look_up(page: Page, last4: str) -> None:
    page.fill("#c-last4", last4)
    page.click("#c-go")


def test_citizen_looks_up_adds_and_rates_on_a_phone(browser: Browser, stack_factory: Any, sqlite_url: str,
                                                     artifacts: Path) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    sessions = make_sessionmaker(make_engine(sqlite_url))
    tag = uuid.uuid4().hex[:4]
    staff = {"squad": (f"白蒲队员{tag}", add_user(sessions, f"白蒲队员{tag}", Role.SQUAD, "SQ_BAIPU")),
             "command": (f"指挥员{tag}", add_user(sessions, f"指挥员{tag}", Role.COMMAND, None))}
    ticket = make_case(sessions, phone=CITIZEN_PHONE)

    def act(role: str, action: str, body: dict[str, Any] | None = None) -> None:
        r = httpx.post(f"{stack.base_url}/api/v1/cases/{ticket}/{action}", json=body, timeout=10,
                       headers={"Authorization": f"Bearer {staff[role][1]}"})
        assert r.status_code == 200, r.text

    def staff_case() -> dict[str, Any]:
        r = httpx.get(f"{stack.base_url}/api/v1/cases/{ticket}", timeout=10,
                      headers={"Authorization": f"Bearer {staff['command'][1]}"})
        assert r.status_code == 200
        out: dict[str, Any] = r.json()
        return out

    errors: list[str] = []
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=stack.base_url, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    context.add_init_script(script=AXE)  # axe-core, injected outside the page's CSP (tests only)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # the WeChat notification's link: the ticket is filled in, the citizen types the last four digits
    page.goto(f"/citizen?t={ticket}")
    expect(page.locator("#c-ticket")).to_have_value(ticket)
    expect(page.locator("#c-last4")).to_be_focused()
    page.screenshot(path=str(artifacts / "citizen_lookup.png"), full_page=True)
    assert not axe_problems(page)  # WCAG AA: contrast, labels, ARIA
    look_up(page, "0000")
    expect(page.locator("#c-form-error")).to_have_text("工单号或手机号后四位不正确")
    look_up(page, CITIZEN_PHONE[-4:])
    expect(page.locator("#c-headline")).to_have_text("已派至白蒲镇城管执法中队，等待处理")
    assert texts(page, "#c-stages li") == ["已受理", "已派至白蒲镇城管执法中队", "处置中", "已办结"]
    expect(page.locator("#c-stages li.current")).to_have_text("已派至白蒲镇城管执法中队")
    assert texts(page, "#c-timeline li span") == ["您的诉求已受理", "已派至白蒲镇城管执法中队"]
    assert all(BEIJING.match(t) for t in texts(page, "#c-timeline li time"))
    assert BEIJING.match(page.locator("#c-received").inner_text())
    expect(page.locator("#c-unit")).to_have_text("白蒲镇城管执法中队")
    assert f"?t={ticket}" in page.url and CITIZEN_PHONE[-4:] not in page.url
    assert not axe_problems(page)

    # the squad takes it on; the command centre supervises with an internal note
    act("squad", "accept")
    act("command", "supervise", {"note": "内部督办意见：抓紧处理"})
    page.fill("#c-add-text", "补充：晚上十点以后还在打桩")
    page.click("#c-add-send")
    expect(page.locator("#c-toast")).to_have_text("已提交补充，承办单位会看到")
    expect(page.locator("#c-timeline li span").last).to_have_text("您补充了文字说明")
    expect(page.locator("#c-headline")).to_have_text("白蒲镇城管执法中队已签收，正在处置")

    # a photo from the gallery (photos.js, as for the squad): resized in the browser, uploaded with progress
    page.set_input_files("#c-photo-box input[data-photo-input=gallery]",
                         files=[{"name": "site.png", "mimeType": "image/png", "buffer": png(2000, 1500, seed=3)}])
    expect(page.locator("#c-photo-box li.photo .photo-state")).to_have_text("已上传", timeout=20000)
    expect(page.locator("#c-photo-count")).to_have_text("1")
    assert (page.locator("#c-photo-box li.photo img").get_attribute("src") or "").startswith("data:image/jpeg")
    expect(page.locator("#c-timeline li span").last).to_have_text("您补充了1张照片")
    page.screenshot(path=str(artifacts / "citizen_progress.png"), full_page=True)
    case = staff_case()
    [photo] = [a for a in case["attachments"] if a.get("source") == "citizen"]
    assert photo["content_type"] == "image/jpeg" and max(photo["width"], photo["height"]) == 1600
    assert "【补充】补充：晚上十点以后还在打桩" in case["text"]

    # resolved: the citizen opens the link again, reads the result and rates it once
    act("squad", "resolve", {"result": "已责令工地夜间停工", "disposal_mode": "执法"})
    page.reload()
    expect(page.locator("#c-ticket")).to_have_value(ticket)
    look_up(page, CITIZEN_PHONE[-4:])
    expect(page.locator("#c-headline")).to_have_text("已办结，欢迎您对处理结果进行评价")
    expect(page.locator("#c-result")).to_have_text("已责令工地夜间停工")
    expect(page.locator("#c-stages li.done")).to_have_count(4)
    expect(page.locator("#c-add")).to_be_hidden()
    assert not axe_problems(page)
    page.click("#c-rate-send")
    expect(page.locator("#c-rate-error")).to_have_text("请选择满意、基本满意或不满意")
    page.get_by_label("基本满意").check()
    page.fill("#c-rate-comment", "处理及时，希望不再反复")
    page.click("#c-rate-send")
    expect(page.locator("#c-rated")).to_be_visible()
    expect(page.locator("#c-rating")).to_have_text("基本满意")
    expect(page.locator("#c-headline")).to_have_text("已办结")
    expect(page.locator("#c-rate")).to_be_hidden()
    expect(page.locator("#c-timeline li span").last).to_have_text("您已评价：基本满意")
    page.screenshot(path=str(artifacts / "citizen_rated.png"), full_page=True)
    rated = staff_case()["history"][-1]
    assert rated["type"] == "rated" and rated["data"]["comment"] == "处理及时，希望不再反复"

    # nothing personal or internal on the page, and it fits the phone's width
    shown = page.locator("body").inner_text()
    markup = page.content()
    for secret in (CITIZEN_PHONE, CITIZEN_PHONE[:7], "王女士", "某小区", staff["squad"][0], staff["command"][0],
                   "SQ_BAIPU", "squad", "command:", "内部督办意见", "打桩，吵得"):
        assert secret not in shown and secret not in markup, secret
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # the one failed request is the wrong last four digits' 404; no CSP violation, no script error
    refused = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    assert errors == [refused], errors
    context.close()


def test_the_wechat_link_opens_the_case_without_digits(browser: Browser, stack_factory: Any, sqlite_url: str,
                                                       artifacts: Path) -> None:
    """A WeChat citizen gave no phone number: their notification's link (with the ticket's key) opens the case."""
    secret = "browser-link-secret-42"
    stack = stack_factory(sqlite_url, services=("api",), citizen_link_secret=secret)
    sessions = make_sessionmaker(make_engine(sqlite_url))
    ticket = make_case(sessions, channel=Channel.WECHAT, citizen_id="oBrowserCitizen", phone=None)
    errors: list[str] = []
    page = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=stack.base_url, is_mobile=True).new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(status_url("", ticket, secret))
    expect(page.locator("#c-headline")).to_have_text("已派至白蒲镇城管执法中队，等待处理")
    page.fill("#c-add-text", "补充：就在村口路边")
    page.click("#c-add-send")
    expect(page.locator("#c-timeline li span").last).to_have_text("您补充了文字说明")
    page.screenshot(path=str(artifacts / "citizen_wechat_link.png"), full_page=True)
    assert "oBrowserCitizen" not in page.content()
    # a key of another ticket opens nothing
    page.goto(f"/citizen?t={ticket[:-1]}{(int(ticket[-1]) + 1) % 10}&k={status_url('', ticket, secret)[-32:]}")
    expect(page.locator("#c-form-error")).to_have_text("工单号或手机号后四位不正确")
    expect(page.locator("#c-case")).to_be_hidden()
    assert errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"], errors
