"""Retries and dedupe: the same push gets the same reply and never a second complaint."""

from __future__ import annotations

import asyncio
import time

import pytest
from wechat_harness import MODES, Harness, HarnessFactory, event_xml, make_push, open_reply, text_xml

from services.intake.wechat.conversation import WELCOME
from services.intake.wechat.fakes import InMemoryIntakePort
from services.intake.wechat.handler import ACCEPTED_LATER, SORRY
from services.intake.wechat.state import WeChatState


@pytest.mark.parametrize("mode", MODES)
async def test_same_msgid_twice_identical_reply(harness: Harness, mode: str) -> None:
    plain = text_xml("如城街道益寿路井盖缺失", msg_id="9007199254740993123")  # > 2**53
    first = await harness.push(plain, mode)
    harness.clock.advance(5)
    second = await harness.push(plain, mode)  # WeChat's retry: new nonce/signature, same message
    assert open_reply(first, mode) == open_reply(second, mode)
    if mode != "plain":
        assert first.text != second.text  # re-encrypted, not replayed bytes
    assert harness.port.create_calls == 1


async def test_concurrent_retries_create_once(make_harness: HarnessFactory) -> None:
    h = make_harness(port=InMemoryIntakePort(delay_s=0.3))
    plain = text_xml("长江镇渣土车撒漏", msg_id="123456789012345678")
    pushes = [make_push(plain, "safe", ts=int(h.clock()), nonce=str(n)) for n in range(3)]
    replies = await asyncio.gather(*(h.send(p) for p in pushes))
    contents = {open_reply(r, "safe")["Content"] for r in replies}
    assert len(contents) == 1 and "RG00000001" in contents.pop()
    assert h.port.create_calls == 1


async def test_event_dedupe_same_second(harness: Harness) -> None:
    ct = int(harness.clock())
    # LOCATION first: a key made of FromUserName + CreateTime alone would make subscribe get "success"
    assert (await harness.push(event_xml("LOCATION", ct=ct), "safe")).text == "success"
    assert (await harness.say(event_xml("subscribe", "qrscene_1", ct=ct)))["Content"] == WELCOME
    # and retries of each still get their own reply
    assert (await harness.push(event_xml("LOCATION", ct=ct), "safe")).text == "success"
    assert (await harness.say(event_xml("subscribe", "qrscene_1", ct=ct)))["Content"] == WELCOME
    assert (await harness.push(event_xml("CLICK", "A", ct=ct), "safe")).text == "success"


async def test_over_budget_answers_fast_and_loses_nothing(make_harness: HarnessFactory) -> None:
    port = InMemoryIntakePort(delay_s=1.0)
    h = make_harness(port=port, reply_budget_s=0.3)
    plain = text_xml("城北街道违章搭建", msg_id="55555555555")
    t0 = time.perf_counter()
    first = await h.push(plain, "safe")
    assert time.perf_counter() - t0 < 0.8
    assert open_reply(first, "safe")["Content"] == ACCEPTED_LATER
    await h.handler.drain()
    assert port.create_calls == 1 and "RG00000001" in port.complaints  # finished in the background
    again = await h.push(plain, "safe")  # a retry gets what WeChat was told the first time
    assert open_reply(again, "safe")["Content"] == ACCEPTED_LATER
    assert port.create_calls == 1
    port.delay_s = 0
    query = await h.say(text_xml("查询"))
    assert "RG00000001" in query["Content"]


class FlakyPort(InMemoryIntakePort):
    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    async def create_complaint(self, **kwargs):  # type: ignore[no-untyped-def, override]
        if self.fail:
            self.create_calls += 1
            raise ConnectionError("store down")
        return await super().create_complaint(**kwargs)


async def test_port_failure_is_not_cached(make_harness: HarnessFactory) -> None:
    port = FlakyPort()
    h = make_harness(port=port)
    plain = text_xml("丁堰镇垃圾焚烧", msg_id="777")
    r1 = await h.push(plain, "safe")
    assert r1.status_code == 200 and open_reply(r1, "safe")["Content"] == SORRY
    port.fail = False
    r2 = await h.push(plain, "safe")
    assert "RG00000001" in open_reply(r2, "safe")["Content"]


async def test_last_message_time_is_recorded(harness: Harness) -> None:
    state = WeChatState(harness.redis, harness.prefix)
    await harness.push(text_xml("你好", openid="oWindow"), "safe")
    assert await state.last_message_at("oWindow") == pytest.approx(harness.clock())
    await harness.push(event_xml("LOCATION", openid="oLocOnly"), "safe")
    assert await state.last_message_at("oLocOnly") is None


async def test_state_survives_restart(make_harness: HarnessFactory) -> None:
    port = InMemoryIntakePort()
    h1 = make_harness(port=port)
    await h1.say(text_xml("如城街道路灯不亮", openid="oR"))
    h2 = make_harness(port=port, clock=h1.clock)  # a new process: fresh router, same Redis
    r = await h2.say(text_xml("补充：已经坏了三天", openid="oR"))
    assert "RG00000001" in r["Content"] and port.create_calls == 1


async def test_text_and_location_racing_end_in_one_complaint(make_harness: HarnessFactory) -> None:
    """Two processes/requests for the same citizen at once: the location is never orphaned."""
    from wechat_harness import location_xml

    port = InMemoryIntakePort(delay_s=0.2)
    h = make_harness(port=port)
    await asyncio.gather(h.push(text_xml("井盖缺失", openid="oRace")), h.push(location_xml(openid="oRace")))
    assert port.create_calls == 1
    c = port.complaints["RG00000001"]
    assert c.location is not None and c.location.lat == 32.3712


async def test_retry_takes_over_when_the_first_process_died(harness: Harness) -> None:
    """A claim left by a crashed process lapses; WeChat's retry then does the work."""
    plain = text_xml("如城街道下水道堵塞", msg_id="4242424242")
    await harness.redis.set(harness.prefix + "claim:msg:4242424242", "1", px=400)
    reply = await harness.say(plain)
    assert "RG00000001" in reply["Content"] and harness.port.create_calls == 1
