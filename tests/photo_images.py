"""Real image files for the photo tests: a small JPEG (encoded by Chromium) and PNGs made with zlib."""

from __future__ import annotations

import base64
import os
import struct
import zlib

# 48x32, baseline JPEG written by Chromium's canvas.toDataURL("image/jpeg", 0.7)
JPEG_48x32 = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/4gHYSUNDX1BST0ZJTEUAAQEAAAHIAAAAAAQwAABtbnRyUkdCIFhZWiAH4AABAAEAAAAAAABhY3Nw"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAA9tYAAQAAAADTLQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAlkZXNjAAAA8AAAACRyWFlaAAABFAAAABRnWFlaAAABKAAAABRiWFlaAAABPAAAABR3dHB0AAABUAAAABRyVFJD"
    "AAABZAAAAChnVFJDAAABZAAAAChiVFJDAAABZAAAAChjcHJ0AAABjAAAADxtbHVjAAAAAAAAAAEAAAAMZW5VUwAAAAgAAAAcAHMAUgBH"
    "AEJYWVogAAAAAAAAb6IAADj1AAADkFhZWiAAAAAAAABimQAAt4UAABjaWFlaIAAAAAAAACSgAAAPhAAAts9YWVogAAAAAAAA9tYAAQAA"
    "AADTLXBhcmEAAAAAAAQAAAACZmYAAPKnAAANWQAAE9AAAApbAAAAAAAAAABtbHVjAAAAAAAAAAEAAAAMZW5VUwAAACAAAAAcAEcAbwBv"
    "AGcAbABlACAASQBuAGMALgAgADIAMAAxADb/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEEx"
    "NDk7Pj4+JS5ESUM8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7"
    "Ozs7Ozs7Ozv/wAARCAAgADADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAAAAYF/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/EABcB"
    "AAMBAAAAAAAAAAAAAAAAAAMFBgT/xAAlEQAAAwQLAAAAAAAAAAAAAAAAERIBAwVhFBUWISIxQVFjouL/2gAMAwEAAhEDEQA/AMYFGSvH"
    "iCuFDF4vVqMClHqWRSbuJwUYFSJBHa7h7eROANQuAUacAnjtZXhHF4RWSMaUnoeZTZsKMTgFR5hHZHm6+gAahcD/2Q==")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, seed: int = 0) -> bytes:
    """An RGB PNG with a gradient (so it is a real picture a browser decodes, not a blank)."""
    base = bytearray(3 * width)
    base[0::3] = bytes(x * 255 // max(1, width - 1) for x in range(width))
    base[2::3] = bytes((x + seed) % 256 for x in range(width))
    rows = bytearray()
    for y in range(height):
        base[1::3] = bytes([(y * 255 // max(1, height - 1) + seed) % 256]) * width
        rows += b"\x00" + base  # filter byte: none
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + _chunk(b"IEND", b""))


def noisy_png(width: int, height: int) -> bytes:
    """An RGB PNG of random pixels: its JPEG stays large, so an upload takes a while on a throttled line."""
    rows = b"".join(b"\x00" + os.urandom(3 * width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(rows, 1)) + _chunk(b"IEND", b""))
