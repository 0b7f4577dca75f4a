"""WeChat Official Account message crypto: signatures and AES-256-CBC (safe mode).

Pure functions plus a small :class:`WeChatCrypto` bound to one account.  Only
``hashlib``/``hmac`` and ``cryptography`` are used.

Encrypted payload layout (before padding)::

    random(16) | msg_len (4 bytes, big-endian) | msg | appid

padded with PKCS#7 to a multiple of **32** bytes (pad values 1..32), encrypted
with AES-256-CBC, key = base64decode(EncodingAESKey + "="), IV = key[:16].
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_SIZE = 32
_RANDOM_LEN = 16
_LEN_LEN = 4


class WeChatCryptoError(ValueError):
    """Base class of every crypto rejection."""


class InvalidSignatureError(WeChatCryptoError):
    """signature or msg_signature does not match."""


class InvalidPaddingError(WeChatCryptoError):
    """PKCS#7 padding (block 32) is malformed."""


class InvalidCiphertextError(WeChatCryptoError):
    """The Encrypt text is not valid base64 / not a whole number of AES blocks / truncated."""


class InvalidAppIdError(WeChatCryptoError):
    """The decrypted payload names another appid."""


class InvalidKeyError(WeChatCryptoError):
    """The EncodingAESKey does not decode to 32 bytes."""


def sha1_signature(*parts: str) -> str:
    """sha1 hex of the parts sorted lexicographically and concatenated (WeChat's scheme)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def check_signature(token: str, signature: str | None, timestamp: str | None, nonce: str | None) -> bool:
    """GET handshake and POST ``signature``: sha1(sort(token, timestamp, nonce))."""
    if not (token and signature and timestamp and nonce):
        return False
    return _same(sha1_signature(token, timestamp, nonce), signature.lower())


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """Safe-mode ``msg_signature``: sha1(sort(token, timestamp, nonce, Encrypt))."""
    return sha1_signature(token, timestamp, nonce, encrypt)


def check_msg_signature(
    token: str, signature: str | None, timestamp: str | None, nonce: str | None, encrypt: str
) -> bool:
    if not (token and signature and timestamp and nonce and encrypt):
        return False
    return _same(msg_signature(token, timestamp, nonce, encrypt), signature.lower())


def pkcs7_pad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    n = block_size - len(data) % block_size
    return data + bytes([n]) * n


def pkcs7_unpad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    """Strict PKCS#7 removal: pad value 1..block_size and every pad byte equal."""
    if not data:
        raise InvalidPaddingError("empty plaintext")
    n = data[-1]
    if n < 1 or n > block_size or n > len(data):
        raise InvalidPaddingError("pad value out of range")
    if data[-n:] != bytes([n]) * n:
        raise InvalidPaddingError("inconsistent pad bytes")
    return data[:-n]


def decode_aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise InvalidKeyError("EncodingAESKey must have 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKeyError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise InvalidKeyError("EncodingAESKey must decode to 32 bytes")
    return key


def encrypt_payload(key: bytes, appid: str, message: bytes, random_prefix: bytes | None = None) -> str:
    """Encrypt ``message`` for ``appid``; returns the base64 ``Encrypt`` text."""
    prefix = random_prefix if random_prefix is not None else os.urandom(_RANDOM_LEN)
    if len(prefix) != _RANDOM_LEN:
        raise ValueError("random prefix must be 16 bytes")
    raw = prefix + struct.pack(">I", len(message)) + message + appid.encode("utf-8")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    ct = encryptor.update(pkcs7_pad(raw)) + encryptor.finalize()
    return base64.b64encode(ct).decode("ascii")


def decrypt_payload(key: bytes, encrypt: str) -> tuple[bytes, str]:
    """Decrypt an ``Encrypt`` text; returns (message bytes, appid found in the payload)."""
    try:
        ct = base64.b64decode(encrypt.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCiphertextError("Encrypt is not base64") from exc
    if not ct or len(ct) % 16:
        raise InvalidCiphertextError("ciphertext is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    raw = pkcs7_unpad(decryptor.update(ct) + decryptor.finalize())
    if len(raw) < _RANDOM_LEN + _LEN_LEN:
        raise InvalidCiphertextError("payload too short")
    (msg_len,) = struct.unpack(">I", raw[_RANDOM_LEN : _RANDOM_LEN + _LEN_LEN])
    start = _RANDOM_LEN + _LEN_LEN
    if start + msg_len > len(raw):
        raise InvalidCiphertextError("declared length exceeds payload")
    try:
        appid = raw[start + msg_len :].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidAppIdError("appid is not UTF-8") from exc
    return raw[start : start + msg_len], appid


def encrypted_reply_xml(encrypt: str, signature: str, timestamp: str, nonce: str) -> str:
    # encrypt is base64, signature hex, timestamp digits; nonce is echoed from the request,
    # so keep it to a safe alphabet before putting it inside CDATA.
    return (
        "<xml><Encrypt><![CDATA[" + encrypt + "]]></Encrypt>"
        "<MsgSignature><![CDATA[" + signature + "]]></MsgSignature>"
        "<TimeStamp>" + timestamp + "</TimeStamp>"
        "<Nonce><![CDATA[" + nonce + "]]></Nonce></xml>"
    )


def _safe_nonce(nonce: str | None) -> str:
    if nonce and len(nonce) <= 64 and nonce.isascii() and nonce.isalnum():
        return nonce
    return base64.b32encode(os.urandom(5)).decode("ascii").lower()


class WeChatCrypto:
    """Crypto bound to one Official Account (token, EncodingAESKey, appid)."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        self.token = token
        self.key = decode_aes_key(encoding_aes_key)
        self.appid = appid

    def check_signature(self, signature: str | None, timestamp: str | None, nonce: str | None) -> bool:
        return check_signature(self.token, signature, timestamp, nonce)

    def encrypt(self, message: bytes | str) -> str:
        data = message.encode("utf-8") if isinstance(message, str) else message
        return encrypt_payload(self.key, self.appid, data)

    def decrypt(self, encrypt: str) -> bytes:
        """Decrypt and check the appid (raises :class:`InvalidAppIdError`)."""
        message, appid = decrypt_payload(self.key, encrypt)
        if not hmac.compare_digest(appid.encode("utf-8"), self.appid.encode("utf-8")):
            raise InvalidAppIdError("appid mismatch")
        return message

    def decrypt_message(
        self, encrypt: str, msg_signature: str | None, timestamp: str | None, nonce: str | None
    ) -> bytes:
        """Check ``msg_signature`` then decrypt (safe / compatible mode push)."""
        if not check_msg_signature(self.token, msg_signature, timestamp, nonce, encrypt):
            raise InvalidSignatureError("bad msg_signature")
        return self.decrypt(encrypt)

    def encrypt_message(self, reply: str, nonce: str | None = None, timestamp: str | None = None) -> str:
        """Encrypt a reply plaintext into ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
        ts = timestamp if timestamp and timestamp.isdigit() else str(int(time.time()))
        nc = _safe_nonce(nonce)
        enc = self.encrypt(reply)
        return encrypted_reply_xml(enc, msg_signature(self.token, ts, nc, enc), ts, nc)
