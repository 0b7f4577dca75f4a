"""Every rejection: right 4xx, never a 500, the port never called, nothing stored."""

from __future__ import annotations

import base64
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from redis.asyncio import Redis
from wechat_harness import (
    AES_KEY,
    APPID,
    MODES,
    PEERS,
    TOKEN,
    Harness,
    HarnessFactory,
    Push,
    make_push,
    open_reply,
    text_xml,
)

from services.intake.wechat.crypto import decode_aes_key, msg_signature, pkcs7_pad, sha1_signature

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]><xml><ToUserName>gh</ToUserName><FromUserName>oX</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>oX</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)
PARAM_ENTITY = '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><xml/>'


async def assert_untouched(h: Harness) -> None:
    assert h.port.create_calls == 0 and h.port.supplement_calls == 0 and not h.port.complaints
    stored = [k async for k in h.redis.scan_iter(match=h.prefix + "*")]
    assert stored == []


def _now(h: Harness) -> int:
    return int(h.clock())


@pytest.mark.parametrize("mode", MODES)
async def test_bad_signature(harness: Harness, mode: str) -> None:
    push = make_push(text_xml("x"), mode, ts=_now(harness))
    push.query["signature"] = "0" * 40
    assert (await harness.send(push)).status_code == 403
    del push.query["signature"]
    assert (await harness.send(push)).status_code == 403
    await assert_untouched(harness)


@pytest.mark.parametrize("mode", ["compat", "safe"])
@pytest.mark.parametrize("peer", PEERS)
async def test_bad_msg_signature(harness: Harness, mode: str, peer: str) -> None:
    push = make_push(text_xml("x"), mode, peer, ts=_now(harness))
    push.query["msg_signature"] = "f" * 40
    assert (await harness.send(push)).status_code == 403
    del push.query["msg_signature"]
    assert (await harness.send(push)).status_code == 403
    await assert_untouched(harness)


async def test_encrypt_swapped_between_pushes_fails_msg_signature(harness: Harness) -> None:
    a = make_push(text_xml("a"), "safe", ts=_now(harness), nonce="111")
    b = make_push(text_xml("b"), "safe", ts=_now(harness), nonce="222")
    a.body = b.body  # valid ciphertext, but not the one signed for this query
    assert (await harness.send(a)).status_code == 403
    await assert_untouched(harness)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("offset", [-301, 301, -86400])
async def test_stale_timestamp(harness: Harness, mode: str, offset: int) -> None:
    resp = await harness.push(text_xml("x"), mode, ts=_now(harness) + offset)
    assert resp.status_code == 403
    await assert_untouched(harness)


@pytest.mark.parametrize("mode", MODES)
async def test_identical_retry_after_the_window_gets_the_cached_reply(harness: Harness, mode: str) -> None:
    push = make_push(text_xml("如城街道路面塌陷"), mode, ts=_now(harness))
    first = open_reply(await harness.send(push), mode)
    harness.clock.advance(3600)
    again = await harness.send(push)
    assert again.status_code == 200
    second = open_reply(again, mode)
    assert first == second and "RG00000001" in second["Content"]
    assert harness.port.create_calls == 1
    # but a new message with the same stale timestamp is refused
    stale_new = make_push(text_xml("新的问题"), mode, ts=int(push.query["timestamp"]))
    assert (await harness.send(stale_new)).status_code == 403
    assert harness.port.create_calls == 1


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("mode", ["compat", "safe"])
async def test_wrong_appid(harness: Harness, peer: str, mode: str) -> None:
    push = make_push(text_xml("x"), mode, peer, ts=_now(harness), appid="wx0000000000000000")
    assert (await harness.send(push)).status_code == 400
    await assert_untouched(harness)


def _signed_encrypt(h: Harness, raw: bytes) -> Push:
    key = decode_aes_key(AES_KEY)
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    encrypt = base64.b64encode(enc.update(raw) + enc.finalize()).decode()
    ts, nonce = str(_now(h)), "987654"
    q = {"signature": sha1_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
         "encrypt_type": "aes", "msg_signature": msg_signature(TOKEN, ts, nonce, encrypt)}
    return Push(q, f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode())


@pytest.mark.parametrize(
    "raw",
    [
        os.urandom(63) + b"\x00",  # pad value 0
        os.urandom(63) + b"\x21",  # pad value 33 > 32
        os.urandom(60) + b"\x01\x02\x03\x04",  # inconsistent pad bytes
        pkcs7_pad(os.urandom(16) + struct.pack(">I", 9999) + b"<xml/>" + APPID.encode()),  # length lies
    ],
    ids=["pad0", "pad33", "inconsistent", "length-lies"],
)
async def test_bad_padding_or_framing(harness: Harness, raw: bytes) -> None:
    resp = await harness.send(_signed_encrypt(harness, raw))
    assert resp.status_code == 400
    await assert_untouched(harness)


async def test_not_base64_and_missing_encrypt(harness: Harness) -> None:
    push = make_push(text_xml("x"), "safe", ts=_now(harness))
    push.body = b"<xml><ToUserName>gh</ToUserName></xml>"
    assert (await harness.send(push)).status_code == 400
    p2 = _signed_encrypt(harness, pkcs7_pad(b"x"))
    p2.body = p2.body.replace(b"<![CDATA[", b"<![CDATA[%%%")
    assert (await harness.send(p2)).status_code in (400, 403)
    await assert_untouched(harness)


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE, PARAM_ENTITY])
@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_doctype_entity_attacks(harness: Harness, payload: str, mode: str) -> None:
    if mode == "plain":
        push = make_push(text_xml("x"), "plain", ts=_now(harness))
        push.body = payload.encode()
    else:  # the attack inside a correctly encrypted and signed payload
        key = decode_aes_key(AES_KEY)
        raw = os.urandom(16) + struct.pack(">I", len(payload.encode())) + payload.encode() + APPID.encode()
        push = _signed_encrypt(harness, pkcs7_pad(raw))
        assert key
    resp = await harness.send(push)
    assert resp.status_code == 400
    await assert_untouched(harness)


async def test_oversized_body(harness: Harness) -> None:
    push = make_push(text_xml("x" * 70_000), "plain", ts=_now(harness))
    assert (await harness.send(push)).status_code == 413

    async def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: streamed
        for _ in range(100):
            yield b"<!-- " + b"y" * 1000 + b" -->"

    resp = await harness.client.post("/wechat/callback", params=push.query, content=chunks())
    assert resp.status_code == 413
    await assert_untouched(harness)


@pytest.mark.parametrize(
    "body",
    [b"<xml><a>", b"plain text", b"", b"<notxml/>", b'{"json": 1}', b"<xml><MsgType>text</MsgType></xml>",
     b"<xml><FromUserName>o</FromUserName><CreateTime>now</CreateTime><MsgType>text</MsgType></xml>"],
)
async def test_malformed(harness: Harness, body: bytes) -> None:
    push = make_push(text_xml("x"), "plain", ts=_now(harness))
    push.body = body
    assert (await harness.send(push)).status_code == 400
    await assert_untouched(harness)


async def test_plaintext_refused_when_encryption_required(make_harness: HarnessFactory) -> None:
    h = make_harness(require_encryption=True)
    assert (await h.push(text_xml("x"), "plain")).status_code == 403
    assert (await h.push(text_xml("如城街道"), "safe")).status_code == 200


async def test_aes_push_without_key_configured(make_harness: HarnessFactory) -> None:
    h = make_harness(encoding_aes_key=None)
    assert (await h.push(text_xml("x"), "safe")).status_code == 400
    await assert_untouched(h)


async def test_redis_down_is_not_a_500(make_harness: HarnessFactory) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    h = make_harness(redis_client=dead)
    resp = await h.push(text_xml("如城街道路灯不亮"), "safe")
    assert resp.status_code == 200
    assert "系统繁忙" in open_reply(resp, "safe")["Content"]
    await dead.aclose()
