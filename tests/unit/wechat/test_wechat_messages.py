"""Safe XML parsing, typed messages, dedupe keys and passive replies."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from services.intake.wechat.messages import (
    EventMessage,
    ImageMessage,
    LinkMessage,
    LocationMessage,
    MessageError,
    TextMessage,
    UnknownMessage,
    VoiceMessage,
    XmlRejected,
    build_text_reply,
    cdata,
    dedupe_key,
    parse_message,
    parse_xml,
)

HEAD = (
    "<ToUserName><![CDATA[gh_rugao]]></ToUserName><FromUserName><![CDATA[oCitizen1]]></FromUserName>"
    "<CreateTime>1714036504</CreateTime>"
)


def xml(body: str) -> bytes:
    return f"<xml>{HEAD}{body}</xml>".encode()


def test_text_with_64bit_msgid() -> None:
    msg = parse_message(parse_xml(xml("<MsgType>text</MsgType><Content><![CDATA[路灯不亮]]></Content><MsgId>9223372036854775807</MsgId>")))
    assert isinstance(msg, TextMessage)
    assert msg.content == "路灯不亮" and msg.msg_id == "9223372036854775807"
    assert msg.from_user == "oCitizen1" and msg.to_user == "gh_rugao" and msg.create_time == 1714036504
    assert dedupe_key(msg) == "msg:9223372036854775807"


def test_all_message_types() -> None:
    img = parse_message(parse_xml(xml("<MsgType>image</MsgType><PicUrl>http://p/1.jpg</PicUrl><MediaId>m1</MediaId><MsgId>1</MsgId>")))
    assert isinstance(img, ImageMessage) and img.media_id == "m1" and img.pic_url == "http://p/1.jpg"
    voice = parse_message(parse_xml(xml("<MsgType>voice</MsgType><MediaId>v1</MediaId><Format>amr</Format><Recognition></Recognition><MsgId>2</MsgId>")))
    assert isinstance(voice, VoiceMessage) and voice.recognition is None and voice.format == "amr"
    loc = parse_message(parse_xml(xml(
        "<MsgType>location</MsgType><Location_X>32.3712</Location_X><Location_Y>120.5604</Location_Y>"
        "<Scale>15</Scale><Label><![CDATA[江苏省南通市如皋市白蒲镇]]></Label><MsgId>3</MsgId>")))
    assert isinstance(loc, LocationMessage)
    assert (loc.lat, loc.lon, loc.label) == (32.3712, 120.5604, "江苏省南通市如皋市白蒲镇")
    link = parse_message(parse_xml(xml("<MsgType>link</MsgType><Title>t</Title><Description>d</Description><Url>http://u</Url><MsgId>4</MsgId>")))
    assert isinstance(link, LinkMessage) and link.url == "http://u"
    ev = parse_message(parse_xml(xml("<MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_1</EventKey><Ticket>T</Ticket>")))
    assert isinstance(ev, EventMessage) and ev.event == "subscribe" and ev.event_key == "qrscene_1" and ev.msg_id is None
    lev = parse_message(parse_xml(xml("<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>32.1</Latitude><Longitude>120.5</Longitude><Precision>30</Precision>")))
    assert isinstance(lev, EventMessage) and lev.latitude == 32.1 and lev.precision == 30.0
    video = parse_message(parse_xml(xml("<MsgType>video</MsgType><MediaId>x</MediaId><MsgId>5</MsgId>")))
    assert isinstance(video, UnknownMessage)


def test_event_dedupe_keys_do_not_collide_in_the_same_second() -> None:
    sub = parse_message(parse_xml(xml("<MsgType>event</MsgType><Event>subscribe</Event><EventKey></EventKey>")))
    loc = parse_message(parse_xml(xml("<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>1</Latitude><Longitude>2</Longitude>")))
    click_a = parse_message(parse_xml(xml("<MsgType>event</MsgType><Event>CLICK</Event><EventKey>A</EventKey>")))
    click_b = parse_message(parse_xml(xml("<MsgType>event</MsgType><Event>CLICK</Event><EventKey>B</EventKey>")))
    keys = {dedupe_key(m) for m in (sub, loc, click_a, click_b)}
    assert len(keys) == 4
    assert dedupe_key(sub) == "evt:oCitizen1:1714036504:subscribe:"


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>',
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b"<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]><xml><a>&lol3;</a></xml>",
        b'<!doctype xml SYSTEM "http://evil/x.dtd"><xml/>',
        b'<xml><!ENTITY x "y"></xml>',
        b"<xml><a>unclosed</xml>",
        b"not xml at all",
        b"",
        b"   ",
        b"<root><a>1</a></root>",
        b"<xml>" + b"<a>1</a>" * 100 + b"</xml>",
    ],
)
def test_rejected_xml(body: bytes) -> None:
    with pytest.raises(XmlRejected):
        parse_xml(body)


def test_size_limit() -> None:
    with pytest.raises(XmlRejected):
        parse_xml(b"<xml><a>" + b"x" * 70_000 + b"</a></xml>")


@pytest.mark.parametrize(
    "body",
    [
        "<MsgType>text</MsgType>",  # no FromUserName
        "<MsgType></MsgType>",
    ],
)
def test_rejected_messages(body: str) -> None:
    with pytest.raises(MessageError):
        parse_message(parse_xml(f"<xml><CreateTime>1</CreateTime>{body}</xml>".encode()))


@pytest.mark.parametrize(
    "body",
    [
        "<MsgType>location</MsgType><Location_X>abc</Location_X><Location_Y>1</Location_Y>",
        "<MsgType>location</MsgType><Location_X>nan</Location_X><Location_Y>1</Location_Y>",
        "<MsgType>text</MsgType><Content>x</Content><MsgId>12a</MsgId>",
        "<MsgType>event</MsgType>",
    ],
)
def test_rejected_fields(body: str) -> None:
    with pytest.raises(MessageError):
        parse_message(parse_xml(xml(body)))


def test_bad_create_time() -> None:
    with pytest.raises(MessageError):
        parse_message(parse_xml(b"<xml><FromUserName>o</FromUserName><CreateTime>x</CreateTime><MsgType>text</MsgType></xml>"))


@pytest.mark.parametrize("content", ["]]>", "a]]>b]]>c", "<b>&amp;</b>", "路灯]]]]>坏了", "x\x00y\x08z"])
def test_reply_cdata_is_safe(content: str) -> None:
    msg = parse_message(parse_xml(xml("<MsgType>text</MsgType><Content>q</Content><MsgId>1</MsgId>")))
    out = build_text_reply(msg, content, 1700000000)
    root = ET.fromstring(out)  # independent parser
    assert root.findtext("ToUserName") == "oCitizen1"
    assert root.findtext("FromUserName") == "gh_rugao"
    assert root.findtext("MsgType") == "text"
    assert root.findtext("CreateTime") == "1700000000"
    assert root.findtext("Content") == content.replace("\x00", "").replace("\x08", "")


def test_reply_truncated_to_wechat_limit() -> None:
    msg = parse_message(parse_xml(xml("<MsgType>text</MsgType><Content>q</Content><MsgId>1</MsgId>")))
    content = ET.fromstring(build_text_reply(msg, "工" * 3000, 1)).findtext("Content") or ""
    assert len(content.encode()) <= 2048


def test_cdata_split() -> None:
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"
