"""WeChat text messages that are bad input: blank or too long get a Chinese reply and nothing is
filed; emoji only, English, a list of places are filed (the router holds them for the command centre)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from services.intake.wechat.conversation import HELP, Conversation
from services.intake.wechat.fakes import FakeClock, InMemoryIntakePort
from services.intake.wechat.state import WeChatState
from tests.unit.wechat.test_wechat_conversation import text


@pytest.fixture
def port() -> InMemoryIntakePort:
    return InMemoryIntakePort()


@pytest.fixture
def conv(redis: Redis, prefix: str, port: InMemoryIntakePort, clock: FakeClock) -> Conversation:
    return Conversation(port, WeChatState(redis, prefix), window_s=600, clock=clock, max_text_chars=500)


@pytest.mark.parametrize("content", ["", "   ", "\u3000\u3000", "\u200b", "\n\u200d\ufeff\n"])
async def test_blank_text_gets_help_and_files_nothing(conv: Conversation, port: InMemoryIntakePort, content: str) -> None:
    assert await conv.handle(text(content)) == HELP
    assert port.create_calls == 0 and port.supplement_calls == 0


@pytest.mark.parametrize("length", [501, 20_000])
async def test_too_long_text_is_refused_in_chinese(conv: Conversation, port: InMemoryIntakePort, length: int) -> None:
    reply = await conv.handle(text("路" * length))
    assert reply is not None and "过长" in reply and str(length) in reply and "500" in reply and "未能登记" in reply
    assert port.create_calls == 0 and port.complaints == {}


async def test_too_long_supplement_is_refused_and_the_case_is_unchanged(
        conv: Conversation, port: InMemoryIntakePort, clock: FakeClock) -> None:
    first = await conv.handle(text("白蒲镇中心路有人占道经营"))
    assert first is not None and "RG00000001" in first
    clock.advance(30)
    reply = await conv.handle(text("补" * 600))
    assert reply is not None and "过长" in reply
    assert port.create_calls == 1 and port.supplement_calls == 0
    assert await conv.handle(text("字" * 500)) is not None and port.supplement_calls == 1  # at the limit: taken


def test_the_limit_never_exceeds_the_event_contract(redis: Redis, prefix: str, port: InMemoryIntakePort) -> None:
    from services.core.events import MAX_TEXT_CHARS

    assert Conversation(port, WeChatState(redis, prefix), max_text_chars=10**6).max_text_chars == MAX_TEXT_CHARS


@pytest.mark.parametrize("content", ["😡😡😡", "The street light is broken", "如城街道花园社区\n白蒲镇唐堡村\n东陈镇"])
async def test_other_bad_input_is_filed(conv: Conversation, port: InMemoryIntakePort, content: str) -> None:
    reply = await conv.handle(text(content))
    assert reply is not None and "工单号：RG00000001" in reply
    assert port.complaints["RG00000001"].text == content
