"""No raw codes on the pages (issue 17): a case filed, dispatched and accepted, then every page's visible text is
scanned for category / unit codes, ``kw:`` evidence, ``rule N``, ISO timestamps and actor ids; times are Beijing
time ``YYYY-MM-DD HH:mm`` (relative when recent) in a browser set to New York; toasts say the action done; a 422
is shown in Chinese."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from services.core.alerts import MESSAGES, AlertKind, window_alert
from services.platform.db import make_engine, make_sessionmaker
from services.tracker.auth import Role, add_user
from services.tracker.models import AlertRow

pytestmark = pytest.mark.browser
GAS = "白蒲镇唐堡村有户人家燃气泄漏，现在满屋子煤气味，很危险，请马上来人"
LAPTOP: ViewportSize = {"width": 1440, "height": 960}
PHONE: ViewportSize = {"width": 390, "height": 844}
FAR_ZONE = "America/New_York"  # the pages must not use the browser's zone: Beijing time whatever it is

RAW = {
    "a code (category / unit)": re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b"),
    "kw: evidence": re.compile(r"\bkw\s*[:：]"),
    "cue: evidence": re.compile(r"\bcue\s*[:：]"),
    "a rule id": re.compile(r"\brule\s*\d+"),
    "an ISO timestamp": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"),
    "an actor id": re.compile(r"\b(?:operator|squad|command|router|channel|citizen|admin):"),
    "English validation": re.compile(r"Field required|should (?:be|have)|Input should|value_error|\{\s*\"detail\""),
}


def raw_codes(page: Page, codes: set[str]) -> list[str]:
    """What a person would read as a code in the page's visible text (the open dialog included)."""
    text = page.locator("body").inner_text()
    found = [f"{what}: {m.group(0)!r}" for what, rx in RAW.items() for m in rx.finditer(text)]
    words = set(re.findall(r"[A-Za-z0-9_]+", text))
    found += [f"a code: {c!r}" for c in sorted(codes & words)]
    return found


def login(browser: Browser, base: str, token: str, viewport: ViewportSize, errors: list[str]) -> Page:
    ctx = browser.new_context(viewport=viewport, locale="zh-CN", base_url=base, timezone_id=FAR_ZONE)
    page = ctx.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_load_state("domcontentloaded")
    return page


def beijing(iso: str) -> str:
    """The API's +08:00 time as the pages must show it."""
    assert iso.endswith("+08:00"), iso
    return iso[:10] + " " + iso[11:16]


def raise_alerts(sessions: Any, ticket: str) -> None:
    """A hot spot and an overdue alert with the router's own messages (a UTC ISO time, a category code in them)."""
    now = datetime.now(UTC)
    hot = window_alert(category="GAS_SAFETY", place="320682105", place_name="白蒲镇", count=3, first_at=now,
                       now=now, threshold=3, window=timedelta(hours=2), territory="320682105", unit="CITY_GAS")
    assert hot is not None and "GAS_SAFETY" in hot.message
    late = MESSAGES[AlertKind.ACCEPT_OVERDUE].format(ticket=ticket, deadline=(now - timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"))
    with sessions.begin() as s:
        s.add(AlertRow(alert_id=hot.alert_id, kind=hot.kind.value, unit="CITY_GAS", category="GAS_SAFETY",
                       territory="320682105", raised_at=now, message=hot.message, data={}))
        s.add(AlertRow(alert_id=f"late:{ticket}", kind=AlertKind.ACCEPT_OVERDUE.value, ticket_no=ticket, unit="CITY_GAS",
                       category="GAS_SAFETY", raised_at=now, message=late, data={}))


def toast(page: Page, pattern: str) -> None:
    expect(page.locator("#toast")).to_have_text(re.compile(pattern), timeout=10000)


def test_no_raw_codes_beijing_time_and_toasts_that_say_the_action(browser: Browser, stack_factory: Any,
                                                                  sqlite_url: str, artifacts: Path) -> None:
    stack = stack_factory(sqlite_url)
    sessions = make_sessionmaker(make_engine(sqlite_url))
    tag = uuid.uuid4().hex[:4]
    names = {"operator": f"接线员{tag}", "squad": f"燃气队员{tag}", "command": f"指挥员{tag}"}
    tokens = {"operator": add_user(sessions, names["operator"], Role.OPERATOR, None),
              "squad": add_user(sessions, names["squad"], Role.SQUAD, "CITY_GAS"),
              "command": add_user(sessions, names["command"], Role.COMMAND, None)}
    errors: list[str] = []

    # the operator: a bad number is refused in Chinese, naming the field in Chinese (no key, no JSON)
    console = login(browser, stack.base_url, tokens["operator"], LAPTOP, errors)
    meta = console.request.get("/api/v1/meta").json()
    codes = {c["code"] for c in meta["categories"]} | {u["id"] for u in meta["units"]}
    console.fill("#phone", "12")
    console.fill("#text", GAS)
    expect(console.locator("#sg-unit")).to_have_text("市城管局燃气安全执法中队", timeout=10000)
    console.click("#submit")
    error = console.locator("#form-error")
    expect(error).to_be_visible(timeout=10000)
    assert re.search(r"[\u4e00-\u9fff]", error.inner_text()) and "phone" not in error.inner_text(), error.inner_text()
    expect(error).to_contain_text("手机号")
    # the evidence in words: the keyword rule of the category by its name, the urgency cues by theirs
    expect(console.locator("#sg-evidence")).to_contain_text("关键词：燃气安全")
    expect(console.locator("#sg-urgent")).to_contain_text("燃气味：")
    expect(console.locator("#sg-deadlines")).to_have_text(
        re.compile(r"^签收时限 \d{4}-\d{2}-\d{2} \d{2}:\d{2} · 办结时限 \d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
    assert not raw_codes(console, codes), raw_codes(console, codes)
    console.fill("#phone", "13812345678")
    console.click("#submit")
    expect(console.locator("#ticket-no")).to_have_text(re.compile(r"^RG\d{14}$"), timeout=10000)
    ticket = console.locator("#ticket-no").inner_text()
    toast(console, f"^已受理：{ticket}$")
    raise_alerts(sessions, ticket)
    # a second call, filed through the API, for the command centre to reassign (改派) later
    second = console.request.post("/api/v1/complaints", headers={"Idempotency-Key": uuid.uuid4().hex}, data={
        "channel": "hotline", "text": "白蒲镇唐堡村菜场门口有人占道摆摊卖菜", "phone": "13900002222"}).json()["ticket_no"]
    console.screenshot(path=str(artifacts / "labels_console.png"), full_page=True)

    # the squad of the gas unit accepts it on a phone: the toast says 已签收, then 已申请延期
    squad = login(browser, stack.base_url, tokens["squad"], PHONE, errors)
    card = squad.locator(f"#case-{ticket}")
    expect(card).to_be_visible(timeout=60000)
    expect(squad.locator("#notices")).to_contain_text("燃气安全", timeout=10000)  # the alerts' messages in words
    expect(squad.locator("#notices")).to_contain_text("已超过签收时限（20")
    case = squad.request.get(f"/api/v1/cases/{ticket}").json()
    received = card.locator(".meta time.when")  # recent: relative words, the Beijing time in the title
    expect(received).to_have_text(re.compile(r"^(刚刚|\d+分钟前)$"))
    assert received.get_attribute("title") == beijing(case["received_at"])
    card.locator("button[data-action=accept]").click()
    toast(squad, f"^已签收：{ticket}$")
    expect(card.locator(".badge.st-accepted")).to_be_visible(timeout=10000)
    card.locator("button[data-action=extension]").click()
    card.locator("textarea[name=reason]").fill("需要燃气公司配合更换管道")
    card.locator("form button[type=submit]").click()
    toast(squad, f"^已申请延期：{ticket}$")
    assert not raw_codes(squad, codes), raw_codes(squad, codes)
    squad.screenshot(path=str(artifacts / "labels_squad.png"), full_page=True)

    # the command centre opens the case: the rule by its description, people by name, Beijing time
    dash = login(browser, stack.base_url, tokens["command"], LAPTOP, errors)
    expect(dash.locator("#live.on")).to_be_visible(timeout=15000)
    expect(dash.locator("#alerts")).to_contain_text("3 件同类投诉（燃气安全）", timeout=15000)
    dash.fill("#find-ticket", ticket)
    dash.locator("#find button[type=submit]").click()
    dialog = dash.locator("#detail")
    expect(dialog).to_be_visible(timeout=10000)
    facts = dialog.locator("dl.facts").first
    expect(facts).to_contain_text("燃气安全，派市城管局燃气安全执法中队")  # routing.yaml's rule 8
    expect(facts).to_contain_text(beijing(case["received_at"]))
    expect(facts).to_contain_text(beijing(case["accept_by"]))
    history = dialog.locator(".history")
    expect(history).to_contain_text(names["operator"])
    expect(history).to_contain_text(names["squad"])
    expect(history).to_contain_text("系统（自动派单）")
    first = history.locator("time.when").first  # recent: relative words, the absolute time in the title
    expect(first).to_have_text(re.compile(r"^(刚刚|\d+分钟前)$"))
    assert first.get_attribute("title") == beijing(case["received_at"])
    assert not raw_codes(dash, codes), raw_codes(dash, codes)
    dash.screenshot(path=str(artifacts / "labels_dashboard_detail.png"), full_page=False)
    dialog.locator("button[data-action=extension_approve]").click()
    toast(dash, f"^已批准延期：{ticket}$")
    dialog.locator("button[data-action=supervise]").click()
    dialog.locator("form.action-form textarea[name=note]").fill("请今天内处置完毕")
    dialog.locator("form.action-form button[type=submit]").click()
    toast(dash, f"^已督办：{ticket}$")

    # the squad resolves, the command centre verifies: each toast names the action
    squad.reload()
    card = squad.locator(f"#case-{ticket}")
    expect(card).to_be_visible(timeout=15000)
    card.locator("button[data-action=resolve]").click()
    card.locator("textarea[name=result]").fill("已关闭阀门，燃气公司已更换软管")
    card.locator("form button[type=submit]").click()
    toast(squad, f"^已办结反馈：{ticket}$")
    dash.locator("#detail-close").click()
    dash.fill("#find-ticket", ticket)
    dash.locator("#find button[type=submit]").click()
    expect(dialog.locator("button[data-action=reopen]")).to_be_visible(timeout=15000)
    dialog.locator("button[data-action=reopen]").click()
    dialog.locator("form.action-form textarea[name=reason]").fill("现场仍有燃气味")
    dialog.locator("form.action-form button[type=submit]").click()
    toast(dash, f"^已返工：{ticket}$")
    squad.reload()
    card = squad.locator(f"#case-{ticket}")
    expect(card).to_be_visible(timeout=15000)
    card.locator("button[data-action=resolve]").click()
    card.locator("textarea[name=result]").fill("已再次检查，管道无泄漏")
    card.locator("form button[type=submit]").click()
    toast(squad, f"^已办结反馈：{ticket}$")
    dash.locator("#detail-close").click()
    dash.fill("#find-ticket", ticket)
    dash.locator("#find button[type=submit]").click()
    expect(dialog.locator("button[data-action=verify]")).to_be_visible(timeout=15000)
    dialog.locator("button[data-action=verify]").click()
    toast(dash, f"^已核查结案：{ticket}$")
    expect(dialog.locator(".badge.st-closed")).to_be_visible(timeout=10000)
    assert not raw_codes(dash, codes), raw_codes(dash, codes)
    # 改派 the second case to another squad: the toast says so
    dash.locator("#detail-close").click()
    dash.fill("#find-ticket", second)
    dash.locator("#find button[type=submit]").click()
    expect(dialog.locator("button[data-action=reassign]")).to_be_visible(timeout=30000)
    dialog.locator("button[data-action=reassign]").click()
    dialog.locator("form.action-form select[name=unit]").select_option("SQ_RUCHENG")
    dialog.locator("form.action-form button[type=submit]").click()
    toast(dash, f"^已改派：{second}$")
    expect(dialog.locator("dl.facts").first).to_contain_text("如城街道中队")
    assert not raw_codes(dash, codes), raw_codes(dash, codes)
    assert not errors, errors
