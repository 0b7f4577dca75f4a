"""Known-answer vectors and independent-peer round trips for the crypto layer."""

from __future__ import annotations

import base64
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.crypto import PrpCrypto as WechatpyPrp
from wechatpy.crypto import WeChatCrypto as WechatpyCrypto
from werobot.crypto import MessageCrypt
from werobot.crypto import PrpCrypto as WerobotPrp

from services.intake.wechat.crypto import (
    InvalidAppIdError,
    InvalidCiphertextError,
    InvalidKeyError,
    InvalidPaddingError,
    InvalidSignatureError,
    WeChatCrypto,
    check_msg_signature,
    check_signature,
    decode_aes_key,
    decrypt_payload,
    encrypt_payload,
    msg_signature,
    pkcs7_pad,
    pkcs7_unpad,
    sha1_signature,
)

VEC_TOKEN = "123456"
VEC_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
VEC_APPID = "wx49f0ab532d5d035a"
VEC_SIG = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
VEC_TS = "1411525903"
VEC_NONCE = "461056294"
VEC_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv"
    "283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvk"
    "KR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdg"
    "pkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnT"
    "bcX2e8K9QaNWHp91eBdCRxthuL0="
)


def test_handshake_known_answer() -> None:
    sig = "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert sha1_signature("AAAAA", "1714036504", "1514711492") == sig
    assert check_signature("AAAAA", sig, "1714036504", "1514711492")
    assert check_signature("AAAAA", sig.upper(), "1714036504", "1514711492")
    assert not check_signature("AAAAA", sig, "1714036505", "1514711492")
    assert not check_signature("AAAAB", sig, "1714036504", "1514711492")
    assert not check_signature("AAAAA", None, "1714036504", "1514711492")
    assert not check_signature("AAAAA", sig, None, "1514711492")
    assert not check_signature("", sig, "1714036504", "1514711492")


def test_fixed_ciphertext_vector_decrypts_to_test() -> None:
    assert msg_signature(VEC_TOKEN, VEC_TS, VEC_NONCE, VEC_ENCRYPT) == VEC_SIG
    assert check_msg_signature(VEC_TOKEN, VEC_SIG, VEC_TS, VEC_NONCE, VEC_ENCRYPT)
    c = WeChatCrypto(VEC_TOKEN, VEC_KEY, VEC_APPID)
    plain = c.decrypt_message(VEC_ENCRYPT, VEC_SIG, VEC_TS, VEC_NONCE).decode()
    assert "<Content><![CDATA[test]]></Content>" in plain
    assert "<MsgId>4363689963896700987</MsgId>" in plain


def test_fixed_vector_rejections() -> None:
    c = WeChatCrypto(VEC_TOKEN, VEC_KEY, VEC_APPID)
    with pytest.raises(InvalidSignatureError):
        c.decrypt_message(VEC_ENCRYPT, VEC_SIG, VEC_TS, "461056295")
    with pytest.raises(InvalidAppIdError):
        WeChatCrypto(VEC_TOKEN, VEC_KEY, "wx0000000000000000").decrypt(VEC_ENCRYPT)


@pytest.mark.parametrize("n", range(0, 70))
def test_pkcs7_block_32_every_length(n: int) -> None:
    data = os.urandom(n)
    padded = pkcs7_pad(data)
    assert len(padded) % 32 == 0 and 1 <= padded[-1] <= 32
    assert pkcs7_unpad(padded) == data


@pytest.mark.parametrize(
    "bad", [b"", b"a" * 31 + b"\x00", b"a" * 31 + b"\x21", b"a" * 28 + b"\x01\x02\x03\x04", b"\x05\x05"]
)
def test_pkcs7_rejects_bad_padding(bad: bytes) -> None:
    with pytest.raises(InvalidPaddingError):
        pkcs7_unpad(bad)


@pytest.mark.parametrize("length", [0, 1, 11, 12, 13, 27, 28, 29, 43, 44, 45, 100, 1000])
def test_roundtrip_with_wechatpy_and_werobot(length: int) -> None:
    """Lengths around the 32-byte boundaries: a 16-byte unpadder would fail on half of them."""
    key = decode_aes_key(VEC_KEY)
    msg = ("测" * length)[: length // 3] + "x" * (length - 3 * (length // 3))
    ours = encrypt_payload(key, VEC_APPID, msg.encode())
    assert _text(WechatpyPrp(key).decrypt(ours, VEC_APPID)) == msg
    assert _text(WerobotPrp(key).decrypt(ours, VEC_APPID)) == msg
    for theirs in (WechatpyPrp(key).encrypt(msg, VEC_APPID), WerobotPrp(key).encrypt(msg, VEC_APPID)):
        got, appid = decrypt_payload(key, theirs.decode() if isinstance(theirs, bytes) else theirs)
        assert (got.decode(), appid) == (msg, VEC_APPID)


def test_encrypt_message_verified_by_peers() -> None:
    c = WeChatCrypto(VEC_TOKEN, VEC_KEY, VEC_APPID)
    reply = "<xml><Content><![CDATA[您好 ]]]]><![CDATA[> ok]]></Content></xml>"
    out = c.encrypt_message(reply, nonce="abc123", timestamp="1700000000")
    assert WechatpyCrypto(VEC_TOKEN, VEC_KEY, VEC_APPID).decrypt_message(
        out, _field(out, "MsgSignature"), "1700000000", "abc123"
    ) == reply
    mc = MessageCrypt(VEC_TOKEN, VEC_KEY, VEC_APPID)
    assert mc.decrypt_message("1700000000", "abc123", _field(out, "MsgSignature"), _field(out, "Encrypt")).decode() == reply


def test_encrypt_message_sanitises_nonce() -> None:
    c = WeChatCrypto(VEC_TOKEN, VEC_KEY, VEC_APPID)
    out = c.encrypt_message("x", nonce="]]><evil/>", timestamp="1700000000")
    assert "evil" not in out


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _field(xml: str, name: str) -> str:
    start = xml.index(f"<{name}>") + len(name) + 2
    value = xml[start : xml.index(f"</{name}>")]
    return value.removeprefix("<![CDATA[").removesuffix("]]>")


def _raw_encrypt(key: bytes, raw: bytes) -> str:
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode()


def test_decrypt_rejects_malformed_payloads() -> None:
    key = decode_aes_key(VEC_KEY)
    c = WeChatCrypto(VEC_TOKEN, VEC_KEY, VEC_APPID)
    with pytest.raises(InvalidCiphertextError):
        c.decrypt("not base64 !!")
    with pytest.raises(InvalidCiphertextError):
        c.decrypt(base64.b64encode(b"x" * 20).decode())  # not whole AES blocks
    with pytest.raises(InvalidPaddingError):
        c.decrypt(_raw_encrypt(key, os.urandom(31) + b"\x00"))
    with pytest.raises(InvalidPaddingError):
        c.decrypt(_raw_encrypt(key, os.urandom(28) + b"\x01\x02\x03\x04"))
    lying = os.urandom(16) + struct.pack(">I", 5000) + b"<xml/>" + VEC_APPID.encode()
    with pytest.raises(InvalidCiphertextError):
        c.decrypt(_raw_encrypt(key, pkcs7_pad(lying)))
    with pytest.raises(InvalidCiphertextError):
        c.decrypt(_raw_encrypt(key, pkcs7_pad(b"short")))


def test_bad_key_rejected() -> None:
    with pytest.raises(InvalidKeyError):
        decode_aes_key("short")
    with pytest.raises(InvalidKeyError):
        decode_aes_key("!" * 43)
