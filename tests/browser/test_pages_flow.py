"""The whole job in a real browser: an operator files a complaint on /console, the dashboard sees it live,
the right squad accepts and resolves it on a phone-sized /squad, the command centre verifies it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import update

from services.platform.db import make_engine, make_sessionmaker
from services.tracker.auth import Role, add_user
from services.tracker.models import Case
from tests.photo_images import JPEG_48x32

pytestmark = pytest.mark.browser
XSS = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>' OR '1'='1"
TEXT = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着 " + XSS
TWO_MATTERS = "白蒲镇唐堡村饭店厨房油烟直排呛人，还在人行道上摆桌子和炉灶占道经营。"
LAPTOP: ViewportSize = {"width": 1440, "height": 960}
PHONE: ViewportSize = {"width": 390, "height": 844}


def users(database_url: str) -> dict[str, str]:
    sessions = make_sessionmaker(make_engine(database_url))
    tag = uuid.uuid4().hex[:4]
    return {"operator": add_user(sessions, f"接线员{tag}", Role.OPERATOR, None),
            "squad": add_user(sessions, f"白蒲队员{tag}", Role.SQUAD, "SQ_BAIPU"),
            "squad_other": add_user(sessions, f"如城队员{tag}", Role.SQUAD, "SQ_RUCHENG"),
            "command": add_user(sessions, f"指挥员{tag}", Role.COMMAND, None)}


def login(browser: Browser, base: str, token: str, viewport: ViewportSize, errors: list[str]) -> Page:
    page = browser.new_context(viewport=viewport, locale="zh-CN", base_url=base).new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_load_state("domcontentloaded")
    return page


def tile(page: Page, name: str) -> int:
    return int(page.locator(f"#tile-{name} .tile-v").inner_text())


def test_operator_squad_and_command_centre_in_a_browser(browser: Browser, stack_factory: Any, sqlite_url: str,
                                                         artifacts: Path) -> None:
    stack = stack_factory(sqlite_url)
    tokens = users(sqlite_url)
    errors: list[str] = []

    # the command centre watches the dashboard (live feed connected)
    dash = login(browser, stack.base_url, tokens["command"], LAPTOP, errors)
    expect(dash).to_have_url(re.compile(r"/dashboard$"))
    expect(dash.locator("#live.on")).to_be_visible(timeout=15000)
    expect(dash.locator("#tile-received .tile-v")).to_have_text("0")
    dash.evaluate("window.__noReload = true")
    dash.screenshot(path=str(artifacts / "dashboard_empty.png"), full_page=True)

    # the operator types the call: suggestions appear while typing, then files it
    console = login(browser, stack.base_url, tokens["operator"], LAPTOP, errors)
    expect(console).to_have_url(re.compile(r"/console$"))
    console.fill("#phone", "13812345678")
    console.fill("#name", "王女士")
    console.locator("#text").press_sequentially("白蒲镇唐堡村有个工地晚上十一点还在打桩", delay=10)
    expect(console.locator("#sg-categories li.first b")).to_have_text("建筑施工噪声", timeout=10000)
    expect(console.locator("#sg-unit")).to_have_text("白蒲镇中队")
    expect(console.locator("#sg-place")).to_contain_text("白蒲镇")
    expect(console.locator("#sg-urgent .badge.urgent")).to_be_visible()
    expect(console.locator("#sg-secondary")).to_be_hidden()
    # a text raising two city matters: the second is shown beside the category
    console.fill("#text", TWO_MATTERS)
    expect(console.locator("#sg-secondary")).to_have_text(re.compile(r"^另一诉求：(店外经营|餐饮油烟)$"), timeout=10000)
    console.fill("#text", TEXT)
    expect(console.locator("#sg-secondary")).to_be_hidden(timeout=10000)
    console.screenshot(path=str(artifacts / "console_suggest.png"), full_page=True)
    console.click("#submit")
    expect(console.locator("#ticket-no")).to_have_text(re.compile(r"^RG\d{14}$"), timeout=10000)
    ticket = console.locator("#ticket-no").inner_text()
    console.screenshot(path=str(artifacts / "console_ticket.png"), full_page=True)

    # it appears on the dashboard's live feed without a reload, and the counts change
    expect(dash.locator("#feed a.tno", has_text=ticket).first).to_be_visible(timeout=60000)
    expect(dash.locator("#feed li.ev-dispatched a.tno", has_text=ticket)).to_be_visible(timeout=60000)
    expect(dash.locator("#tile-received .tile-v")).to_have_text("1", timeout=15000)
    assert dash.evaluate("window.__noReload") is True
    dash.screenshot(path=str(artifacts / "dashboard_live.png"), full_page=True)
    # as if the router had seen a second matter in it (the squad card and the case dialog show it)
    with make_sessionmaker(make_engine(sqlite_url)).begin() as s:
        s.execute(update(Case).where(Case.ticket_no == ticket).values(secondary_category="OUT_OF_STORE"))

    # the same problem called in again: the console offers the open case as a duplicate to link to
    console.click("#new-call")
    console.fill("#phone", "13900001111")
    console.fill("#text", "白蒲镇唐堡村那个工地晚上十一点多还在打桩，吵得睡不着觉")
    dup = console.locator("#sg-duplicates li.dup", has_text=ticket)
    expect(dup).to_be_visible(timeout=10000)
    console.screenshot(path=str(artifacts / "console_duplicate.png"), full_page=True)
    dup.locator("button.link-btn").click()
    console.locator("#link-confirm").click()  # linking asks first (test_console_duplicates.py)
    expect(console.locator("#ticket-no")).to_have_text(ticket)
    expect(console.locator("#ticket")).to_contain_text("第 1 次补充来电")

    # the squad of another unit never sees it; the right squad gets it at the top of its queue, on a phone
    other = login(browser, stack.base_url, tokens["squad_other"], PHONE, errors)
    expect(other.locator("#squad-title")).to_contain_text("如城街道中队")
    squad = login(browser, stack.base_url, tokens["squad"], PHONE, errors)
    expect(squad).to_have_url(re.compile(r"/squad$"))
    card = squad.locator(f"#case-{ticket}")
    expect(card).to_be_visible(timeout=30000)
    expect(card.locator(".text")).to_contain_text("<script>window.__xss=1</script>")  # shown as text, harmless
    assert squad.evaluate("window.__xss === undefined")
    expect(card.locator(".countdown")).to_have_text(re.compile(r"^剩余 "))
    expect(card.locator(".badge.urgent")).to_be_visible()
    expect(card.locator(".cat .secondary")).to_have_text("　另一诉求：店外经营")
    expect(card).to_contain_text("138****5678")  # a squad sees the phone masked
    assert other.locator(f"#case-{ticket}").count() == 0
    squad.screenshot(path=str(artifacts / "squad_phone.png"), full_page=True)

    card.locator("button[data-action=accept]").click()
    expect(card.locator(".badge.st-accepted")).to_be_visible(timeout=10000)
    card.locator("input[data-photo-input=camera]").set_input_files(  # a site photo (tests/browser/test_squad_photos.py)
        [{"name": "site.jpg", "mimeType": "image/jpeg", "buffer": JPEG_48x32}])
    expect(card.locator(".thumbs img")).to_have_count(1, timeout=15000)
    card.locator("button[data-action=resolve]").click()
    card.locator("textarea[name=result]").fill("已到现场责令停止夜间施工，施工方已停工并承诺整改")
    card.locator("input[type=radio][value=管理]").check()
    squad.screenshot(path=str(artifacts / "squad_phone_resolve.png"), full_page=True)
    card.locator("form button[type=submit]").click()
    expect(card).to_have_count(0, timeout=10000)  # resolved cases leave the queue
    squad.set_viewport_size(LAPTOP)
    squad.screenshot(path=str(artifacts / "squad_laptop.png"), full_page=True)

    # the dashboard sees the resolution live; the counts change; the command centre verifies it
    expect(dash.locator("#feed li.ev-resolved a.tno", has_text=ticket)).to_be_visible(timeout=15000)
    expect(dash.locator("#tile-resolved .tile-v")).to_have_text("1", timeout=15000)
    expect(dash.locator("#chart-disposal")).to_contain_text("管理 1")
    dash.locator("#todo a.tno", has_text=ticket).click()
    dialog = dash.locator("#detail")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".text")).to_contain_text("<img src=x onerror=")
    expect(dialog).to_contain_text("13812345678")  # the command centre sees the full number
    expect(dialog.locator(".facts .secondary")).to_have_text("　另一诉求：店外经营")
    expect(dialog.locator(".history")).to_contain_text("关联来电")
    expect(dialog.locator(".thumbs .thumb-cap")).to_have_text("处置照片")  # the feedback's photo
    dash.screenshot(path=str(artifacts / "dashboard_detail.png"), full_page=False)
    dialog.locator("button[data-action=verify]").click()
    expect(dialog.locator(".badge.st-closed")).to_be_visible(timeout=10000)
    expect(dialog.locator(".history")).to_contain_text("核查结案")
    dialog.locator("button[data-action=verify]").wait_for(state="detached")
    dash.locator("#detail-close").click()
    assert dash.evaluate("window.__xss === undefined")
    dash.screenshot(path=str(artifacts / "dashboard_after.png"), full_page=True)
    assert dash.evaluate("window.__noReload") is True
    assert not [e for e in errors if "favicon" not in e], errors
