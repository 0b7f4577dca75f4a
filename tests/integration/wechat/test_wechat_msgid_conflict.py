"""A MsgId seen again with other content is not a retry (issue 16): 409 naming the MsgId, no second complaint,
and the real retry still gets its reply."""

from __future__ import annotations

import time

import pytest
from wechat_harness import MODES, Harness, open_reply, text_xml


@pytest.mark.parametrize("mode", MODES)
async def test_same_msgid_other_content_is_refused(harness: Harness, mode: str) -> None:
    msg_id, ct = "9007199254740993777", int(time.time())
    first = await harness.push(text_xml("如城街道益寿路井盖缺失", msg_id=msg_id, ct=ct), mode)
    assert first.status_code == 200
    other = await harness.push(text_xml("白蒲镇唐堡村工地晚上还在打桩", msg_id=msg_id, ct=ct), mode)
    assert other.status_code == 409
    assert msg_id in other.text and "内容不同" in other.text
    other_sender = await harness.push(text_xml("如城街道益寿路井盖缺失", openid="oCitizenB", msg_id=msg_id, ct=ct), mode)
    assert other_sender.status_code == 409
    retry = await harness.push(text_xml("如城街道益寿路井盖缺失", msg_id=msg_id, ct=ct), mode)
    assert retry.status_code == 200 and open_reply(retry, mode) == open_reply(first, mode)
    assert harness.port.create_calls == 1
