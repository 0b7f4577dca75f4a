"""Accessibility in a real browser: axe-core (tests/browser/vendor, test-only) on every page as every role with
cases present finds no contrast, ARIA or label violation; the console is used with the keyboard alone.

axe is injected by Playwright as an init script (the DevTools protocol, outside the pages' CSP); it is
never served by the app.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.conftest import REPO
from tests.integration.pages.conftest import LiveApi, api_factory  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser
AXE = (REPO / "tests" / "browser" / "vendor" / "axe.min.js").read_text(encoding="utf-8")
LAPTOP: ViewportSize = {"width": 1440, "height": 960}
PHONE: ViewportSize = {"width": 390, "height": 844}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# a violation of these (any impact) fails; of any other rule, a serious or critical one fails
ALWAYS = {"color-contrast", "label", "aria-allowed-attr", "aria-required-attr", "aria-valid-attr",
          "aria-valid-attr-value", "aria-roles", "aria-hidden-focus", "button-name", "link-name",
          "select-name", "aria-dialog-name", "aria-input-field-name", "aria-command-name"}


@pytest.fixture(scope="module")
def seeded_cases() -> list[tuple[str, dict[str, Any]]]:
    """Cases of every look: urgent, overdue, accepted, resolved (to verify), another town's."""
    return [
        ("白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着", {}),
        ("白蒲镇白蒲社区路边窨井盖没了，晚上有人差点掉下去，很危险", {}),
        ("白蒲镇林梓社区饭店油烟直排，呛得人家里不能开窗", {"ago": timedelta(days=6)}),
        ("白蒲镇东陈村有人在路边摆摊占道经营", {"status": "accepted"}),
        ("白蒲镇新桥村工地扬尘很大没有覆盖", {"status": "resolved"}),
        ("如城街道碧霞社区楼下烧烤店油烟扰民", {}),
    ]


@pytest.fixture
def live(api_factory: Callable[..., LiveApi], seeded_cases: list[tuple[str, dict[str, Any]]]) -> LiveApi:  # noqa: F811
    api = api_factory()
    for text, extra in seeded_cases:
        api.new_case(text, **extra)
    return api


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    made: list[BrowserContext] = []

    def make(live: LiveApi, role: str | None, viewport: ViewportSize = LAPTOP) -> BrowserContext:
        ctx = browser.new_context(viewport=viewport, locale="zh-CN", base_url=live.url)
        ctx.add_init_script(script=AXE)
        if role is not None:
            ctx.add_cookies([{"name": "c12319_token", "value": live.tokens[role], "url": live.url}])
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def axe_problems(page: Page, context: str = "document") -> list[str]:
    """The violations that fail, one line each: rule, impact, the first nodes and axe's summary of them."""
    result = page.evaluate(
        """async ([ctx, tags]) => {
            const r = await axe.run(ctx === "document" ? document : document.querySelector(ctx),
                                    { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
            return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 4).map(
                (n) => n.target.join(" ") + " :: " + (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 160)) }));
        }""", [context, WCAG_AA])
    return [f"{v['id']} ({v['impact']}): " + " | ".join(v["nodes"])
            for v in result if v["id"] in ALWAYS or v["impact"] in ("serious", "critical")]


def steady(page: Page) -> None:
    """The toast is not half-way through fading (axe would measure the blend of its colours)."""
    page.wait_for_function("() => ['0', '0.95'].includes(getComputedStyle(document.getElementById('toast')).opacity)",
                           timeout=5000)


def page_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


# (role, page, viewport, what shows the page has its data)
SCREENS = [
    ("operator", "/console", LAPTOP, "#category_override option:nth-child(2)"),
    ("command", "/console", PHONE, "#category_override option:nth-child(2)"),
    ("squad", "/squad", PHONE, "#queue .case"),
    ("squad", "/squad", LAPTOP, "#queue .case"),
    ("command", "/squad", LAPTOP, "#unit-select option"),
    ("admin", "/squad", LAPTOP, "#unit-select option"),
    ("command", "/dashboard", LAPTOP, "#tiles .tile"),
    ("admin", "/dashboard", PHONE, "#tiles .tile"),
]


def test_every_page_passes_axe_as_every_role(live: LiveApi, contexts: Callable[..., BrowserContext]) -> None:
    failures: dict[str, list[str]] = {}
    # the login page, blank and with an error
    login = contexts(live, None).new_page()
    login.goto("/login")
    failures["login"] = axe_problems(login)
    login.fill("#token", "wrong-token")
    login.press("#token", "Enter")
    expect(login.locator("p.error")).to_be_visible()
    failures["login error"] = axe_problems(login)
    for role, path, viewport, ready in SCREENS:
        page = contexts(live, role, viewport).new_page()
        errors = page_errors(page)
        page.goto(path)
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        page.locator(ready).first.wait_for(state="attached", timeout=15000)
        expect(page.locator('[aria-busy="true"]')).to_have_count(0, timeout=15000)
        page.wait_for_timeout(300)  # entrance animations (the feed's flash) have run
        failures[f"{role} {path} {viewport['width']}"] = axe_problems(page)
        assert not errors, errors
    failed = {k: v for k, v in failures.items() if v}
    assert not failed, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in failed.items())


def test_pages_in_use_pass_axe(live: LiveApi, contexts: Callable[..., BrowserContext]) -> None:
    """The states a shift spends its time in: suggestions shown, a ticket issued, a squad form open, a case dialog."""
    failures: dict[str, list[str]] = {}
    console = contexts(live, "operator").new_page()
    console.goto("/console")
    console.fill("#phone", "13812345678")
    console.fill("#text", "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得睡不着")
    expect(console.locator("#suggest-body")).to_be_visible(timeout=10000)
    expect(console.locator("#sg-duplicates li").first).to_be_visible(timeout=10000)
    console.locator("#overrides summary").click()
    failures["console suggesting"] = axe_problems(console)
    console.click("#submit")
    expect(console.locator("#ticket-no")).to_have_text(re.compile(r"^RG\d{14}$"), timeout=15000)
    steady(console)
    failures["console ticket"] = axe_problems(console)
    for kind in ("ok", "error", ""):  # the toast in each of its looks
        console.evaluate("(k) => { const t = document.getElementById('toast'); t.textContent = '已受理：RG20260101000001';"
                         " t.className = 'show ' + k; }", kind)
        steady(console)
        failures[f"toast {kind}"] = axe_problems(console, "#toast")

    squad = contexts(live, "squad", PHONE).new_page()
    squad.goto("/squad")
    squad.locator("#queue .case button").first.wait_for(timeout=15000)
    squad.locator("#queue .case button").first.click()
    squad.wait_for_timeout(500)
    failures["squad action"] = axe_problems(squad)

    dash = contexts(live, "command").new_page()
    dash.goto("/dashboard")
    link = dash.locator("#overdue a.tno, #todo a.tno").first
    link.wait_for(timeout=15000)
    link.click()
    expect(dash.locator("#detail")).to_be_visible(timeout=10000)
    dash.locator("#detail-body .history li").first.wait_for(timeout=10000)
    failures["dashboard case dialog"] = axe_problems(dash, "#detail")
    failed = {k: v for k, v in failures.items() if v}
    assert not failed, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in failed.items())


def focused(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("""() => {
        const e = document.activeElement, s = getComputedStyle(e);
        return { id: e.id || "", tag: e.tagName.toLowerCase(), text: (e.textContent || "").trim().slice(0, 20),
                 outline: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0, visible: e.matches(":focus-visible") };
    }"""))


def tab_to(page: Page, element_id: str, limit: int = 40) -> list[dict[str, Any]]:
    """Press Tab until the element has the focus; every stop on the way had a visible focus outline."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        stops.append(now)
        assert now["visible"] and now["outline"] != "none" and now["width"] >= 2, f"no visible focus on {now}"
        if now["id"] == element_id:
            return stops
    raise AssertionError(f"Tab never reached #{element_id}: {[s['id'] or s['tag'] + ':' + s['text'] for s in stops]}")


def test_the_console_is_used_with_the_keyboard_alone(live: LiveApi, contexts: Callable[..., BrowserContext]) -> None:
    page = contexts(live, "operator").new_page()
    errors = page_errors(page)
    page.goto("/console")
    page.locator("#category_override option:nth-child(2)").wait_for(state="attached", timeout=15000)
    page.locator("body").focus()
    tab_to(page, "phone")
    page.keyboard.type("13812345678")
    tab_to(page, "name", limit=1)
    page.keyboard.type("王女士")
    tab_to(page, "text", limit=1)
    page.keyboard.type("白蒲镇唐堡村有个工地晚上十一点还在打桩")
    tab_to(page, "address", limit=1)
    page.keyboard.type("白蒲镇唐堡村")
    # the corrections open from the keyboard too
    stops = tab_to(page, "submit", limit=6)
    assert any(s["tag"] == "summary" for s in stops), stops
    expect(page.locator("#sg-categories li").first).to_be_visible(timeout=10000)
    page.keyboard.press("Enter")
    expect(page.locator("#ticket-no")).to_have_text(re.compile(r"^RG\d{14}$"), timeout=15000)
    expect(page.locator("#toast")).to_have_attribute("role", "status")
    # the next call starts from the keyboard as well
    tab_to(page, "new-call", limit=4)
    page.keyboard.press("Enter")
    expect(page.locator("#text")).to_have_value("")
    assert not errors, errors


def test_the_case_dialog_opens_and_closes_with_the_keyboard(live: LiveApi,
                                                             contexts: Callable[..., BrowserContext]) -> None:
    page = contexts(live, "command").new_page()
    page.goto("/dashboard")
    first = page.locator("#overdue a.tno").first
    first.wait_for(timeout=15000)
    ticket = first.inner_text()
    page.locator("#find-ticket").focus()
    page.keyboard.type(ticket)
    page.keyboard.press("Enter")
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible(timeout=10000)
    expect(dialog).to_contain_text(ticket)
    # the focus is inside the dialog; Tab keeps it there and shows where it is
    assert page.evaluate("document.getElementById('detail').contains(document.activeElement)")
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('detail').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # a dialog opened without showModal (not modal) closes with Escape too (a11y.js)
    page.evaluate("document.getElementById('detail').show()")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


# a control's name that survives the page drawing a list anew: the nearest id, the kind and what it says
KEY_JS = """(e) => {
    const home = e.id ? "" : ((e.closest("[id]") || {}).id || "");
    const what = e.id || e.dataset.action || e.getAttribute("name") || e.getAttribute("aria-label")
        || (e.textContent || "").trim().slice(0, 16) || e.getAttribute("href") || "";
    return home + "/" + e.tagName.toLowerCase() + "/" + what;
}"""


def tab_cycle(page: Page, limit: int = 400) -> tuple[set[str], set[str]]:
    """(every visible, enabled control of the page; those Tab reached, each with a visible focus)."""
    controls = set(page.evaluate("""(key) => {
        const keyOf = eval(key), keys = [];
        for (const e of document.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex]")) {
            const r = e.getBoundingClientRect();
            const shown = r.width > 0 && r.height > 0 && e.checkVisibility({ visibilityProperty: true })
                && !e.closest("[inert], dialog:not([open])");
            if (!shown || e.disabled || e.type === "hidden" || e.getAttribute("tabindex") === "-1") continue;
            if (e.type === "radio" && !e.checked) continue;  // a radio group is one Tab stop
            keys.push(keyOf(e));
        }
        return keys;
    }""", KEY_JS))
    page.evaluate("document.activeElement && document.activeElement.blur()")
    reached: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        key = page.evaluate("(key) => document.activeElement === document.body ? '' : eval(key)(document.activeElement)",
                            KEY_JS)
        if reached and key == reached[0]:
            break  # round the page once
        if key:
            assert now["visible"] and now["outline"] != "none" and now["width"] >= 2, f"no visible focus on {now}"
            reached.append(key)
    return controls, set(reached)


@pytest.mark.parametrize("role,path,viewport,ready", [SCREENS[0], SCREENS[2], SCREENS[4], SCREENS[6]],
                         ids=["console", "squad-phone", "squad-command", "dashboard"])
def test_every_control_is_reached_with_tab(live: LiveApi, contexts: Callable[..., BrowserContext], role: str, path: str,
                                           viewport: ViewportSize, ready: str) -> None:
    page = contexts(live, role, viewport).new_page()
    page.goto(path)
    page.locator(ready).first.wait_for(state="attached", timeout=15000)
    expect(page.locator('[aria-busy="true"]')).to_have_count(0, timeout=15000)
    controls, reached = tab_cycle(page)
    assert len(controls) >= 5
    assert not controls - reached, f"not reached with Tab: {sorted(controls - reached)}"


def test_a_squad_form_is_used_and_cancelled_with_the_keyboard(live: LiveApi,
                                                               contexts: Callable[..., BrowserContext]) -> None:
    page = contexts(live, "squad", PHONE).new_page()
    errors = page_errors(page)
    page.goto("/squad")
    card = page.locator("#queue .case").first
    opener = card.locator("button[data-action=return]")
    opener.wait_for(timeout=15000)
    opener.focus()
    page.keyboard.press("Enter")
    reason = card.locator("textarea[name=reason]")
    expect(reason).to_be_focused()
    page.keyboard.type("不属于本辖区")
    page.keyboard.press("Escape")
    expect(card.locator("form.action-form")).to_have_count(0)
    expect(card.locator("button[data-action=return]")).to_be_focused()
    # and sent with the keyboard: Tab from the reason to the submit button, Enter
    page.keyboard.press("Enter")
    expect(reason).to_be_focused()
    page.keyboard.type("不属于本辖区，应为如城街道")
    page.keyboard.press("Tab")
    expect(card.locator("form.action-form button[type=submit]")).to_be_focused()
    ticket = card.get_attribute("data-ticket")
    page.keyboard.press("Enter")
    expect(page.locator(f"#case-{ticket}")).to_have_count(0, timeout=10000)  # returned: it leaves the queue
    assert not errors, errors


def test_regions_are_busy_while_their_data_loads(live: LiveApi, contexts: Callable[..., BrowserContext]) -> None:
    page = contexts(live, "command").new_page()
    held: list[Any] = []
    release = []
    page.route(re.compile(r"/api/v1/cases\?"), lambda route: route.continue_() if release else held.append(route))
    page.goto("/dashboard")
    page.wait_for_function("() => document.querySelector('#tiles .tile') !== null", timeout=15000)
    assert held, "the dashboard asked for no case list"
    busy = page.evaluate("() => [...document.querySelectorAll('[aria-busy=true]')].map((e) => e.id)")
    assert {"overdue", "todo"} <= set(busy), busy
    assert "tiles" not in busy  # its data came
    release.append(True)
    for route in held:
        route.continue_()
    expect(page.locator('[aria-busy="true"]')).to_have_count(0, timeout=15000)
    expect(page.locator("#overdue")).to_have_attribute("aria-busy", "false")


def test_a_lost_live_connection_is_shown_by_more_than_colour(live: LiveApi,
                                                              contexts: Callable[..., BrowserContext]) -> None:
    ctx = contexts(live, "squad")
    page = ctx.new_page()
    page.goto("/squad")
    badge = page.locator("#live")
    expect(badge).to_have_class(re.compile(r"\bon\b"), timeout=15000)
    assert "line-through" not in badge.evaluate("(e) => getComputedStyle(e).textDecorationLine")
    live.server.should_exit = True  # the API goes away: the stream breaks
    expect(badge).to_have_class(re.compile(r"\boff\b"), timeout=30000)
    assert "line-through" in badge.evaluate("(e) => getComputedStyle(e).textDecorationLine")
