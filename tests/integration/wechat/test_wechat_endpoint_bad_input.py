"""Bad input through the WeChat endpoint (encrypted pushes, real Redis): a blank or too long
text gets a Chinese reply and the port is never called; emoji only is filed."""

from __future__ import annotations

from wechat_harness import HarnessFactory, text_xml

from services.intake.wechat.conversation import HELP


async def test_blank_and_too_long_texts_are_answered_and_not_filed(make_harness: HarnessFactory) -> None:
    h = make_harness(max_text_chars=300)
    assert (await h.say(text_xml("\u3000 \u200b ")))["Content"] == HELP
    reply = (await h.say(text_xml("白蒲镇唐堡村工地" * 100)))["Content"]
    assert "过长" in reply and "800" in reply and "300" in reply and "未能登记" in reply
    assert h.port.create_calls == 0 and h.port.complaints == {}
    reply = (await h.say(text_xml("😡😡😡")))["Content"]
    assert "工单号：RG00000001" in reply and h.port.create_calls == 1
