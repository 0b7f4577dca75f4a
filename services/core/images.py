"""What an uploaded photo really is, read from its bytes (the declared Content-Type is not trusted).

Pure: no I/O.  JPEG, PNG and WebP are accepted; the format and the pixel size are read from the
file's own headers, so a renamed HTML/SVG page, a truncated PNG or a JPEG without a frame header
is refused before anything is stored.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAX_SIDE = 12000  # pixels; larger is no phone photo
MAX_PIXELS = 50_000_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG frame headers (SOF0-3, 5-7, 9-11, 13-15): they carry the height and width
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class ImageRejected(ValueError):
    """Not an acceptable image; ``str()`` is the Chinese message for the user."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def sniff(content: bytes) -> ImageInfo:
    """The image's real type and size, or ImageRejected."""
    if content.startswith(b"\xff\xd8\xff"):
        width, height = _jpeg_size(content)
        kind = "image/jpeg"
    elif content.startswith(PNG_SIGNATURE):
        width, height = _png_size(content)
        kind = "image/png"
    elif len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        width, height = _webp_size(content)
        kind = "image/webp"
    else:
        raise ImageRejected("文件不是可识别的图片（仅支持 JPEG、PNG、WebP 照片）")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise ImageRejected(f"图片尺寸不合理（{width}×{height} 像素）")
    return ImageInfo(kind, width, height)


def _broken(kind: str) -> ImageRejected:
    return ImageRejected(f"图片文件已损坏或不完整（{kind}），请重新拍摄或选择")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    n = len(data)
    while i < n:
        if data[i] != 0xFF:
            raise _broken("JPEG")
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            break
        marker = data[i]
        i += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            break
        if i + 2 > n:
            break
        (length,) = struct.unpack(">H", data[i:i + 2])
        if length < 2 or i + length > n:
            break
        if marker in _SOF:
            if length < 7:
                break
            height, width = struct.unpack(">HH", data[i + 3:i + 7])
            if not _has_eoi(data):
                break
            return width, height
        i += length
    raise _broken("JPEG")


def _has_eoi(data: bytes) -> bool:
    """A complete JPEG ends with EOI (phones may append a little data after it)."""
    return b"\xff\xd9" in data[-65536:]


def _png_size(data: bytes) -> tuple[int, int]:
    head = data[8:33]
    if len(head) < 25 or head[4:8] != b"IHDR":
        raise _broken("PNG")
    (length,) = struct.unpack(">I", head[:4])
    (crc,) = struct.unpack(">I", head[21:25])
    if length != 13 or zlib.crc32(head[4:21]) != crc:
        raise _broken("PNG")
    if data[-12:-4] != b"\x00\x00\x00\x00IEND":  # truncated: the end chunk is missing
        raise _broken("PNG")
    width, height = struct.unpack(">II", head[8:16])
    return width, height


def _webp_size(data: bytes) -> tuple[int, int]:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 > len(data) or len(data) < 30:
        raise _broken("WebP")
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise _broken("WebP")
