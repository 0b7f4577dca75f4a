"""The browser half of `complaints bench-pages`: Debian's Chromium driven by Playwright.

Every figure is taken inside the page, on the page's own clock (``performance.now()``, which starts
at the navigation):

- a page: ``first-paint`` and ``first-contentful-paint`` (``performance.getEntriesByType('paint')``)
  and ``data``, the moment the page's data is on screen: its marker (a selector the page renders
  from the API) seen by a ``requestAnimationFrame`` poll; a page without a known marker (a page added
  since) counts from the last API response and the DOM changes that follow it;
- an action: from the click (a capture listener installed before the page's own scripts) to the
  frame in which the UI shows the result.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # playwright is imported when the browser runs: `complaints --help` stays light
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAPTOP: ViewportSize = {"width": 1440, "height": 960}
PHONE: ViewportSize = {"width": 390, "height": 844}
WALL: ViewportSize = {"width": 1920, "height": 1080}
TIMEOUT_MS = 30000

# Installed before any script of the page: the click time, and the API traffic / DOM changes for
# pages without a known data marker.
INIT_JS = """
(() => {
  const b = window.__bench = { t0: 0, inflight: 0, fetches: 0, lastFetch: 0, mutations: [] };
  window.addEventListener("click", () => { b.t0 = performance.now(); }, true);
  const f = window.fetch.bind(window);
  window.fetch = (...a) => {
    b.inflight++; b.fetches++;
    const done = () => { b.inflight--; b.lastFetch = performance.now(); };
    return f(...a).then((r) => { const c = r.clone(); c.text().then(done, done); return r; },
                        (e) => { done(); throw e; });
  };
  new MutationObserver(() => { if (b.mutations.length < 5000) b.mutations.push(performance.now()); })
    .observe(document, { childList: true, subtree: true, characterData: true });
})();
"""

PAINT_JS = """() => {
  const p = {};
  for (const e of performance.getEntriesByType("paint")) p[e.name] = e.startTime;
  return { fp: p["first-paint"] || null, fcp: p["first-contentful-paint"] || null };
}"""

# No known marker: the API has been quiet for 500 ms after at least one call; the data is shown at the
# last DOM change within 250 ms of the last response (its rendering), or at that response.  A page
# that calls no API within 1 s of its load event (a form to fill in) is shown at its load event.
GENERIC_READY_JS = """() => {
  const b = window.__bench;
  if (!b || document.readyState !== "complete") return false;
  const nav = performance.getEntriesByType("navigation")[0];
  if (!b.fetches) return performance.now() - nav.loadEventEnd > 1000 && nav.loadEventEnd;  // no API call on load
  if (b.inflight || performance.now() - b.lastFetch < 500) return false;
  const after = b.mutations.filter((t) => t >= b.lastFetch && t <= b.lastFetch + 250);
  return after.length ? Math.max(...after) : b.lastFetch;
}"""


@dataclass(frozen=True)
class PageSpec:
    name: str
    path: str
    role: str | None  # None: opened without logging in
    viewport: ViewportSize
    ready: str | None  # JS expression true once the data is shown; None: the generic rule


@dataclass
class Samples:
    pages: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    actions: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def page(self, name: str, key: str, value: float | None) -> None:
        if value is not None:
            self.pages.setdefault(name, {}).setdefault(key, []).append(round(value, 1))

    def action(self, name: str, value: float) -> None:
        self.actions.setdefault(name, []).append(round(value, 1))


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("Debian's chromium is not installed: `apt-get install -y chromium`")


def launch(p: Any) -> Browser:
    browser: Browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    return browser


def new_context(browser: Browser, base: str, viewport: ViewportSize, token: str | None) -> BrowserContext:
    ctx = browser.new_context(viewport=viewport, locale="zh-CN", base_url=base)
    ctx.add_init_script(INIT_JS)
    if token is not None:  # log in once through the login form (the cookie serves every later page)
        page = ctx.new_page()
        page.goto("/login")
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_load_state("domcontentloaded")
        page.close()
    return ctx


def measure_page(ctx: BrowserContext, spec: PageSpec, samples: Samples) -> None:
    page = ctx.new_page()
    try:
        page.goto(spec.path, wait_until="commit")
        if spec.ready is None:
            data = page.wait_for_function(GENERIC_READY_JS, polling="raf", timeout=TIMEOUT_MS).json_value()
        else:
            data = page.wait_for_function(f"() => ({spec.ready}) && performance.now()", polling="raf",
                                          timeout=TIMEOUT_MS).json_value()
        paints: dict[str, float | None] = page.evaluate(PAINT_JS)
        if paints["fp"] is None:  # a paint entry is queued just after the frame: ask again once
            page.wait_for_timeout(100)
            paints = page.evaluate(PAINT_JS)
        samples.page(spec.name, "first_paint_ms", paints["fp"])
        samples.page(spec.name, "first_contentful_paint_ms", paints["fcp"])
        samples.page(spec.name, "data_ms", max(float(data), paints["fcp"] or 0.0))  # shown means painted
    finally:
        page.close()


def settle(page: Page) -> None:
    """Wait until the page has had no API call in flight for 1 s (a refresh after the last action,
    a live-feed reload): each action is timed on a quiet page, and no re-render swallows a form."""
    page.wait_for_function("() => window.__bench && !window.__bench.inflight && "
                           "performance.now() - window.__bench.lastFetch > 1000", timeout=TIMEOUT_MS)


def open_form(page: Page, button: str, form: str) -> None:
    """Click the button that opens an inline form and wait for the form."""
    settle(page)
    page.click(button)
    page.wait_for_selector(form, timeout=TIMEOUT_MS)


def timed_click(page: Page, selector: str, done_js: str, arg: Any = None) -> float:
    """Milliseconds from the click on ``selector`` (on a settled page) to the frame in which ``done_js(arg)`` holds."""
    settle(page)
    page.evaluate("() => { window.__bench.t0 = 0; }")
    page.click(selector)
    handle = page.wait_for_function(f"(a) => ({done_js}) && (performance.now() - window.__bench.t0)", arg=arg,
                                    polling="raf", timeout=TIMEOUT_MS)
    return float(handle.json_value())


def run_pages(base: str, tokens: dict[str, str], specs: list[PageSpec], repeats: int, samples: Samples,
              server_cpu: Callable[[], float] | None = None) -> None:
    """Open each page ``repeats`` times; with ``server_cpu`` (CPU seconds of the API so far) also the API's
    CPU time per load, a figure that does not depend on how busy the machine is."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            contexts: dict[tuple[str | None, str], BrowserContext] = {}
            for spec in specs:
                key = (spec.role, f"{spec.viewport['width']}x{spec.viewport['height']}")
                if key not in contexts:
                    contexts[key] = new_context(browser, base, spec.viewport,
                                                tokens[spec.role] if spec.role else None)
                for _ in range(repeats):
                    try:
                        before = server_cpu() if server_cpu else 0.0
                        measure_page(contexts[key], spec, samples)
                        if server_cpu:
                            samples.page(spec.name, "api_cpu_ms", (server_cpu() - before) * 1000)
                    except Exception as exc:  # noqa: BLE001 - reported, the other pages are still measured
                        samples.errors.append(f"page {spec.name}: {str(exc).splitlines()[0]}")
                        break
        finally:
            browser.close()




def _failed(page: Page, what: str) -> str:
    """A screenshot of the page where a step failed, for the error line."""
    path = Path(tempfile.gettempdir()) / f"bench-pages-{what}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception:  # noqa: BLE001 - the page may be gone
        return ""
    return f" (screenshot {path})"


def on_page(browser: Browser, base: str, token: str, viewport: ViewportSize, path: str,
            work: Callable[[Page], Any]) -> Any:
    """Log in, open ``path`` and do ``work`` there; a failure names the page and leaves a screenshot."""
    ctx = new_context(browser, base, viewport, token)
    page = ctx.new_page()
    try:
        page.goto(path)
        return work(page)
    except Exception as exc:
        raise RuntimeError(f"{path}: {str(exc).splitlines()[0]}{_failed(page, path.strip('/'))}") from exc
    finally:
        ctx.close()


def operator_calls(page: Page, texts: list[str], samples: Samples) -> list[str]:
    """File each text on /console: submit -> ticket shown."""
    page.wait_for_function("() => document.querySelectorAll('#category_override option').length > 1",
                           timeout=TIMEOUT_MS)
    tickets: list[str] = []
    for i, text in enumerate(texts):
        if i:
            page.click("#new-call")
        page.fill("#phone", f"139{i:08d}")
        page.fill("#text", text)
        page.wait_for_function("() => document.querySelector('#sg-unit') && document.querySelector('#sg-unit').textContent",
                               timeout=TIMEOUT_MS)
        page.wait_for_timeout(400)  # the suggestion's debounce has fired: the click races nothing
        ms = timed_click(page, "#submit", "(() => { const t = document.querySelector('#ticket-no'); "
                         "return t && /^RG\\d{14}$/.test(t.textContent) && !a.includes(t.textContent); })()", tickets)
        samples.action("submit_complaint", ms)
        tickets.append(page.locator("#ticket-no").inner_text())
    return tickets


def squad_shift(page: Page, tickets: list[str], samples: Samples) -> None:
    """On a phone: accept, request an extension, resolve each case (each timed from its click)."""
    for t in tickets:
        card = f"#case-{t}"
        page.wait_for_selector(f"{card} button[data-action=accept]", timeout=TIMEOUT_MS)
        samples.action("accept", timed_click(page, f"{card} button[data-action=accept]",
                                             "document.querySelector(a + ' .badge.st-accepted')", card))
        open_form(page, f"{card} button[data-action=extension]", f"{card} .panel form")
        page.fill(f"{card} .panel input[name=hours]", "24")
        page.fill(f"{card} .panel textarea[name=reason]", "需协调供电部门一起处置")
        page.evaluate("() => { const t = document.getElementById('toast'); if (t) { t.className = ''; t.textContent = ''; } }")
        samples.action("request_extension", timed_click(
            page, f"{card} .panel form button[type=submit]",
            "!document.querySelector(a[0] + ' .panel form') && document.getElementById('toast') && "
            "document.getElementById('toast').textContent.includes(a[1])", [card, t]))
        open_form(page, f"{card} button[data-action=resolve]", f"{card} .panel form textarea[name=result]")
        page.fill(f"{card} .panel textarea[name=result]", "已到现场处置完毕，当事人已整改")
        samples.action("resolve", timed_click(page, f"{card} .panel form button[type=submit]",
                                              "!document.querySelector(a)", card))


def command_shift(page: Page, tickets: list[str], samples: Samples) -> None:
    """On the dashboard: open each case by its number, verify it; switch the list's span both ways."""
    page.wait_for_selector("#tile-received .tile-v", timeout=TIMEOUT_MS)
    for t in tickets:
        page.fill("#find-ticket", t)
        samples.action("open_case_detail", timed_click(
            page, "#find button[type=submit]",
            "document.querySelector('#detail') && document.querySelector('#detail').open && "
            "document.querySelector('#detail-title').textContent.includes(a) && "
            "document.querySelector('#detail button[data-action=verify]')", t))
        samples.action("verify", timed_click(page, "#detail button[data-action=verify]",
                                             "document.querySelector('#detail .badge.st-closed')"))
        page.click("#detail-close")
        for span, label in (("7d", "近7日"), ("today", "今日")):
            samples.action("list_filter", timed_click(
                page, f'#span button[data-span="{span}"]',
                "(() => { const l = document.querySelector('#tile-received .tile-l'); "
                "return l && l.textContent.startsWith(a); })()", label))


def run_actions(base: str, tokens: dict[str, str], texts: list[str], samples: Samples,
                routed: Callable[[list[str]], str], squad_token: Callable[[str], str]) -> None:
    """The shift's chain: the operator files, the router dispatches (``routed`` waits and names the unit),
    that unit's squad works the cases, the command centre verifies them."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            tickets = on_page(browser, base, tokens["operator"], LAPTOP, "/console",
                              lambda page: operator_calls(page, texts, samples))
            started = time.perf_counter()
            unit = routed(tickets)
            samples.info.update(routing_wait_s=round(time.perf_counter() - started, 1), squad_unit=unit)
            on_page(browser, base, squad_token(unit), PHONE, "/squad", lambda page: squad_shift(page, tickets, samples))
            on_page(browser, base, tokens["command"], LAPTOP, "/dashboard",
                    lambda page: command_shift(page, tickets, samples))
        except Exception as exc:  # noqa: BLE001 - reported with what was measured before
            samples.errors.append(f"actions: {str(exc).splitlines()[0]}")
        finally:
            browser.close()
