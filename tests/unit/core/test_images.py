"""What an uploaded photo really is, read from its bytes (services/core/images.py)."""

from __future__ import annotations

import struct

import pytest

from services.core.images import PNG_SIGNATURE, ImageInfo, ImageRejected, sniff
from tests.photo_images import JPEG_48x32, _chunk, png


def webp(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_jpeg_and_png_are_read_from_their_headers() -> None:
    assert sniff(JPEG_48x32) == ImageInfo("image/jpeg", 48, 32)
    assert sniff(png(300, 200)) == ImageInfo("image/png", 300, 200)
    assert sniff(JPEG_48x32 + b"trailing data a phone appended") == ImageInfo("image/jpeg", 48, 32)


def test_webp_of_each_kind() -> None:
    vp8x = webp(b"VP8X", b"\x00\x00\x00\x00" + (1599).to_bytes(3, "little") + (1199).to_bytes(3, "little"))
    assert sniff(vp8x) == ImageInfo("image/webp", 1600, 1200)
    bits = (640 - 1) | ((480 - 1) << 14)
    vp8l = webp(b"VP8L", b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 8)
    assert sniff(vp8l) == ImageInfo("image/webp", 640, 480)
    vp8 = webp(b"VP8 ", b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", 320, 240) + b"\x00" * 8)
    assert sniff(vp8) == ImageInfo("image/webp", 320, 240)


@pytest.mark.parametrize(("content", "message"), [
    (b"<html><body>hi</body></html>", "不是可识别的图片"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "不是可识别的图片"),
    (b"GIF89a" + b"\x00" * 20, "不是可识别的图片"),
    (b"", "不是可识别的图片"),
    (JPEG_48x32[:400], "已损坏或不完整"),  # cut before its end
    (JPEG_48x32[:2] + b"\xff\xda" + JPEG_48x32[4:], "已损坏或不完整"),  # scan before any frame header
    (png(10, 10)[:-12], "已损坏或不完整"),  # no IEND
    (png(10, 10)[:29] + b"\x00\x00\x00\x00" + png(10, 10)[33:], "已损坏或不完整"),  # IHDR CRC wrong
    (webp(b"VP8X", b"\x00" * 10)[:-4], "已损坏或不完整"),  # shorter than its RIFF size
])
def test_what_is_not_a_whole_photo_is_refused_in_chinese(content: bytes, message: str) -> None:
    with pytest.raises(ImageRejected, match=message):
        sniff(content)


def test_absurd_sizes_are_refused() -> None:
    with pytest.raises(ImageRejected, match="尺寸不合理"):
        sniff(PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
              + _chunk(b"IEND", b""))
