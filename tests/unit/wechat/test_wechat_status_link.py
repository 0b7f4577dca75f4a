"""The WeChat replies name the citizen page of the ticket when the city has a public address."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from redis.asyncio import Redis

from services.intake.wechat.conversation import Conversation
from services.intake.wechat.fakes import FakeClock, InMemoryIntakePort
from services.intake.wechat.messages import TextMessage
from services.intake.wechat.ports import Ticket, TicketStatus
from services.intake.wechat.state import WeChatState
from services.intake.wechat_port import WeChatIntakePort
from services.tracker.citizen_progress import link_key

COMPLAINT = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得睡不着"


class LinkingPort(InMemoryIntakePort):
    """The in-memory port, answering with the page of each ticket as the real port does when configured."""

    @staticmethod
    def url(ticket_no: str) -> str:
        return f"https://12319.example/citizen?t={ticket_no}&k={'a' * 32}"

    async def create_complaint(self, **kw: Any) -> Ticket:
        t = await super().create_complaint(**kw)
        return dataclasses.replace(t, status_url=self.url(t.ticket_no))

    async def recent_tickets(self, *, openid: str, limit: int = 5) -> list[TicketStatus]:
        return [dataclasses.replace(t, status_url=self.url(t.ticket_no))
                for t in await super().recent_tickets(openid=openid, limit=limit)]


def text(content: str, n: int) -> TextMessage:
    return TextMessage("gh_rugao", "oLinkA", 1714036504 + n, "text", str(10**17 + n), content=content)


async def test_the_ticket_reply_and_the_status_query_link_to_the_citizen_page(
        redis: Redis, prefix: str, clock: FakeClock) -> None:
    port = LinkingPort()
    conv = Conversation(port, WeChatState(redis, prefix), window_s=600, clock=clock)
    reply = await conv.handle(text(COMPLAINT, 1))
    [ticket] = [c.ticket_no for c in port.complaints.values()]
    assert reply is not None and f"也可打开 {LinkingPort.url(ticket)} 查看。" in reply
    status = await conv.handle(text("查询", 2))
    assert status is not None and f"进度详情：{LinkingPort.url(ticket)}" in status


async def test_without_a_page_the_replies_are_as_before(redis: Redis, prefix: str, clock: FakeClock) -> None:
    conv = Conversation(InMemoryIntakePort(), WeChatState(redis, prefix), window_s=600, clock=clock)
    reply = await conv.handle(text(COMPLAINT, 3))
    assert reply is not None and "http" not in reply and reply.endswith("发送“查询”可查看办理进度。")


def test_the_real_port_builds_the_keyed_link_of_a_ticket() -> None:
    none = cast(Any, None)
    port = WeChatIntakePort(intake=none, sessions=none, engine=none, publish_timeout_s=1,
                            public_base_url="https://12319.example", link_secret="s3cret")
    ticket = "RG20261126000123"
    assert port._status_url(ticket) == f"https://12319.example/citizen?t={ticket}&k={link_key('s3cret', ticket)}"
    bare = WeChatIntakePort(intake=none, sessions=none, engine=none, publish_timeout_s=1)
    assert bare._status_url(ticket) is None
