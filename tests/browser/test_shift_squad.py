"""A squad member's shift on a phone (390x844), scripted in Chromium (issue 17): the queue of the squad's own
cases only; accept (签收), ask for more time (申请延期), start (开始处置), take a site photo with the camera
input and resolve with it (处置反馈), return a case that is not theirs (退单) - each answered by a toast that
names what was done, and the queue empty at the end of the shift."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from services.platform.db import make_engine, make_sessionmaker
from tests.browser.shift import Shift, api
from tests.browser.test_pages_flow import PHONE, users
from tests.integration.tracker.conftest import make_case
from tests.photo_images import noisy_png

pytestmark = pytest.mark.browser


def resolve(page: Page, ticket: str, result: str, mode: str) -> None:
    card = page.locator(f"#case-{ticket}")
    card.locator("button[data-action=resolve]").click()
    card.locator("textarea[name=result]").fill(result)
    card.locator(f"input[type=radio][value={mode}]").check()
    card.locator("form button[type=submit]").click()
    expect(page.locator("#toast")).to_have_text(f"已办结反馈：{ticket}", timeout=15000)
    expect(card).to_have_count(0, timeout=15000)  # resolved cases leave the queue


def test_squad_shift_on_a_phone(browser: Browser, stack_factory: Any, sqlite_url: str, artifacts: Path) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    admin = stack.env["COMPLAINTS_ADMIN_TOKEN"]
    tokens = users(sqlite_url)
    sessions = make_sessionmaker(make_engine(sqlite_url))
    a, b, c, d = (make_case(sessions) for _ in range(4))
    elsewhere = make_case(sessions, unit="SQ_RUCHENG", territory="320682001", village=None,
                          text="如城街道花园社区文化广场每晚跳广场舞，音响开得很大")
    shift = Shift("squad", browser, stack.base_url, artifacts)
    page = shift.login(tokens["squad"], PHONE)
    expect(page).to_have_url(re.compile(r"/squad$"))
    expect(page.locator("#squad-title")).to_have_text(re.compile(r"待办 4 件$"), timeout=15000)
    for t in (a, b, c, d):
        expect(page.locator(f"#case-{t}")).to_be_visible()
    assert page.locator(f"#case-{elsewhere}").count() == 0  # another squad's case is never shown
    expect(page.locator(f"#case-{a}")).to_contain_text("138****5678")  # the citizen's phone masked
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shift.shot(page, "queue")

    # 签收 and 申请延期 on the first case
    card = page.locator(f"#case-{a}")
    card.locator("button[data-action=accept]").click()
    expect(page.locator("#toast")).to_have_text(f"已签收：{a}", timeout=10000)
    expect(card.locator(".badge.st-accepted")).to_be_visible(timeout=10000)
    card.locator("button[data-action=extension]").click()
    card.locator("input[name=hours]").fill("48")
    card.locator("textarea[name=reason]").fill("需协调供电部门停电后拆除，需要两天")
    shift.shot(page, "extension_form")
    card.locator("form button[type=submit]").click()
    expect(page.locator("#toast")).to_have_text(f"已申请延期：{a}", timeout=10000)
    case_a = api(stack.base_url, admin, "GET", f"/api/v1/cases/{a}")
    assert (case_a["status"], case_a["extension"], case_a["extension_hours"]) == ("accepted", "requested", 48)
    shift.shot(page, "extension_requested")

    # the second case: 签收, a site photo from the camera, 处置反馈 with it
    card = page.locator(f"#case-{b}")
    card.locator("button[data-action=accept]").click()
    expect(card.locator(".badge.st-accepted")).to_be_visible(timeout=10000)
    camera = card.locator("input[type=file][data-photo-input=camera]")
    assert camera.get_attribute("capture") == "environment"
    photo: FilePayload = {"name": "site.png", "mimeType": "image/png", "buffer": noisy_png(1200, 900)}
    camera.set_input_files([photo])
    expect(card.locator(".thumbs img")).to_have_count(1, timeout=60000)
    shift.shot(page, "photo_uploaded")
    resolve(page, b, "已到现场责令停止夜间施工，施工方已停工", "管理")
    case_b = api(stack.base_url, admin, "GET", f"/api/v1/cases/{b}")
    assert case_b["status"] == "resolved" and case_b["disposal_mode"] == "管理"
    assert case_b["photos"] == [f"/api/v1/cases/{b}/attachments/0"]  # the feedback carries the photo
    shift.shot(page, "resolved_with_photo")

    # the third: 签收, 开始处置, 处置反馈
    card = page.locator(f"#case-{c}")
    card.locator("button[data-action=accept]").click()
    expect(card.locator("button[data-action=start]")).to_be_visible(timeout=10000)
    card.locator("button[data-action=start]").click()
    expect(page.locator("#toast")).to_have_text(f"已开始处置：{c}", timeout=10000)
    expect(card.locator(".badge.st-in_progress")).to_be_visible(timeout=10000)
    resolve(page, c, "已劝导施工方，夜间不再施工", "服务")

    # the fourth is not theirs: 退单 with a reason
    card = page.locator(f"#case-{d}")
    card.locator("button[data-action=return]").click()
    card.locator("textarea[name=reason]").fill("现场核实不在本镇辖区，属如城街道")
    card.locator("form button[type=submit]").click()
    expect(page.locator("#toast")).to_have_text(f"已退单：{d}", timeout=10000)
    expect(card).to_have_count(0, timeout=10000)
    case_d = api(stack.base_url, admin, "GET", f"/api/v1/cases/{d}")
    assert case_d["returns"] == 1 and case_d["unit"] != "SQ_BAIPU"

    # the command centre grants the extension meanwhile; the last case is resolved before the shift ends
    api(stack.base_url, admin, "POST", f"/api/v1/cases/{a}/extension/approve", {})
    page.reload()
    expect(page.locator(f"#case-{a}")).to_be_visible(timeout=15000)
    resolve(page, a, "已拆除违章搭建，现场清理完毕", "执法")
    expect(page.locator("#queue-empty")).to_be_visible(timeout=10000)
    expect(page.locator("#squad-title")).to_have_text(re.compile(r"待办 0 件$"))
    shift.shot(page, "queue_empty")
    assert not shift.script_errors(), shift.errors
