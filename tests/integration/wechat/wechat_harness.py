"""Harness: the FastAPI app with the WeChat router, a fake port, the real Redis (db 15), and
wechatpy / werobot as independent peers that build pushes and check replies."""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from wechatpy.crypto import WeChatCrypto as WechatpyCrypto
from werobot.crypto import MessageCrypt

from services.intake.wechat import WeChatSettings, build_router
from services.intake.wechat.crypto import sha1_signature
from services.intake.wechat.fakes import FakeClock, InMemoryIntakePort
from services.intake.wechat.handler import CallbackHandler

REDIS_URL = "redis://127.0.0.1:6379/15"
TOKEN = "RugaoToken12319"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
APPID = "wx49f0ab532d5d035a"
MODES = ("plain", "compat", "safe")
PEERS = ("wechatpy", "werobot")
_msg_ids = itertools.count(6_000_000_000_000_000_000)  # > 2**53


def next_msg_id() -> str:
    return str(next(_msg_ids))


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    await client.ping()  # no skip: a missing Redis fails the run
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    p = f"test:wechat:{uuid.uuid4().hex}:"
    yield p
    keys = [k async for k in redis.scan_iter(match=p + "*", count=500)]
    if keys:
        await redis.delete(*keys)


def text_xml(content: str, openid: str = "oCitizenA", msg_id: str | None = None, ct: int | None = None) -> str:
    return _xml(openid, ct, "text", f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or next_msg_id()}</MsgId>")


def location_xml(openid: str = "oCitizenA", lat: float = 32.3712, lon: float = 120.5604,
                 label: str = "江苏省南通市如皋市白蒲镇兴业路", ct: int | None = None) -> str:
    return _xml(openid, ct, "location",
                f"<Location_X>{lat}</Location_X><Location_Y>{lon}</Location_Y><Scale>15</Scale>"
                f"<Label><![CDATA[{label}]]></Label><MsgId>{next_msg_id()}</MsgId>")


def image_xml(media: str = "media-1", openid: str = "oCitizenA", ct: int | None = None) -> str:
    return _xml(openid, ct, "image",
                f"<PicUrl><![CDATA[http://mmbiz.qpic.cn/{media}]]></PicUrl><MediaId><![CDATA[{media}]]></MediaId>"
                f"<MsgId>{next_msg_id()}</MsgId>")


def voice_xml(recognition: str, media: str = "voice-1", openid: str = "oCitizenA", ct: int | None = None) -> str:
    return _xml(openid, ct, "voice",
                f"<MediaId><![CDATA[{media}]]></MediaId><Format><![CDATA[amr]]></Format>"
                f"<Recognition><![CDATA[{recognition}]]></Recognition><MsgId>{next_msg_id()}</MsgId>")


def event_xml(event: str, key: str = "", openid: str = "oCitizenA", ct: int | None = None) -> str:
    extra = "<Latitude>32.37</Latitude><Longitude>120.56</Longitude><Precision>65</Precision>" if event == "LOCATION" else ""
    return _xml(openid, ct, "event", f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey>{extra}")


def _xml(openid: str, ct: int | None, kind: str, body: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_rugao12319]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{ct if ct is not None else int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[{kind}]]></MsgType>{body}</xml>"
    )


def _field(xml: str, name: str) -> str:
    node = ET.fromstring(xml).find(name)
    assert node is not None and node.text is not None, f"{name} missing in {xml!r}"
    return node.text


@dataclass
class Push:
    query: dict[str, str]
    body: bytes


def make_push(plain: str, mode: str, peer: str = "wechatpy", *, ts: int, nonce: str | None = None,
              token: str = TOKEN, appid: str = APPID) -> Push:
    """Build a push exactly as WeChat would, using the peer library for the crypto."""
    nonce = nonce or str(secrets.randbelow(10**9))
    q = {"signature": sha1_signature(token, str(ts), nonce), "timestamp": str(ts), "nonce": nonce,
         "openid": _field(plain, "FromUserName")}
    if mode == "plain":
        return Push(q, plain.encode())
    if peer == "wechatpy":
        enc_xml = WechatpyCrypto(token, AES_KEY, appid).encrypt_message(plain, nonce, str(ts))
    else:
        enc_xml = MessageCrypt(token, AES_KEY, appid).encrypt_message(plain, str(ts), nonce)
    encrypt, sig = _field(enc_xml, "Encrypt"), _field(enc_xml, "MsgSignature")
    q.update(encrypt_type="aes", msg_signature=sig)
    if mode == "safe":
        body = f"<xml><ToUserName><![CDATA[gh_rugao12319]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    else:  # compatible: plaintext fields plus Encrypt
        body = plain.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    return Push(q, body.encode())


def open_reply(resp: httpx.Response, mode: str, peer: str = "wechatpy") -> dict[str, str]:
    """Decrypt/verify the reply with the peer and parse it with the stdlib parser."""
    assert resp.status_code == 200, resp.text
    if resp.text == "success":
        return {}
    xml = resp.text
    if mode != "plain":
        ts, nonce, sig = _field(xml, "TimeStamp"), _field(xml, "Nonce"), _field(xml, "MsgSignature")
        if peer == "wechatpy":
            xml = WechatpyCrypto(TOKEN, AES_KEY, APPID).decrypt_message(xml, sig, ts, nonce)
        else:
            raw = MessageCrypt(TOKEN, AES_KEY, APPID).decrypt_message(ts, nonce, sig, _field(xml, "Encrypt"))
            xml = raw.decode() if isinstance(raw, bytes) else raw
    root = ET.fromstring(xml)
    return {child.tag: child.text or "" for child in root}


@dataclass
class Harness:
    client: httpx.AsyncClient
    port: InMemoryIntakePort
    handler: CallbackHandler
    clock: FakeClock
    redis: Redis
    prefix: str
    sent: list[Push] = field(default_factory=list)

    async def send(self, push: Push, **headers: str) -> httpx.Response:
        self.sent.append(push)
        return await self.client.post("/wechat/callback", params=push.query, content=push.body, headers=headers)

    async def push(self, plain: str, mode: str = "safe", peer: str = "wechatpy", *, ts: int | None = None) -> httpx.Response:
        return await self.send(make_push(plain, mode, peer, ts=int(self.clock()) if ts is None else ts))

    async def say(self, plain: str, mode: str = "safe", peer: str = "wechatpy") -> dict[str, str]:
        return open_reply(await self.push(plain, mode, peer), mode, peer)


HarnessFactory = Callable[..., Harness]


@pytest.fixture
async def make_harness(redis: Redis, prefix: str) -> AsyncIterator[HarnessFactory]:
    clients: list[httpx.AsyncClient] = []

    def factory(port: InMemoryIntakePort | None = None, clock: FakeClock | None = None,
                redis_client: Redis | None = None, **overrides: object) -> Harness:
        settings = WeChatSettings.model_validate(
            {"token": TOKEN, "encoding_aes_key": AES_KEY, "appid": APPID, "key_prefix": prefix, **overrides}
        )
        the_port = port or InMemoryIntakePort()
        the_clock = clock or FakeClock(time.time())
        the_redis = redis_client or redis
        router = build_router(settings, lambda: the_port, lambda: the_redis, clock=the_clock)
        app = FastAPI()
        app.include_router(router)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wechat.test")
        clients.append(client)
        handler: CallbackHandler = router.wechat_handler  # type: ignore[attr-defined]
        return Harness(client, the_port, handler, the_clock, redis, prefix)

    yield factory
    for c in clients:
        await c.aclose()


@pytest.fixture
def harness(make_harness: HarnessFactory) -> Harness:
    return make_harness()
