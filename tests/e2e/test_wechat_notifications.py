"""WeChat citizens are told when their case is accepted and resolved, once, and can rate it by replying."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx

from tests.integration.wechat.fake_wechat_api import FakeWeChatApi
from tests.integration.wechat.wechat_harness import AES_KEY, APPID, TOKEN, make_push, open_reply, text_xml

SECRET = "test-app-secret"


async def push(client: httpx.AsyncClient, plain: str) -> dict[str, str]:
    p = make_push(plain, "safe", ts=int(time.time()))
    return open_reply(await client.post("/wechat/callback", params=p.query, content=p.body), "safe")


async def until(predicate: Any, timeout_s: float = 40) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)



async def file_complaint(client: httpx.AsyncClient, openid: str) -> str:
    """A citizen's WeChat complaint; returns the ticket number from the reply."""
    reply = await push(client, text_xml("白蒲镇唐堡村路边饭店油烟直排，熏得人没法开窗", openid=openid))
    found = re.search(r"RG\d{14}", reply["Content"])
    assert found, reply
    return found.group(0)

async def test_citizen_is_notified_once_and_rates(stack_factory: Any, sqlite_url: str) -> None:
    api = FakeWeChatApi(appid=APPID, secret=SECRET)
    base = await api.start()
    try:
        stack = stack_factory(sqlite_url, wechat_token=TOKEN, wechat_encoding_aes_key=AES_KEY, wechat_appid=APPID,
                              wechat_secret=SECRET, wechat_api_base=base)
        openid = f"oNotify{int(time.time())}"
        async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers, timeout=10) as client:
            ticket = await file_complaint(client, openid)

            async def dispatched() -> bool:
                r = await client.get(f"/api/v1/cases/{ticket}")
                return r.status_code == 200 and r.json()["status"] == "dispatched"

            await until(dispatched)
            assert (await client.post(f"/api/v1/cases/{ticket}/accept")).status_code == 200
            resolved = await client.post(f"/api/v1/cases/{ticket}/resolve",
                                         json={"result": "已责令店家安装油烟净化器", "disposal_mode": "管理"})
            assert resolved.status_code == 200, resolved.text

            async def two_sent() -> bool:
                return len(api.custom) >= 2

            await until(two_sent)
            texts = [m["text"]["content"] for m in api.custom]
            assert all(m["touser"] == openid for m in api.custom)
            assert "签收" in texts[0] and ticket in texts[0]
            assert "处理完毕" in texts[1] and "满意" in texts[1] and "油烟净化器" in texts[1]
            # a replay of cases.events (new notifier group) sends nothing again
            stack.kill("tracker")
            stack.env["COMPLAINTS_TRACKER_GROUP"] = "replayed-tracker"
            stack.start("tracker")
            await asyncio.sleep(12)
            assert len(api.custom) == 2
            rated = await push(client, text_xml("满意", openid=openid))
            assert ticket in rated["Content"]
            case = (await client.get(f"/api/v1/cases/{ticket}")).json()
            assert case["rating"] == "满意"
    finally:
        await api.stop()
