"""WeChat notifications link to the citizen page of the ticket when the public base URL is configured."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.core.engine import Engine
from services.core.events import Channel
from services.intake.wechat.client import WeChatApiClient, WeChatApiSettings
from services.platform.settings import TrackerSettings
from services.tracker.notifier import Notifier
from tests.integration.tracker.conftest import WECHAT_APPID, WECHAT_SECRET, Api, make_case
from tests.integration.wechat.fake_wechat_api import FakeWeChatApi

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
