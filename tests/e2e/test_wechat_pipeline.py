"""A citizen's text + location + photo in safe mode becomes one routed case, through the real stack."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.e2e.test_pipeline import wait_routed
from tests.integration.wechat.wechat_harness import (
    AES_KEY,
    APPID,
    TOKEN,
    image_xml,
    location_xml,
    make_push,
    open_reply,
    text_xml,
)


def push(stack: Any, plain: str) -> httpx.Response:
    p = make_push(plain, "safe", ts=int(time.time()))
    return httpx.post(f"{stack.base_url}/wechat/callback", params=p.query, content=p.body, timeout=10)


def test_wechat_conversation_becomes_one_routed_case(stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url, wechat_token=TOKEN, wechat_encoding_aes_key=AES_KEY, wechat_appid=APPID)
    openid = f"oCitizen{int(time.time())}"
    first = text_xml("家门口的饭店油烟直接往我家窗户排，呛得受不了", openid=openid)
    r1 = push(stack, first)
    reply1 = open_reply(r1, "safe")
    found = re.search(r"RG\d{14}", reply1["Content"])
    assert found, reply1
    ticket = found.group(0)
    assert "地点" in reply1["Content"] or "位置" in reply1["Content"]  # no place yet: asks for one
    # WeChat retries the same push: identical reply, no second complaint
    again = open_reply(push(stack, first), "safe")
    assert again["Content"] == reply1["Content"]
    case = wait_routed(stack.base_url, stack.headers, ticket)
    assert case["unit"] == "COMMAND_CENTER"  # no place known yet
    r2 = open_reply(push(stack, location_xml(openid=openid, label="江苏省南通市如皋市白蒲镇兴业路")), "safe")
    assert ticket in r2["Content"]
    r3 = open_reply(push(stack, image_xml("m-1", openid=openid)), "safe")
    assert ticket in r3["Content"]
    deadline = time.monotonic() + 20
    while True:
        case = httpx.get(f"{stack.base_url}/api/v1/cases/{ticket}", headers=stack.headers, timeout=5).json()
        if case["unit"] == "SQ_BAIPU" and case["attachments"]:
            break
        assert time.monotonic() < deadline, case
        time.sleep(0.2)
    assert case["category"] == "CATERING_FUMES"
    assert case["location"]["label"].endswith("兴业路")
    assert [a["media_id"] for a in case["attachments"]] == ["m-1"]
    types = [h["type"] for h in case["history"]]
    assert types[:2] == ["received", "dispatched"] and "rerouted" in types and types.count("supplemented") == 2
    listing = httpx.get(f"{stack.base_url}/api/v1/cases", headers=stack.headers, params={"limit": 50}, timeout=5)
    assert listing.status_code == 200
    assert sum(1 for c in listing.json()["cases"] if c["channel"] == "wechat") == 1
    status = open_reply(push(stack, text_xml("查询", openid=openid)), "safe")
    assert ticket in status["Content"]
