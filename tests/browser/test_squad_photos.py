"""The squad takes site photos on a phone (issue 17): a real PNG/JPEG given to the camera input is resized in the
browser, uploaded with a progress bar, shown as a thumbnail on the case and in the command centre's case dialog,
carried by the resolve feedback, and refused to another squad.  On a bad connection nothing is lost: a first
attempt that fails is retried and stored exactly once; a photo still pending survives a reload."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from services.platform.db import make_engine, make_sessionmaker
from services.tracker.models import Case
from tests.browser.test_pages_flow import LAPTOP, PHONE, login, users
from tests.integration.tracker.conftest import make_case
from tests.photo_images import JPEG_48x32, noisy_png, png

pytestmark = pytest.mark.browser
PHOTOS = "**/api/v1/cases/*/photos"


def squad_photos(database_url: str, ticket: str) -> list[dict[str, Any]]:
    with make_sessionmaker(make_engine(database_url))() as s:
        case = s.query(Case).filter_by(ticket_no=ticket).one()
        return [a for a in case.attachments if a.get("source") == "squad"]


def accepted_case(base: str, database_url: str, token: str) -> str:
    ticket = make_case(make_sessionmaker(make_engine(database_url)))
    r = httpx.post(f"{base}/api/v1/cases/{ticket}/accept", headers={"Authorization": f"Bearer {token}"}, json={})
    assert r.status_code == 200, r.text
    return ticket


def record_states(page: Page) -> None:
    """Keep every state and progress the page's upload queue goes through (window.__photoLog), with the
    text the page showed for it."""
    page.evaluate("""() => { window.__photoLog = [];
      Photos.queue("squad").on((i) => { const e = { state: i.state, progress: i.progress, text: "" };
        window.__photoLog.push(e);
        // the text once every listener ran: a card drawn again registers its list after this recorder
        queueMicrotask(() => { e.text = (document.querySelector(
          `li.photo[data-id="${i.id}"] .photo-state`) || {}).textContent || ""; }); }); }""")


def pending_in_indexeddb(page: Page) -> int:
    return int(page.evaluate("""() => new Promise((ok, bad) => { const r = indexedDB.open("c12319-photos", 1);
      r.onsuccess = () => { const q = r.result.transaction("pending").objectStore("pending").count();
        q.onsuccess = () => ok(q.result); q.onerror = () => bad(q.error); }; r.onerror = () => bad(r.error); })"""))


def loaded(page: Page, selector: str) -> None:
    """The <img> really decoded (served to this user, not a broken image)."""
    page.wait_for_function("(s) => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0; }",
                           arg=selector, timeout=15000)


def test_photo_resized_uploaded_with_progress_thumbnailed_and_carried_by_the_feedback(
        browser: Browser, stack_factory: Any, sqlite_url: str, artifacts: Path) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    tokens = users(sqlite_url)
    ticket = accepted_case(stack.base_url, sqlite_url, tokens["squad"])
    errors: list[str] = []
    squad = login(browser, stack.base_url, tokens["squad"], PHONE, errors)
    card = squad.locator(f"#case-{ticket}")
    expect(card).to_be_visible(timeout=15000)
    camera = card.locator("input[type=file][data-photo-input=camera]")
    assert camera.get_attribute("accept") == "image/*" and camera.get_attribute("capture") == "environment"
    assert camera.get_attribute("multiple") is not None
    record_states(squad)
    # a slow phone line, so the progress bar has something to show
    cdp = squad.context.new_cdp_session(squad)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 50,
                                                  "downloadThroughput": 2_000_000, "uploadThroughput": 400_000})

    camera.set_input_files([{"name": "site.png", "mimeType": "image/png", "buffer": noisy_png(2400, 1800)}])

    row = card.locator("li.photo")
    expect(row.locator("progress")).to_be_visible(timeout=10000)
    expect(row).to_have_attribute("data-state", "uploading", timeout=10000)
    expect(row.locator(".photo-state")).to_have_text(re.compile(r"^上传中 \d+%$"))
    squad.screenshot(path=str(artifacts / "squad_photo_progress.png"), full_page=True)
    thumb = card.locator(".thumbs img")
    expect(thumb).to_have_count(1, timeout=60000)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    loaded(squad, f"#case-{ticket} .thumbs img")
    log = squad.evaluate("window.__photoLog")
    partial = [e["progress"] for e in log if e["state"] == "uploading" and 0 < e["progress"] < 1]
    assert partial, log  # the bar moved while the bytes went out
    assert partial == sorted(partial)
    assert any(e["state"] == "done" for e in log)
    assert pending_in_indexeddb(squad) == 0  # confirmed by the server: nothing left waiting
    (att,) = squad_photos(sqlite_url, ticket)
    assert (att["content_type"], att["width"], att["height"]) == ("image/jpeg", 1600, 1200)  # resized in the browser
    assert att["size"] < 2_500_000
    expect(card.locator(".thumb-cap")).to_have_text("中队照片")
    squad.screenshot(path=str(artifacts / "squad_photo_thumb.png"), full_page=True)

    # a second, small JPEG from the album; then the feedback carries both
    card.locator("input[type=file][data-photo-input=gallery]").set_input_files(
        [{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": JPEG_48x32}])
    expect(card.locator(".thumbs img")).to_have_count(2, timeout=30000)
    card.locator("button[data-action=resolve]").click()
    card.locator("textarea[name=result]").fill("已到现场清理，恢复整洁")
    card.locator("form button[type=submit]").click()
    expect(card).to_have_count(0, timeout=15000)
    photos = [a for a in squad_photos(sqlite_url, ticket)]
    assert len(photos) == 2 and photos[1]["width"] == 48
    with make_sessionmaker(make_engine(sqlite_url))() as s:
        feedback = s.query(Case).filter_by(ticket_no=ticket).one().photos
    assert feedback == [f"/api/v1/cases/{ticket}/attachments/0", f"/api/v1/cases/{ticket}/attachments/1"]

    # the command centre sees them as thumbnails in the case dialog, marked as the feedback's
    dash = login(browser, stack.base_url, tokens["command"], LAPTOP, errors)
    dash.wait_for_function("() => window.Dash && window.Dash.M")
    dash.evaluate("(t) => Detail.open(t)", ticket)
    dialog = dash.locator("#detail")
    expect(dialog.locator(".thumbs img")).to_have_count(2, timeout=10000)
    expect(dialog.locator(".thumb-cap").first).to_have_text("处置照片")
    expect(dialog.locator(".history")).to_contain_text("上传现场照片")  # the history names it in Chinese
    assert "photo_added" not in dialog.inner_text()
    loaded(dash, "#detail .thumbs img")
    dash.screenshot(path=str(artifacts / "dashboard_detail_photos.png"))

    assert not [e for e in errors if "favicon" not in e], errors
    # another squad: not on its page, and the photo itself is refused
    other = login(browser, stack.base_url, tokens["squad_other"], PHONE, errors)
    expect(other.locator("#squad-title")).to_be_visible()
    status = other.evaluate("(u) => fetch(u).then((r) => r.status)", feedback[0])
    assert status == 403
    assert other.evaluate("(u) => fetch(u, {method: 'POST', body: 'x'}).then((r) => r.status)",
                          f"/api/v1/cases/{ticket}/photos") == 403
    assert other.locator(f"#case-{ticket}").count() == 0


def test_a_failed_first_attempt_is_retried_and_stored_exactly_once(
        browser: Browser, stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    tokens = users(sqlite_url)
    ticket = accepted_case(stack.base_url, sqlite_url, tokens["squad"])
    errors: list[str] = []
    squad = login(browser, stack.base_url, tokens["squad"], PHONE, errors)
    card = squad.locator(f"#case-{ticket}")
    expect(card).to_be_visible(timeout=15000)
    record_states(squad)
    calls: list[str] = []

    def flaky(route: Route) -> None:
        calls.append(route.request.headers.get("idempotency-key", ""))
        if len(calls) == 1:  # the server gets the photo, the phone never hears back
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    squad.route(PHOTOS, flaky)
    card.locator("input[data-photo-input=camera]").set_input_files(
        [{"name": "site.png", "mimeType": "image/png", "buffer": png(900, 600)}])

    expect(card.locator(".thumbs img")).to_have_count(1, timeout=30000)
    log = squad.evaluate("window.__photoLog")
    states = [e["state"] for e in log]
    assert "retrying" in states and states.index("retrying") < len(states) - 1 - states[::-1].index("done"), states
    assert any("秒后自动重试" in e["text"] for e in log if e["state"] == "retrying"), log
    assert len(calls) == 2 and calls[0] == calls[1] != ""  # the retry names the same photo
    assert len(squad_photos(sqlite_url, ticket)) == 1
    assert pending_in_indexeddb(squad) == 0
    assert not [e for e in errors if "Failed to load resource" not in e], errors  # the cut line's own errors


def test_a_photo_pending_on_a_dead_line_survives_a_reload(
        browser: Browser, stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    tokens = users(sqlite_url)
    ticket = accepted_case(stack.base_url, sqlite_url, tokens["squad"])
    errors: list[str] = []
    squad = login(browser, stack.base_url, tokens["squad"], PHONE, errors)
    card = squad.locator(f"#case-{ticket}")
    expect(card).to_be_visible(timeout=15000)
    squad.route(PHOTOS, lambda route: route.abort("internetdisconnected"))

    card.locator("input[data-photo-input=camera]").set_input_files(
        [{"name": "site.png", "mimeType": "image/png", "buffer": png(640, 480, seed=7)}])
    expect(card.locator("li.photo")).to_have_attribute("data-state", "retrying", timeout=15000)
    expect(card.locator("li.photo .photo-state")).to_contain_text("秒后自动重试")
    assert pending_in_indexeddb(squad) == 1
    assert squad_photos(sqlite_url, ticket) == []

    squad.unroute(PHOTOS)
    squad.reload()  # the tab was closed or reloaded before the line came back
    card = squad.locator(f"#case-{ticket}")
    expect(card.locator(".thumbs img")).to_have_count(1, timeout=30000)
    deadline = time.monotonic() + 10
    while pending_in_indexeddb(squad) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pending_in_indexeddb(squad) == 0
    (att,) = squad_photos(sqlite_url, ticket)
    assert (att["width"], att["height"]) == (640, 480)
    assert not [e for e in errors if "Failed to load resource" not in e], errors  # the cut line's own errors


def test_a_photo_of_a_case_taken_away_meanwhile_stays_visible_until_removed(
        browser: Browser, stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    tokens = users(sqlite_url)
    ticket = accepted_case(stack.base_url, sqlite_url, tokens["squad"])
    errors: list[str] = []
    squad = login(browser, stack.base_url, tokens["squad"], PHONE, errors)
    card = squad.locator(f"#case-{ticket}")
    expect(card).to_be_visible(timeout=15000)
    squad.route(PHOTOS, lambda route: route.abort("internetdisconnected"))
    card.locator("input[data-photo-input=camera]").set_input_files(
        [{"name": "site.png", "mimeType": "image/png", "buffer": png(320, 240, seed=3)}])
    expect(card.locator("li.photo")).to_have_attribute("data-state", "retrying", timeout=15000)
    with make_sessionmaker(make_engine(sqlite_url)).begin() as s:  # the command centre reassigned it meanwhile
        s.query(Case).filter_by(ticket_no=ticket).update({"unit": "SQ_RUCHENG"})

    squad.unroute(PHOTOS)
    squad.reload()
    left = squad.locator(f"section.left-photos[data-ticket={ticket}]")
    expect(left.locator("li.photo")).to_have_attribute("data-state", "failed", timeout=30000)
    expect(left).to_contain_text("该工单不属于本单位")
    expect(squad.locator(f"#case-{ticket}")).to_have_count(0)
    assert pending_in_indexeddb(squad) == 1  # refused, but not thrown away behind the squad's back
    left.locator("li.photo button", has_text="删除").click()
    expect(left.locator("li.photo")).to_have_count(0)
    assert pending_in_indexeddb(squad) == 0
    assert squad_photos(sqlite_url, ticket) == []


def test_feedback_sent_while_a_photo_uploads_waits_for_it_and_carries_it(
        browser: Browser, stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url, services=("api",))
    tokens = users(sqlite_url)
    ticket = accepted_case(stack.base_url, sqlite_url, tokens["squad"])
    errors: list[str] = []
    squad = login(browser, stack.base_url, tokens["squad"], PHONE, errors)
    card = squad.locator(f"#case-{ticket}")
    expect(card).to_be_visible(timeout=15000)
    cdp = squad.context.new_cdp_session(squad)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 50,
                                                  "downloadThroughput": 2_000_000, "uploadThroughput": 300_000})
    card.locator("input[data-photo-input=camera]").set_input_files(
        [{"name": "site.png", "mimeType": "image/png", "buffer": noisy_png(2000, 1500)}])
    expect(card.locator("li.photo")).to_have_attribute("data-state", "uploading", timeout=15000)

    card.locator("button[data-action=resolve]").click()
    card.locator("textarea[name=result]").fill("已到现场处理完毕")
    submit = card.locator("form button[type=submit]")
    submit.click()
    expect(submit).to_have_text("照片上传中，完成后自动提交…")
    expect(submit).to_be_disabled()
    expect(card).to_have_count(0, timeout=60000)  # sent by itself once the photo was stored
    with make_sessionmaker(make_engine(sqlite_url))() as s:
        case = s.query(Case).filter_by(ticket_no=ticket).one()
        assert case.status == "resolved" and case.photos == [f"/api/v1/cases/{ticket}/attachments/0"]
    assert not [e for e in errors if "favicon" not in e], errors
