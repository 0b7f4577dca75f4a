"""A hotline operator's shift, scripted in Chromium (issue 17): twenty calls on /console, one of them the same
problem called in again.  Each call: typed, the suggestion read, filed, the ticket number read back;
the repeated call finds the open case beside the form, asks before linking, links without a new ticket.
The router then dispatches every filed call (the whole stack runs: worker, tracker, API)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.shift import Shift, api
from tests.browser.test_pages_flow import LAPTOP, users

pytestmark = pytest.mark.browser
FIRST = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着"
AGAIN = "白蒲镇唐堡村那个工地晚上十一点多还在打桩，吵得睡不着觉"
CALLS = [
    FIRST,
    "12319热线接来电：丁堰镇新堰社区菜场旁的垃圾房渗滤液流到路上，又黑又臭。",
    "来电人第二次来电反映：高新区夏庄社区主干道上的果壳箱被拆走后一直没有补设，整条路一个垃圾桶都没有。",
    "12319热线接来电：长江镇知青社区附近有户人家办丧事，请了乐队在路边吹吹打打到深夜，已连续两晚。",
    "来电人表示，江安镇曹杜村一家饭店为了露出招牌，把门口行道树的树冠全砍光了。",
    "公园那个厕所真的臭，都不知道多久没打扫了 城南街道陆姚社区",
    "群众来电反映，如城街道花园社区文化广场每晚7点到9点半有人跳广场舞，音响开得很大。",
    "磨头镇磨头社区菜市场门口卖药的，拿喇叭喊一上午，吵得人头疼",
    "东陈镇杭桥村那个砂场堆料不盖，车一过黄沙满天飞，菜地叶子上全是灰",
    "来电人表示，白蒲镇文著社区一家家具店把沙发、床垫摆在门前人行道上展示，行人只能绕行。",
    "吴窑镇立新社区的网吧门口放了两个大音响，音乐把我家玻璃都震响了",
    "陈先生来电称，搬经镇搬经社区菜场外面路边摆满菜摊，早上六七点车辆根本过不去。",
    AGAIN,  # the first call's problem again
    "草张庄社区有个人家天天在院子里用喇叭放唱戏，从早上六点放到晚上",
    "九华镇如海村有人在河边搭了个棚子开农家乐，越搭越大，现在都成两层了",
    "来电人称，开发区天河桥村附近夜间经常有渣土车偷倒建筑渣土，路边已经堆成小山。",
    "马先生来电反映：吴窑镇陈家村路边农田里竖起一块巨型广告牌，质疑是否合规。",
    "罗女士来电称，磨头镇天阳社区医院门口机动车停到人行道上，救护车进出困难。",
    "何先生来电称，石庄镇楼房村一企业在厂区外空地上新建钢结构厂房，怀疑没有规划许可。",
    "下原镇老坝村这边有人在马路上摆摊卖西瓜，车子都过不去",
]
AGAIN_AT = CALLS.index(AGAIN)


def wait_dispatched(base: str, token: str, tickets: list[str], timeout_s: float = 90) -> dict[str, dict[str, Any]]:
    """Each ticket's case once the router has dispatched it."""
    deadline = time.monotonic() + timeout_s
    cases: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and len(cases) < len(tickets):
        for t in tickets:
            if t not in cases:
                try:
                    case = api(base, token, "GET", f"/api/v1/cases/{t}")
                except AssertionError:  # not projected yet
                    continue
                if case["status"] != "received":
                    cases[t] = case
        time.sleep(0.5)
    assert len(cases) == len(tickets), f"not dispatched: {sorted(set(tickets) - set(cases))}"
    return cases


def test_operator_takes_twenty_calls_one_of_them_a_duplicate(browser: Browser, stack_factory: Any, sqlite_url: str,
                                                             artifacts: Path) -> None:
    assert len(CALLS) == 20
    stack = stack_factory(sqlite_url)
    admin = stack.env["COMPLAINTS_ADMIN_TOKEN"]
    tokens = users(sqlite_url)
    shift = Shift("operator", browser, stack.base_url, artifacts)
    page = shift.login(tokens["operator"], LAPTOP)
    expect(page).to_have_url(re.compile(r"/console$"))
    shift.shot(page, "console_start")
    tickets: list[str] = []
    for i, text in enumerate(CALLS):
        if i:
            page.click("#new-call")
            expect(page.locator("#ticket")).to_be_hidden()
        if i == AGAIN_AT:  # the first call's case is in the tracker by now (else nothing could be found)
            wait_dispatched(stack.base_url, admin, tickets[:1])
        page.fill("#phone", f"1390000{i:04d}")
        if i % 3 == 0:
            page.fill("#name", "王女士")
        page.fill("#text", text)
        expect(page.locator("#sg-unit")).not_to_be_empty(timeout=15000)  # the suggestion is shown
        expect(page.locator("#sg-categories li.first b")).not_to_be_empty()
        if i == AGAIN_AT:
            dup = page.locator(f"#sg-duplicates li.dup[data-ticket='{tickets[0]}']")
            expect(dup).to_be_visible(timeout=15000)
            expect(dup.locator(".dup-reason")).not_to_be_empty()
            shift.shot(page, "duplicate_beside_form", full_page=False)
            dup.locator("button.link-btn").click()
            expect(page.locator("#link-dialog")).to_be_visible()
            expect(page.locator("#link-title")).to_have_text(f"将本次来电关联到工单 {tickets[0]}？")
            shift.shot(page, "link_confirmation", full_page=False)
            page.locator("#link-confirm").click()
            expect(page.locator("#ticket-no")).to_have_text(tickets[0], timeout=10000)
            expect(page.locator("#ticket")).to_contain_text("第 1 次补充来电")
            expect(page.locator("#toast")).to_have_text(f"已关联：{tickets[0]}")
            shift.shot(page, "linked")
            continue
        page.click("#submit")
        expect(page.locator("#ticket-no")).to_have_text(re.compile(r"^RG\d{14}$"), timeout=10000)
        ticket = page.locator("#ticket-no").inner_text()
        assert ticket not in tickets
        expect(page.locator("#toast")).to_have_text(f"已受理：{ticket}")
        tickets.append(ticket)
        if i in (0, 1):
            shift.shot(page, f"call_{i + 1:02d}_ticket")

    # the shift's list: 20 calls, 19 tickets and the one linked call, newest first
    recent = page.locator("#recent li")
    expect(recent).to_have_count(20)
    expect(recent.first).to_contain_text(tickets[-1])
    expect(recent.nth(len(CALLS) - 1 - AGAIN_AT)).to_contain_text("关联")
    expect(recent.nth(len(CALLS) - 1 - AGAIN_AT)).to_contain_text(tickets[0])
    shift.shot(page, "shift_list")

    # every filed call reaches a unit; the repeated one is on the first case, not a case of its own
    cases = wait_dispatched(stack.base_url, admin, tickets)
    assert len(tickets) == 19 and len(set(tickets)) == 19
    assert cases[tickets[0]]["unit"] == "SQ_BAIPU"
    assert sum(1 for c in cases.values() if c["unit"] and c["unit"].startswith("SQ_")) >= 15, \
        {t: c["unit"] for t, c in cases.items()}
    first = api(stack.base_url, admin, "GET", f"/api/v1/cases/{tickets[0]}")
    assert [h["type"] for h in first["history"]].count("linked_call") == 1
    listed = api(stack.base_url, admin, "GET", "/api/v1/cases?limit=100")
    assert listed["count"] == 19
    assert not shift.script_errors(), shift.errors
