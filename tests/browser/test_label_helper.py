"""common.js's label / time helpers in Chromium set to New York, fed the meta the API serves (no stack needed):
every kind of code gets Chinese words, times are Beijing time, errors and toasts read as a person would say them,
and the JS actor names agree with the Python ones (pages/labels.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route

from services.core.loader import load_city
from services.core.workflow import STATUS_LABELS
from services.tracker.pages.access import STATIC_DIR
from services.tracker.pages.labels import actor_name, labels
from services.tracker.pages.meta import ALERT_NAMES, EVENT_NAMES, action_names

pytestmark = pytest.mark.browser
ORIGIN = "http://pages.test"
CITY = load_city("rugao")
USERS: dict[str, dict[str, str | None]] = {"王五": {"name": "王五", "role": "squad", "unit": "SQ_BAIPU"},
                                           "接线员甲": {"name": "接线员甲", "role": "operator", "unit": None}}
META: dict[str, Any] = {
    "me": {"name": "王五", "role": "squad"},
    "categories": [{"code": c.code, "name": c.name, "group": c.group, "group_name": CITY.groups.get(c.group, c.group)}
                   for c in CITY.categories.values()],
    "territories": [{"code": t.code, "name": t.name} for t in CITY.territories.values()],
    "units": [{"id": u.id, "name": u.name} for u in CITY.units.values()],
    "statuses": {k.value: v for k, v in STATUS_LABELS.items()},
    "events": EVENT_NAMES, "alerts": ALERT_NAMES, "actions": action_names(),
    **labels(CITY, USERS),
}
PAGE = '<!doctype html><html><body><div id="toast"></div><script src="/static/common.js"></script></body></html>'


def serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if path == "/":
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=PAGE)
    elif path == "/static/common.js":
        route.fulfill(status=200, content_type="application/javascript; charset=utf-8", body=(STATIC_DIR / "common.js").read_text())
    elif path == "/api/v1/meta":
        route.fulfill(status=200, content_type="application/json; charset=utf-8", body=json.dumps(META, ensure_ascii=False))
    else:
        route.fulfill(status=404, body="")


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    ctx = browser.new_context(timezone_id="America/New_York", locale="en-US")
    p = ctx.new_page()
    p.route(ORIGIN + "/**", serve)
    p.goto(ORIGIN + "/")
    p.evaluate("C.meta()")
    yield p
    ctx.close()


def label(page: Page, kind: str, value: Any) -> str:
    out: str = page.evaluate("([k, v]) => C.label(k, v)", [kind, value])
    return out


def test_codes_become_chinese_words(page: Page) -> None:
    assert label(page, "category", "OPEN_BBQ") == "露天烧烤"
    assert label(page, "category", "NO_SUCH_CODE") == "未分类" and label(page, "category", None) == "未分类"
    assert label(page, "unit", "CITY_GAS") == "市城管局燃气安全执法中队" and label(page, "unit", "X_Y") == "未指定单位"
    assert label(page, "town", "320682105") == "白蒲镇" and label(page, "town", "999") == "未定位"
    assert label(page, "status", "accepted") == "已签收" and label(page, "status", "weird") == "状态未知"
    assert label(page, "event", "extension_requested") == "申请延期" and label(page, "event", "new_kind") == "办理"
    assert label(page, "alert", "resolve_overdue") == "办结超时" and label(page, "alert", "other") == "告警"


def test_rules_by_their_routing_yaml_description(page: Page) -> None:
    assert label(page, "rule", "rule 10: otherwise -> territorial_unit") == "其余事项派所在镇（街道）属地中队"
    assert label(page, "rule", "rule 8: category=GAS_SAFETY -> CITY_GAS") == "燃气安全，派市城管局燃气安全执法中队"
    assert label(page, "rule", "rule 8: an older wording") == "燃气安全，派市城管局燃气安全执法中队"  # by its number
    assert label(page, "rule", "operator override") == "接线员指定承办单位"
    assert label(page, "rule", "something new") == "按派单规则"


def test_evidence_and_review_reasons(page: Page) -> None:
    assert label(page, "evidence", "kw:GAS_SAFETY") == "关键词：燃气安全"
    assert label(page, "evidence", "kw:NOT_A_CATEGORY") == "关键词：类别关键词"
    assert label(page, "evidence", "cue:night") == "线索：夜间"
    assert label(page, "evidence", "cue:night|AIR") == "线索：夜间"
    assert label(page, "evidence", "gas_smell: 泄漏/煤气味") == "燃气味：泄漏/煤气味"
    assert label(page, "evidence", "p=0.83") == "紧急程度：83%"
    assert label(page, "evidence", "燃气") == "燃气"  # a character n-gram of the text: already words
    assert label(page, "reason", "close second category OPEN_BBQ (0.30 vs 0.35)") == "第二类别接近（露天烧烤）"
    assert label(page, "reason", "category unsure (score 0.41)") == "类别把握不大（41%）"
    assert label(page, "reason", "unit unsure (0.40 for the top category's unit)") == "承办单位把握不大（40%）"
    assert label(page, "reason", "bad input: emoji_only (只有表情)") == "只有表情"
    assert label(page, "reason", "something the router says") == "需人工确认"
    assert label(page, "place", "town: '白蒲' -> 白蒲镇 (strong)") == "“白蒲” → 白蒲镇"
    assert label(page, "place", "territory set by operator") == "接线员指定镇街"


def test_actors_by_name_the_same_in_js_and_python(page: Page) -> None:
    actors = ["squad:王五@SQ_BAIPU", "operator:接线员甲", "squad:u123@SQ_BAIPU", "command:zhang", "admin",
              "router:stream", "router:supplement", "channel:hotline", "channel:wechat", "channel:open311",
              "citizen:****5678", "citizen:x", "", None, "robot:x", "channel:fax"]
    for actor in actors:
        assert label(page, "actor", actor) == actor_name(actor, USERS, CITY), actor
    assert label(page, "actor", "squad:王五@SQ_BAIPU") == "王五" and label(page, "actor", "router:stream") == "系统（自动派单）"


def test_server_sentences_lose_their_codes_and_utc_times(page: Page) -> None:
    assert label(page, "text", "工单 RG20261204000001 已超过签收时限（2026-12-04T20:45:58Z）") == \
        "工单 RG20261204000001 已超过签收时限（2026-12-05 04:45）"
    assert label(page, "text", "热点：白蒲镇 60 分钟内收到 3 件同类投诉（OPEN_BBQ）") == "热点：白蒲镇 60 分钟内收到 3 件同类投诉（露天烧烤）"


def test_beijing_time_in_a_new_york_browser_and_relative_when_recent(page: Page) -> None:
    fmt = "(v) => C.time(v)"
    assert page.evaluate(fmt, "2026-12-04T20:45:58Z") == "2026-12-05 04:45"
    assert page.evaluate(fmt, "2026-12-31T16:30:00+00:00") == "2027-01-01 00:30"  # midnight is 00, not 24
    assert page.evaluate(fmt, "2026-11-26T08:00:00+08:00") == "2026-11-26 08:00"
    assert page.evaluate(fmt, None) == "—" and page.evaluate(fmt, "not a time") == "—"
    rel = "(ms) => C.relative(new Date(Date.now() - ms).toISOString())"
    assert page.evaluate(rel, 20_000) == "刚刚"
    assert page.evaluate(rel, 5 * 60_000 + 1000) == "5分钟前"
    assert page.evaluate(rel, 2 * 3600_000 + 60_000) == "2小时前"
    assert page.evaluate(rel, 2 * 86400_000) is None and page.evaluate(rel, -3600_000) is None
    when = page.evaluate("""() => { const t = C.when("2026-11-26T08:00:00+08:00");
        return [t.tagName, t.textContent, t.title, t.getAttribute("datetime")]; }""")
    assert when == ["TIME", "2026-11-26 08:00", "2026-11-26 08:00", "2026-11-26T08:00:00+08:00"]
    recent = page.evaluate("() => { const t = C.when(new Date(Date.now() - 120000).toISOString()); return [t.textContent, t.title]; }")
    assert recent[0] == "2分钟前" and len(recent[1]) == 16


def test_api_errors_and_toasts_in_words(page: Page) -> None:
    text = "([d, s]) => C.detailText(d, s)"
    zh = {"detail": [{"loc": ["body", "phone"], "field": "手机号（phone）", "msg": "长度至少 5 个字符", "type": "string_too_short"},
                     {"loc": ["body", "text"], "field": "投诉内容（text）", "msg": "必填", "type": "missing"}]}
    assert page.evaluate(text, [zh, 422]) == "手机号：长度至少 5 个字符；投诉内容：必填"
    english = {"detail": [{"loc": ["body", "hours"], "msg": "Input should be a valid integer", "type": "int_parsing"}]}
    assert page.evaluate(text, [english, 422]) == "取值无效"
    assert page.evaluate(text, [{"detail": "Not Found"}, 404]) == "未找到"
    assert page.evaluate(text, [{"detail": "工单 RG1 不存在"}, 404]) == "工单 RG1 不存在"
    assert page.evaluate(text, [None, 502]) == "服务器暂时无法处理（502），请稍后重试"
    page.evaluate("() => C.done('extension_refuse', 'RG20261204000001')")
    assert page.locator("#toast").text_content() == "已驳回延期：RG20261204000001"
    page.evaluate("() => C.done('file', 'RG20261204000002')")
    assert page.locator("#toast").text_content() == "已受理：RG20261204000002"
