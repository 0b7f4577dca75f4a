"""Citizens' photos and voice messages: the media-store port and the state of an attachment's copy.

WeChat keeps a medium (``MediaId``) for three days only, so the tracker downloads it and
keeps a copy in a ``MediaStore``.  The outcome is written into the attachment itself (the
case's ``attachments`` JSON): ``sha256``/``size``/``content_type``/``fetched_at`` once stored,
or ``media_state`` when it never will be.  Pure: no I/O here.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
WECHAT_MEDIA_TTL = timedelta(days=3)
# Served inline as they are; anything else is sent as an opaque download (no HTML/SVG from our origin).
INLINE_TYPES = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp",
    "audio/amr", "audio/mpeg", "audio/mp3", "audio/speex", "audio/x-speex", "audio/wav", "audio/ogg",
})
FETCHABLE_KINDS = frozenset({"image", "voice"})


class MediaState(StrEnum):
    NONE = "none"  # nothing to fetch (a link, or no media id)
    PENDING = "pending"  # not stored yet
    STORED = "stored"
    EXPIRED = "expired"  # WeChat no longer has it (40007, or older than its three days)
    TOO_LARGE = "too_large"  # refused: larger than the size limit


FINAL_STATES = frozenset({MediaState.EXPIRED, MediaState.TOO_LARGE})


@runtime_checkable
class MediaStore(Protocol):
    """Content-addressed blobs: the key of a blob is the SHA-256 of its bytes (hex)."""

    def put(self, content: bytes) -> str:
        """Store ``content`` (atomically; storing the same bytes twice keeps one copy); returns its sha256."""
        ...

    def get(self, sha256: str) -> bytes | None:
        """The bytes stored under ``sha256``, or None."""
        ...


def state_of(attachment: dict[str, Any]) -> MediaState:
    if attachment.get("sha256"):
        return MediaState.STORED
    if attachment.get("kind") not in FETCHABLE_KINDS or not attachment.get("media_id"):
        return MediaState.NONE
    try:
        return MediaState(attachment.get("media_state") or MediaState.PENDING)
    except ValueError:
        return MediaState.PENDING


def needs_fetch(attachment: dict[str, Any]) -> bool:
    return state_of(attachment) == MediaState.PENDING


def any_to_fetch(attachments: list[Any] | None) -> bool:
    """Whether any of a case's attachments still waits for its copy."""
    return any(isinstance(a, dict) and needs_fetch(a) for a in attachments or [])


def too_old(sent_at: datetime, now: datetime, ttl: timedelta = WECHAT_MEDIA_TTL) -> bool:
    """WeChat has dropped a medium sent this long ago."""
    return now - sent_at >= ttl


def stored(attachment: dict[str, Any], *, sha256: str, size: int, content_type: str,
           fetched_at: datetime) -> dict[str, Any]:
    """The attachment with its stored copy recorded."""
    if not SHA256_HEX.match(sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    out = {k: v for k, v in attachment.items() if k != "media_state"}
    return {**out, "sha256": sha256, "size": size, "content_type": content_type,
            "fetched_at": fetched_at.isoformat()}


def given_up(attachment: dict[str, Any], state: MediaState, at: datetime, reason: str) -> dict[str, Any]:
    """The attachment marked as never to be fetched (expired or too large)."""
    if state not in FINAL_STATES:
        raise ValueError(f"{state} is not a final state")
    return {**attachment, "media_state": state.value, "media_checked_at": at.isoformat(),
            "media_error": reason[:200]}


def bare_content_type(header: str | None) -> str:
    """``image/jpeg; charset=...`` -> ``image/jpeg``; missing -> application/octet-stream."""
    value = (header or "").split(";", 1)[0].strip().lower()
    return value if re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", value) else "application/octet-stream"


def served_type(content_type: str | None) -> tuple[str, bool]:
    """(Content-Type to send, whether to show it inline) for a stored content type."""
    bare = bare_content_type(content_type)
    return (bare, True) if bare in INLINE_TYPES else ("application/octet-stream", False)
