"""Conversation logic against the in-memory port and the real Redis (db 15)."""

from __future__ import annotations

import itertools

import pytest
from redis.asyncio import Redis

from services.intake.wechat.conversation import VOICE_PLACEHOLDER, WELCOME, Conversation
from services.intake.wechat.fakes import FakeClock, InMemoryIntakePort
from services.intake.wechat.messages import (
    EventMessage,
    ImageMessage,
    LinkMessage,
    LocationMessage,
    TextMessage,
    UnknownMessage,
    VoiceMessage,
)
from services.intake.wechat.state import WeChatState

OPENID = "oCitizenA"
_ids = itertools.count(10**18)


def base(kind: str, openid: str = OPENID, ct: int = 1714036504) -> tuple[str, str, int, str, str]:
    return ("gh_rugao", openid, ct, kind, str(next(_ids)))


def text(content: str, openid: str = OPENID) -> TextMessage:
    return TextMessage(*base("text", openid), content=content)


def location(lat: float = 32.3712, lon: float = 120.5604, label: str | None = "江苏省南通市如皋市白蒲镇") -> LocationMessage:
    return LocationMessage(*base("location"), lat=lat, lon=lon, scale="15", label=label)


def image(media: str = "img-1") -> ImageMessage:
    return ImageMessage(*base("image"), pic_url=f"http://mmbiz/{media}.jpg", media_id=media)


def voice(recognition: str | None, media: str = "voice-1") -> VoiceMessage:
    return VoiceMessage(*base("voice"), media_id=media, format="amr", recognition=recognition)


def event(name: str, key: str | None = None) -> EventMessage:
    return EventMessage("gh_rugao", OPENID, 1714036504, "event", None, name, key, None, None, None, None)


@pytest.fixture
def port() -> InMemoryIntakePort:
    return InMemoryIntakePort()


@pytest.fixture
def conv(redis: Redis, prefix: str, port: InMemoryIntakePort, clock: FakeClock) -> Conversation:
    return Conversation(port, WeChatState(redis, prefix), window_s=600, clock=clock)


async def test_text_location_image_become_one_complaint(conv: Conversation, port: InMemoryIntakePort, clock: FakeClock) -> None:
    r1 = await conv.handle(text("垃圾桶满了没人清理，气味很大"))
    assert r1 is not None and "工单号：RG00000001" in r1
    assert "具体地点" in r1  # no place in the text: ask for it
    clock.advance(60)
    r2 = await conv.handle(location())
    assert r2 is not None and "RG00000001" in r2 and "白蒲镇" in r2 and "具体地点" not in r2
    clock.advance(60)
    r3 = await conv.handle(image())
    assert r3 is not None and "RG00000001" in r3 and "图片" in r3
    r4 = await conv.handle(text("就在菜市场门口"))
    assert r4 is not None and "RG00000001" in r4
    assert port.create_calls == 1 and port.supplement_calls == 3
    c = port.complaints["RG00000001"]
    assert c.location is not None and (c.location.lat, c.location.lon) == (32.3712, 120.5604)
    assert c.location.label == "江苏省南通市如皋市白蒲镇"
    assert [(a.kind, a.media_id, a.url) for a in c.attachments] == [("image", "img-1", "http://mmbiz/img-1.jpg")]
    assert c.needs_operator is False


async def test_place_in_text_does_not_ask_for_place(conv: Conversation) -> None:
    r = await conv.handle(text("如城街道海阳路路灯不亮"))
    assert r is not None and "工单号" in r and "具体地点" not in r


async def test_after_the_window_a_new_complaint(conv: Conversation, port: InMemoryIntakePort, clock: FakeClock) -> None:
    await conv.handle(text("路边占道经营"))
    clock.advance(599)
    r = await conv.handle(text("还在摆摊"))
    assert r is not None and "RG00000001" in r and port.create_calls == 1
    clock.advance(601)  # the window slides from the last message
    r = await conv.handle(text("渣土车撒漏"))
    assert r is not None and "RG00000002" in r and port.create_calls == 2


async def test_location_and_photo_before_text_are_attached_on_creation(conv: Conversation, port: InMemoryIntakePort) -> None:
    r1 = await conv.handle(location())
    assert r1 is not None and "文字描述" in r1 and port.create_calls == 0
    r2 = await conv.handle(image("p0"))
    assert r2 is not None and port.create_calls == 0
    r3 = await conv.handle(text("井盖缺失很危险"))
    assert r3 is not None and "RG00000001" in r3 and "具体地点" not in r3
    c = port.complaints["RG00000001"]
    assert c.location is not None and c.location.label and "白蒲镇" in c.location.label
    assert [a.media_id for a in c.attachments] == ["p0"]


async def test_voice_with_recognition_creates(conv: Conversation, port: InMemoryIntakePort) -> None:
    r = await conv.handle(voice("长江镇有人焚烧垃圾"))
    assert r is not None and "工单号：RG00000001" in r
    c = port.complaints["RG00000001"]
    assert c.text == "长江镇有人焚烧垃圾" and c.needs_operator is False
    assert [(a.kind, a.media_id) for a in c.attachments] == [("voice", "voice-1")]


async def test_voice_without_recognition_needs_operator(conv: Conversation, port: InMemoryIntakePort) -> None:
    r = await conv.handle(voice(None, media="v-42"))
    assert r is not None and "语音留言已登记" in r and "RG00000001" in r
    c = port.complaints["RG00000001"]
    assert c.needs_operator is True and c.text == VOICE_PLACEHOLDER
    assert [(a.kind, a.media_id) for a in c.attachments] == [("voice", "v-42")]
    # a second unrecognised voice within the window supplements
    r2 = await conv.handle(voice("", media="v-43"))
    assert r2 is not None and "RG00000001" in r2 and port.create_calls == 1


async def test_query(conv: Conversation, port: InMemoryIntakePort) -> None:
    r = await conv.handle(text("查询"))
    assert r is not None and "没有工单" in r
    await conv.handle(text("噪音扰民"))
    port.complaints["RG00000001"].status = "处理中"
    port.complaints["RG00000001"].category = "噪声污染"
    r = await conv.handle(text("查询"))
    assert r is not None and "RG00000001" in r and "处理中" in r and "噪声污染" in r
    r = await conv.handle(text("查询 RG00000001"))
    assert r is not None and "RG00000001" in r
    r = await conv.handle(text("查询RG99999999"))
    assert r is not None and "未查询到" in r
    assert port.create_calls == 1 and port.supplement_calls == 0  # commands never supplement


async def test_rating(conv: Conversation, port: InMemoryIntakePort, clock: FakeClock) -> None:
    r = await conv.handle(text("满意"))
    assert r is not None and "没有待评价" in r and port.create_calls == 0
    await conv.handle(text("广告牌松动"))
    port.complaints["RG00000001"].awaiting_rating = True
    clock.advance(3600)
    r = await conv.handle(text("基本满意"))
    assert r is not None and "基本满意" in r and "RG00000001" in r
    assert port.complaints["RG00000001"].rating == "基本满意"
    port.complaints["RG00000001"].awaiting_rating = True
    r = await conv.handle(text("不满意 RG00000001"))
    assert port.complaints["RG00000001"].rating == "不满意"
    assert port.create_calls == 1


async def test_events(conv: Conversation, port: InMemoryIntakePort) -> None:
    assert await conv.handle(event("subscribe", "qrscene_12")) == WELCOME
    assert "查询" in WELCOME and "位置" in WELCOME
    assert await conv.handle(event("unsubscribe")) is None
    assert await conv.handle(event("LOCATION")) is None
    assert await conv.handle(event("CLICK", "MENU_1")) is None
    assert port.create_calls == 0


async def test_greeting_unsupported_and_link(conv: Conversation, port: InMemoryIntakePort) -> None:
    r = await conv.handle(text("你好"))
    assert r is not None and "描述" in r
    unknown = UnknownMessage(*base("video"))
    assert "暂不支持" in (await conv.handle(unknown) or "")
    link = LinkMessage(*base("link"), title="报道", description="d", url="http://x")
    assert "链接" in (await conv.handle(link) or "")
    assert port.create_calls == 0


async def test_invalid_coordinates(conv: Conversation) -> None:
    r = await conv.handle(location(lat=123.0))
    assert r is not None and "无效" in r


async def test_state_survives_a_new_conversation_instance(
    redis: Redis, prefix: str, port: InMemoryIntakePort, clock: FakeClock
) -> None:
    """A restart (or another process) sees the same open complaint: it is all in Redis."""
    first = Conversation(port, WeChatState(redis, prefix), clock=clock)
    await first.handle(text("树木倒伏挡路"))
    second = Conversation(port, WeChatState(redis, prefix), clock=clock)
    r = await second.handle(location())
    assert r is not None and "RG00000001" in r and port.create_calls == 1


async def test_other_citizens_are_independent(conv: Conversation, port: InMemoryIntakePort) -> None:
    await conv.handle(text("违章搭建"))
    r = await conv.handle(text("占道停车", openid="oCitizenB"))
    assert r is not None and "RG00000002" in r and port.create_calls == 2


class _WindowStoreDown(WeChatState):
    async def commit_open(self, *args: object, **kwargs: object) -> None:
        raise ConnectionError("Redis restarting")


async def test_ticket_is_answered_when_the_window_cannot_be_saved(redis: Redis, prefix: str,
                                                                   port: InMemoryIntakePort, clock: FakeClock) -> None:
    # The complaint is stored before the window is saved: an error reply now would make the citizen
    # send the same problem again (found by the chaos run: a "phantom" case behind an error answer).
    conv = Conversation(port, _WindowStoreDown(redis, prefix), window_s=600, clock=clock)
    reply = await conv.handle(text("白蒲镇人民路工地晚上施工很吵"))
    assert reply is not None and "RG00000001" in reply
    assert list(port.complaints) == ["RG00000001"]
