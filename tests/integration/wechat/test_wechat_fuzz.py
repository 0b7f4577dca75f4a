"""Whatever arrives with a valid signature, the answer is 200/400/403/413, never a 5xx."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechat_harness import Harness, make_push, text_xml

FIELDS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "Content", "Encrypt", "Event",
          "EventKey", "Location_X", "Location_Y", "Label", "MediaId", "Recognition", "PicUrl"]
MSG_TYPES = ["text", "image", "voice", "location", "link", "event", "video", "", "TEXT"]

xml_bodies = st.builds(
    lambda pairs: "<xml>" + "".join(f"<{k}>{v}</{k}>" for k, v in pairs) + "</xml>",
    st.lists(st.tuples(st.sampled_from(FIELDS),
                       st.one_of(st.sampled_from(MSG_TYPES), st.text(max_size=40).map(lambda t: f"<![CDATA[{t}]]>"),
                                 st.integers(min_value=-(2**70), max_value=2**70).map(str))),
             max_size=12),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300), xml_bodies.map(str.encode)),
       aes=st.booleans())
async def test_never_5xx(harness: Harness, body: bytes, aes: bool) -> None:
    push = make_push(text_xml("x"), "safe" if aes else "plain", ts=int(harness.clock()))
    push.body = body
    resp = await harness.send(push)
    assert resp.status_code in (200, 400, 403, 413), resp.text
