"""Safe parsing of WeChat push XML, typed messages, dedupe keys and passive replies."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_XML_BYTES = 64 * 1024
MAX_FIELDS = 64
MAX_REPLY_BYTES = 2000  # WeChat caps passive text replies at 2048 bytes

_FORBIDDEN_MARKUP = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# characters that are not allowed in XML 1.0
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class XmlRejected(ValueError):
    """The body is not acceptable XML (malformed, DOCTYPE/ENTITY, too large, wrong shape)."""


class MessageError(ValueError):
    """The XML parsed but is not a usable WeChat message."""


def parse_xml(body: bytes, max_bytes: int = MAX_XML_BYTES) -> dict[str, str]:
    """Parse ``<xml><Field>value</Field>...</xml>`` into a flat dict of the direct children.

    DTDs, entity declarations and external references are forbidden (XXE,
    billion laughs); nested elements are ignored (their text is not read).
    """
    if len(body) > max_bytes:
        raise XmlRejected("body too large")
    if not body.strip():
        raise XmlRejected("empty body")
    if _FORBIDDEN_MARKUP.search(body):
        raise XmlRejected("DOCTYPE/ENTITY not allowed")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise XmlRejected(f"malformed XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise XmlRejected("root element must be <xml>")
    fields: dict[str, str] = {}
    for i, child in enumerate(root):
        if i >= MAX_FIELDS:
            raise XmlRejected("too many fields")
        if isinstance(child.tag, str) and child.tag not in fields:
            fields[child.tag] = (child.text or "").strip()
    return fields


@dataclass(frozen=True, slots=True)
class BaseMessage:
    to_user: str
    from_user: str  # the citizen's OpenID
    create_time: int
    msg_type: str
    msg_id: str | None  # 64-bit: kept as a string


@dataclass(frozen=True, slots=True)
class TextMessage(BaseMessage):
    content: str


@dataclass(frozen=True, slots=True)
class ImageMessage(BaseMessage):
    pic_url: str | None
    media_id: str | None


@dataclass(frozen=True, slots=True)
class VoiceMessage(BaseMessage):
    media_id: str | None
    format: str | None
    recognition: str | None


@dataclass(frozen=True, slots=True)
class LocationMessage(BaseMessage):
    lat: float  # Location_X
    lon: float  # Location_Y
    scale: str | None
    label: str | None


@dataclass(frozen=True, slots=True)
class LinkMessage(BaseMessage):
    title: str | None
    description: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class EventMessage(BaseMessage):
    event: str
    event_key: str | None
    ticket: str | None
    latitude: float | None
    longitude: float | None
    precision: float | None


@dataclass(frozen=True, slots=True)
class UnknownMessage(BaseMessage):
    pass


Message = (
    TextMessage
    | ImageMessage
    | VoiceMessage
    | LocationMessage
    | LinkMessage
    | EventMessage
    | UnknownMessage
)


def _opt(fields: dict[str, str], name: str) -> str | None:
    value = fields.get(name)
    return value if value else None


def _float(fields: dict[str, str], name: str, required: bool = False) -> float | None:
    value = fields.get(name)
    if not value:
        if required:
            raise MessageError(f"missing {name}")
        return None
    try:
        f = float(value)
    except ValueError as exc:
        raise MessageError(f"{name} is not a number") from exc
    if f != f or f in (float("inf"), float("-inf")):
        raise MessageError(f"{name} is not finite")
    return f


def parse_message(fields: dict[str, str]) -> Message:
    """Turn the flat XML fields into a typed message (raises :class:`MessageError`)."""
    from_user = fields.get("FromUserName", "")
    to_user = fields.get("ToUserName", "")
    msg_type = fields.get("MsgType", "").lower()
    if not from_user or not msg_type:
        raise MessageError("FromUserName and MsgType are required")
    if len(from_user) > 128 or len(to_user) > 128:
        raise MessageError("user name too long")
    ct = fields.get("CreateTime", "")
    if not ct.isdigit() or len(ct) > 12:
        raise MessageError("CreateTime must be an integer")
    msg_id = fields.get("MsgId") or None
    if msg_id is not None and (not msg_id.isdigit() or len(msg_id) > 20):
        raise MessageError("MsgId must be an integer")
    base = (to_user, from_user, int(ct), msg_type, msg_id)
    if msg_type == "text":
        return TextMessage(*base, content=fields.get("Content", ""))
    if msg_type == "image":
        return ImageMessage(*base, pic_url=_opt(fields, "PicUrl"), media_id=_opt(fields, "MediaId"))
    if msg_type == "voice":
        return VoiceMessage(
            *base,
            media_id=_opt(fields, "MediaId"),
            format=_opt(fields, "Format"),
            recognition=_opt(fields, "Recognition"),
        )
    if msg_type == "location":
        lat = _float(fields, "Location_X", required=True)
        lon = _float(fields, "Location_Y", required=True)
        assert lat is not None and lon is not None
        return LocationMessage(
            *base, lat=lat, lon=lon, scale=_opt(fields, "Scale"), label=_opt(fields, "Label")
        )
    if msg_type == "link":
        return LinkMessage(
            *base, title=_opt(fields, "Title"), description=_opt(fields, "Description"), url=_opt(fields, "Url")
        )
    if msg_type == "event":
        event = fields.get("Event", "")
        if not event:
            raise MessageError("event without Event")
        return EventMessage(
            *base,
            event=event,
            event_key=_opt(fields, "EventKey"),
            ticket=_opt(fields, "Ticket"),
            latitude=_float(fields, "Latitude"),
            longitude=_float(fields, "Longitude"),
            precision=_float(fields, "Precision"),
        )
    return UnknownMessage(*base)


def dedupe_key(msg: Message) -> str:
    """MsgId, or for events FromUserName + CreateTime + Event + EventKey."""
    if isinstance(msg, EventMessage):
        return f"evt:{msg.from_user}:{msg.create_time}:{msg.event}:{msg.event_key or ''}"
    if msg.msg_id:
        return f"msg:{msg.msg_id}"
    return f"nomsgid:{msg.from_user}:{msg.create_time}:{msg.msg_type}"


def message_fingerprint(msg: Message) -> str:
    """SHA-256 of what the message says (issue 16): the same for every retry of one message.  The
    push's CreateTime is left out: a retry that carries a later one is the same message."""
    fields = {k: v for k, v in asdict(msg).items() if k != "create_time"}
    canonical = json.dumps({"type": type(msg).__name__, **fields}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def conflict_text(dedupe: str) -> str:
    """The 409 answer for a dedupe key that names another message."""
    return (f"MsgId「{dedupe.removeprefix('msg:')}」已用于另一条内容不同的消息，本条消息未受理"
            f"（dedupe key {dedupe}: a message with different content was received under it）")


def cdata(text: str) -> str:
    """Wrap text in CDATA, splitting any ``]]>`` so it cannot close the section early."""
    clean = _XML_INVALID.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def truncate_utf8(text: str, max_bytes: int = MAX_REPLY_BYTES) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"


def build_text_reply(msg: BaseMessage, content: str, now: int) -> str:
    """Passive text reply: To/From swapped, content in CDATA."""
    return (
        "<xml>"
        f"<ToUserName>{cdata(msg.from_user)}</ToUserName>"
        f"<FromUserName>{cdata(msg.to_user)}</FromUserName>"
        f"<CreateTime>{int(now)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(truncate_utf8(content))}</Content>"
        "</xml>"
    )
