"""Conversation logic: turn one parsed message into port calls and a Chinese reply text."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from pydantic import ValidationError

from services.core import quality
from services.core.events import MAX_TEXT_CHARS, Attachment, GeoPoint
from services.intake.wechat.messages import (
    EventMessage,
    ImageMessage,
    LinkMessage,
    LocationMessage,
    Message,
    TextMessage,
    VoiceMessage,
    dedupe_key,
)
from services.intake.wechat.ports import IntakePort
from services.intake.wechat.state import OpenComplaint, Pending, WeChatState

log = logging.getLogger(__name__)

RATINGS = ("满意", "基本满意", "不满意")
VOICE_PLACEHOLDER = "[语音留言，未识别文字，待人工收听]"

_TICKET = r"([A-Za-z0-9][A-Za-z0-9-]{2,39})"
_QUERY_RE = re.compile(r"(?:查询|查詢|进度查询|查进度)\s*[:：#＃]?\s*" + _TICKET + r"?\s*[。.!！]?")
_RATING_RE = re.compile(r"(基本满意|不满意|满意)\s*[,，:：#＃]?\s*" + _TICKET + r"?\s*[。.!！]?")
_GREETINGS = {"你好", "您好", "在吗", "在么", "hi", "hello", "帮助", "help", "?", "？", "谢谢", "谢谢你"}

WELCOME = (
    "您好，欢迎关注如皋市12319城市管理服务热线！\n"
    "反映问题：直接发送文字或语音，说明发生了什么、在什么地方（镇/街道、路名、小区）。"
    "也可以发送位置和现场照片，10分钟内发送的内容会并入同一工单。\n"
    "查询进度：发送“查询”或“查询+工单号”。"
)
HELP = (
    "请直接发送文字或语音描述您要反映的城市管理问题，并说明具体地点，"
    "也可以发送位置和现场照片。发送“查询”可查看工单办理进度。"
)
ASK_PLACE = "请告诉我们问题发生的具体地点（镇/街道、路名、小区或门牌），或点击“+”发送位置。"
UNSUPPORTED = "暂不支持此类消息。请发送文字、语音、图片或位置来反映问题。"
NEED_TEXT = "请再用文字描述您要反映的问题（如：某路段路灯不亮），我们会立即为您登记。"


def too_long(length: int, limit: int) -> str:
    return (f"您发送的文字过长（{length} 个字，最多 {limit} 个字），未能登记。"
            "请删去与问题无关的内容，简要说明发生了什么、在什么地方，再发送一次。")


def _clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit]


class Conversation:
    """Decides, per message, whether to create, supplement, query or rate.

    ``handle`` returns the reply text (Chinese) or ``None`` for "success" (no reply).
    """

    def __init__(
        self,
        port: IntakePort,
        state: WeChatState,
        *,
        window_s: float = 600,
        clock: Callable[[], float] = time.time,
        max_text_chars: int = MAX_TEXT_CHARS,
    ) -> None:
        self.port = port
        self.state = state
        self.window_s = window_s
        self.max_text_chars = min(max_text_chars, MAX_TEXT_CHARS)
        self.clock = clock

    @property
    def _window_min(self) -> int:
        return max(1, int(self.window_s // 60))

    async def handle(self, msg: Message) -> str | None:
        if isinstance(msg, EventMessage):
            return self._event(msg)
        async with self.state.citizen_lock(msg.from_user):
            return await self._dispatch(msg)

    def _event(self, msg: EventMessage) -> str | None:
        if msg.event.lower() == "subscribe":
            return WELCOME
        return None  # unsubscribe, LOCATION, CLICK, SCAN, ...: "success"

    async def _dispatch(self, msg: Message) -> str | None:
        openid = msg.from_user
        if isinstance(msg, TextMessage):
            text = msg.content.strip()
            if quality.is_blank(text) or text.lower() in _GREETINGS:
                return HELP
            refused = quality.refusal(text, max_chars=self.max_text_chars)
            if refused is not None:  # too long: refused, nothing stored (a blank text got HELP above)
                return too_long(refused.length, refused.limit)
            if m := _QUERY_RE.fullmatch(text):
                return await self._query(openid, m.group(1))
            if m := _RATING_RE.fullmatch(text):
                return await self._rate(openid, m.group(1), m.group(2))
        oc, pending = await self.state.snapshot(openid)
        if oc is not None and self.clock() - oc.last_at > self.window_s:
            oc = None  # the conversation window has passed: the next problem is a new complaint
        if isinstance(msg, TextMessage):
            if oc is not None:
                return await self._supplement(oc, openid, text=msg.content.strip())
            return await self._create(msg, msg.content.strip(), [], pending, needs_operator=False)
        if isinstance(msg, VoiceMessage):
            voice = Attachment(kind="voice", media_id=msg.media_id)
            said = (msg.recognition or "").strip()
            if oc is not None:
                return await self._supplement(oc, openid, text=said or None, attachments=[voice], what="语音")
            if said:
                return await self._create(msg, said, [voice], pending, needs_operator=False)
            return await self._create(msg, VOICE_PLACEHOLDER, [voice], pending, needs_operator=True)
        if isinstance(msg, LocationMessage):
            return await self._location(msg, oc)
        if isinstance(msg, ImageMessage):
            image = Attachment(kind="image", media_id=msg.media_id, url=msg.pic_url)
            return await self._media(openid, oc, image, "图片")
        if isinstance(msg, LinkMessage):
            link = Attachment(kind="link", url=msg.url)
            return await self._media(openid, oc, link, "链接", text=msg.title or msg.description)
        return UNSUPPORTED

    async def _create(
        self, msg: Message, text: str, attachments: list[Attachment], pending: Pending, *, needs_operator: bool
    ) -> str:
        openid = msg.from_user
        location = pending.location
        ticket = await self.port.create_complaint(
            openid=openid,
            text=_clip(text),
            location=location,
            attachments=pending.attachments + attachments,
            needs_operator=needs_operator,
            dedupe_key=dedupe_key(msg),
        )
        place = ticket.place_found or location is not None
        oc = OpenComplaint(ticket.ticket_no, ticket.complaint_id, place, self.clock())
        await self._remember(openid, oc, clear_pending=True)
        if needs_operator:
            head = f"您的语音留言已登记，工单号：{ticket.ticket_no}。工作人员将尽快收听处理。"
        else:
            head = f"您反映的问题已登记，工单号：{ticket.ticket_no}。"
        tail = (
            f"如有现场照片可直接发送，{self._window_min}分钟内补充的内容将并入此工单。"
            "发送“查询”可查看办理进度"
            + (f"，也可打开 {ticket.status_url} 查看。" if ticket.status_url else "。")
        )
        return head + ("" if place else ASK_PLACE) + tail

    async def _remember(self, openid: str, oc: OpenComplaint, *, clear_pending: bool) -> None:
        """Open (or extend) the conversation window after the complaint is stored.

        The window is a convenience; the complaint already has its ticket.  If the state store
        fails now, the citizen must still get the ticket: an error reply would make them send it
        again and the hotline would get the same problem twice.
        """
        try:
            await self.state.commit_open(openid, oc, self.window_s, clear_pending=clear_pending)
        except Exception as exc:  # Redis away: answer with the ticket, without a window
            log.warning("wechat: conversation window for %s not saved: %s: %s", oc.ticket_no,
                        type(exc).__name__, exc)

    async def _supplement(
        self,
        oc: OpenComplaint,
        openid: str,
        *,
        text: str | None = None,
        location: GeoPoint | None = None,
        attachments: list[Attachment] | None = None,
        what: str = "补充内容",
    ) -> str:
        await self.port.supplement(
            ticket_no=oc.ticket_no,
            openid=openid,
            text=_clip(text) if text else None,
            location=location,
            attachments=list(attachments or []),
        )
        place = oc.place_found or location is not None
        updated = OpenComplaint(oc.ticket_no, oc.complaint_id, place, self.clock())
        await self._remember(openid, updated, clear_pending=False)
        reply = f"已收到{what}，已补充到工单 {oc.ticket_no}。"
        return reply + ("" if place else ASK_PLACE)

    async def _location(self, msg: LocationMessage, oc: OpenComplaint | None) -> str:
        label = (msg.label or "").strip()[:500] or None
        try:
            geo = GeoPoint(lat=msg.lat, lon=msg.lon, label=label)
        except ValidationError:
            return "位置信息无效，请重新发送位置。"
        shown = f"位置（{label}）" if label else "位置"
        if oc is not None:
            return await self._supplement(oc, msg.from_user, location=geo, what=shown)
        await self.state.add_pending(msg.from_user, location=geo, window_s=self.window_s)
        return f"已收到您的{shown}。" + NEED_TEXT

    async def _media(
        self, openid: str, oc: OpenComplaint | None, att: Attachment, what: str, text: str | None = None
    ) -> str:
        if oc is not None:
            return await self._supplement(oc, openid, text=text, attachments=[att], what=what)
        await self.state.add_pending(openid, attachment=att, window_s=self.window_s)
        return f"已收到{what}。" + NEED_TEXT

    async def _query(self, openid: str, ticket_no: str | None) -> str:
        tickets = await self.port.recent_tickets(openid=openid, limit=20 if ticket_no else 5)
        if ticket_no:
            tickets = [t for t in tickets if t.ticket_no.upper() == ticket_no.upper()]
            if not tickets:
                return f"未查询到您的工单 {ticket_no}，请核对工单号。"
        if not tickets:
            return "您暂时没有工单记录。直接发送文字描述问题即可反映。"
        lines = ["您的工单办理情况："]
        for t in tickets[:5]:
            cat = f"（{t.category}）" if t.category else ""
            lines.append(f"工单号 {t.ticket_no}{cat}：{t.status}" + (f"\n进度详情：{t.status_url}" if t.status_url else ""))
        return "\n".join(lines)

    async def _rate(self, openid: str, rating: str, ticket_no: str | None) -> str:
        rated = await self.port.record_rating(openid=openid, ticket_no=ticket_no, rating=rating)
        if rated:
            return f"感谢您的评价！已将“{rating}”记入工单 {rated}。"
        return "您目前没有待评价的工单。如需反映新问题，请直接发送文字描述。"
