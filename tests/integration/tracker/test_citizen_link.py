"""WeChat notifications link to the citizen page of the ticket when the public base URL is configured."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from services.core.engine import Engine
from services.core.events import Channel
from services.intake.wechat.client import WeChatApiClient, WeChatApiSettings
from services.platform.settings import TrackerSettings
from services.tracker.citizen_progress import link_key
from services.tracker.notifier import Notifier
from tests.integration.tracker.conftest import WECHAT_APPID, WECHAT_SECRET, Api, make_case
from tests.integration.wechat.fake_wechat_api import FakeWeChatApi
from tests.photo_images import JPEG_48x32

BASE = "https://12319.rugao.example/"


@pytest.fixture
async def client(api: Api, wechat: FakeWeChatApi, redis: Redis) -> AsyncIterator[WeChatApiClient]:
    c = WeChatApiClient(WeChatApiSettings.model_validate(
        {"appid": WECHAT_APPID, "secret": WECHAT_SECRET, "base_url": wechat.base_url,
         "key_prefix": f"{api.redis_prefix}wechat:"}), redis)
    yield c
    await c.aclose()


async def test_accepted_and_resolved_messages_link_to_the_citizen_page(
        api: Api, wechat: FakeWeChatApi, client: WeChatApiClient) -> None:
    notifier = Notifier(TrackerSettings(public_base_url=BASE), api.sessions, Engine.load("rugao"), client)
    ticket = make_case(api.sessions, channel=Channel.WECHAT, citizen_id="oLinkCitizen")
    assert api.post("squad", f"/api/v1/cases/{ticket}/accept").status_code == 200
    assert await notifier.sweep() == 1
    api.post("squad", f"/api/v1/cases/{ticket}/resolve", {"result": "已劝离", "disposal_mode": "服务"})
    assert await notifier.sweep() == 1
    accepted, resolved = (str(m) for m in wechat.custom)
    link = f"https://12319.rugao.example/citizen?t={ticket}"
    assert link in accepted and "已由白蒲镇城管执法中队签收" in accepted
    assert link in resolved and "评价" in resolved
    # the page it names is there, without login
    assert api.client.get(f"/citizen?t={ticket}").status_code == 200


async def test_without_a_public_url_the_messages_carry_no_link(
        api: Api, wechat: FakeWeChatApi, client: WeChatApiClient) -> None:
    notifier = Notifier(TrackerSettings(), api.sessions, Engine.load("rugao"), client)
    ticket = make_case(api.sessions, channel=Channel.WECHAT, citizen_id="oNoLinkCitizen")
    assert api.post("squad", f"/api/v1/cases/{ticket}/accept").status_code == 200
    assert await notifier.sweep() == 1
    assert "http" not in str(wechat.custom[0]) and ticket in str(wechat.custom[0])


def test_the_public_url_must_be_a_plain_http_address() -> None:
    with pytest.raises(ValueError):
        TrackerSettings(public_base_url="javascript:alert(1)")
    with pytest.raises(ValueError):
        TrackerSettings(public_base_url="https://x.example/?a=1")
    assert TrackerSettings(public_base_url="https://x.example/12319").public_base_url == "https://x.example/12319"


def test_the_citizen_page_needs_no_login_and_runs_under_the_strict_csp(api: Api) -> None:
    r = api.client.get("/citizen")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    html = r.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    for src in re.findall(r'(?:src|href)="(/static/[^"?]+)', html):
        assert api.client.get(src).status_code == 200, src
    assert "/static/photos.js" in html and "/static/citizen.js" in html


SECRET = "test-link-secret-0123456789"


async def test_a_wechat_citizen_opens_their_case_with_the_key_of_the_link(
        api: Api, wechat: FakeWeChatApi, client: WeChatApiClient) -> None:
    """A WeChat case has no phone number: the notification's link carries the ticket's key instead."""
    settings = TrackerSettings(public_base_url=BASE, citizen_link_secret=SecretStr(SECRET))
    notifier = Notifier(settings, api.sessions, Engine.load("rugao"), client)
    ticket = make_case(api.sessions, channel=Channel.WECHAT, citizen_id="oKeyCitizen", phone=None)
    other = make_case(api.sessions, channel=Channel.WECHAT, citizen_id="oSomeoneElse", phone=None)
    assert api.post("squad", f"/api/v1/cases/{ticket}/accept").status_code == 200
    assert await notifier.sweep() == 1
    key = link_key(SECRET, ticket)
    assert f"https://12319.rugao.example/citizen?t={ticket}&k={key}" in str(wechat.custom[0])

    public = f"/api/v1/public/cases/{ticket}"
    assert api.client.get(public, params={"k": key}).status_code == 404  # the API has no secret yet
    api.client.app.state.settings.citizen_link_secret = SecretStr(SECRET)  # type: ignore[attr-defined]
    r = api.client.get(public, params={"k": key})
    assert r.status_code == 200 and r.json()["headline"] == "白蒲镇城管执法中队已签收，正在处置"
    assert "oKeyCitizen" not in r.text
    # the key opens this ticket only; a WeChat case cannot be guessed with four digits (it has no phone)
    wrong = api.client.get(f"/api/v1/public/cases/{other}", params={"k": key})
    assert wrong.status_code == 404 and wrong.json() == {"detail": "工单号或手机号后四位不正确"}
    assert api.client.get(public, params={"phone_last4": "0000"}).status_code == 404
    assert api.client.get(public, params={"k": "0" * 32}).status_code == 404
    nothing = api.client.get(public)
    assert nothing.status_code == 422 and "后四位" in nothing.json()["detail"]

    added = api.client.post(f"{public}/supplements", json={"key": key, "text": "补充：门口还堆着建筑垃圾"})
    assert added.status_code == 201, added.text
    photo = api.client.post(f"{public}/photos", params={"k": key}, content=JPEG_48x32,
                            headers={"Content-Type": "image/jpeg"})
    assert photo.status_code == 201, photo.text
    assert api.client.post(f"/api/v1/public/cases/{other}/supplements",
                           json={"key": key, "text": "别人的工单"}).status_code == 404
    history = api.get("command", f"/api/v1/cases/{ticket}").json()["history"]
    assert [h["actor"] for h in history if h["type"] == "supplemented"] == ["citizen:wechat:oKeyCitizen"] * 2
    api.post("squad", f"/api/v1/cases/{ticket}/resolve", {"result": "已清运", "disposal_mode": "服务"})
    rated = api.client.post(f"{public}/rating", json={"key": key, "rating": "满意"})
    assert rated.status_code == 200 and api.case(ticket).rating == "满意"
