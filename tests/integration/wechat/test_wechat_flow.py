"""A citizen's whole conversation in safe mode through the endpoint."""

from __future__ import annotations

import time

from wechat_harness import Harness, event_xml, image_xml, location_xml, text_xml, voice_xml

from services.intake.wechat.client import WeChatApiClient, WeChatApiSettings
from services.intake.wechat.conversation import WELCOME


async def test_citizen_story_safe_mode(harness: Harness) -> None:
    h, port = harness, harness.port
    assert (await h.say(event_xml("subscribe")))["Content"] == WELCOME

    r = await h.say(text_xml("菜场门口的垃圾好几天没人清运了"))
    assert "工单号：RG00000001" in r["Content"] and "具体地点" in r["Content"]
    h.clock.advance(30)
    r = await h.say(location_xml(label="江苏省南通市如皋市如城街道福寿路"))
    assert "RG00000001" in r["Content"] and "福寿路" in r["Content"]
    h.clock.advance(30)
    r = await h.say(image_xml("photo-1"))
    assert "RG00000001" in r["Content"]
    c = port.complaints["RG00000001"]
    assert c.location is not None and c.location.label == "江苏省南通市如皋市如城街道福寿路"
    assert [(a.kind, a.media_id, a.url) for a in c.attachments] == [
        ("image", "photo-1", "http://mmbiz.qpic.cn/photo-1")
    ]

    h.clock.advance(601)  # the window has passed: a new complaint
    r = await h.say(voice_xml("", media="voice-9"))
    assert "RG00000002" in r["Content"] and "语音留言" in r["Content"]
    assert port.complaints["RG00000002"].needs_operator is True

    h.clock.advance(601)
    r = await h.say(voice_xml("白蒲镇中心路有人占道经营"))
    assert "RG00000003" in r["Content"]
    assert port.complaints["RG00000003"].needs_operator is False

    port.complaints["RG00000001"].status = "已办结"
    port.complaints["RG00000001"].category = "垃圾清运"
    r = await h.say(text_xml("查询"))
    assert "RG00000001" in r["Content"] and "已办结" in r["Content"] and "垃圾清运" in r["Content"]
    r = await h.say(text_xml("查询 RG00000001"))
    assert "RG00000001" in r["Content"] and "RG00000002" not in r["Content"]

    port.complaints["RG00000001"].awaiting_rating = True
    r = await h.say(text_xml("满意"))
    assert "RG00000001" in r["Content"] and port.complaints["RG00000001"].rating == "满意"
    assert port.create_calls == 3


async def test_endpoint_opens_the_48h_window_for_the_client(harness: Harness) -> None:
    harness.clock.now = time.time()
    await harness.say(text_xml("你好", openid="oWin"))
    settings = WeChatApiSettings.model_validate(
        {"appid": "wx", "secret": "s", "base_url": "http://127.0.0.1:9", "key_prefix": harness.prefix}
    )
    client = WeChatApiClient(settings, harness.redis)
    try:
        assert await client.in_service_window("oWin")
        assert not await client.in_service_window("oOther")
    finally:
        await client.aclose()
