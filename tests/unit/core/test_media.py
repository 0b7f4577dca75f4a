"""The state of an attachment's stored copy, as pure functions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from services.core import media
from services.core.media import MediaState

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SHA = hashlib.sha256(b"photo").hexdigest()
PHOTO = {"kind": "image", "media_id": "m1", "url": "http://mmbiz.qpic.cn/m1"}


@pytest.mark.parametrize(("attachment", "state"), [
    (PHOTO, MediaState.PENDING),
    ({"kind": "voice", "media_id": "v1", "url": None}, MediaState.PENDING),
    ({"kind": "link", "media_id": None, "url": "https://x.cn"}, MediaState.NONE),
    ({"kind": "image", "media_id": None, "url": "https://open311/photo.jpg"}, MediaState.NONE),
    ({**PHOTO, "media_state": "expired"}, MediaState.EXPIRED),
    ({**PHOTO, "media_state": "too_large"}, MediaState.TOO_LARGE),
    ({**PHOTO, "media_state": "bogus"}, MediaState.PENDING),
    ({**PHOTO, "sha256": SHA}, MediaState.STORED),
])
def test_state_of(attachment: dict[str, object], state: MediaState) -> None:
    assert media.state_of(attachment) == state
    assert media.needs_fetch(attachment) == (state == MediaState.PENDING)


def test_stored_keeps_the_attachment_and_adds_the_copy() -> None:
    out = media.stored({**PHOTO, "media_state": "pending"}, sha256=SHA, size=5, content_type="image/jpeg",
                       fetched_at=NOW)
    assert out == {**PHOTO, "sha256": SHA, "size": 5, "content_type": "image/jpeg", "fetched_at": NOW.isoformat()}
    assert media.state_of(out) == MediaState.STORED
    with pytest.raises(ValueError):
        media.stored(PHOTO, sha256="../../etc/passwd", size=1, content_type="image/jpeg", fetched_at=NOW)


def test_given_up_is_final() -> None:
    out = media.given_up(PHOTO, MediaState.EXPIRED, NOW, "errcode 40007 invalid media_id")
    assert media.state_of(out) == MediaState.EXPIRED and not media.needs_fetch(out)
    assert out["media_error"] == "errcode 40007 invalid media_id" and out["url"] == PHOTO["url"]
    with pytest.raises(ValueError):
        media.given_up(PHOTO, MediaState.PENDING, NOW, "no")


def test_too_old_after_three_days() -> None:
    assert not media.too_old(NOW - timedelta(days=2, hours=23), NOW)
    assert media.too_old(NOW - timedelta(days=3), NOW)


@pytest.mark.parametrize(("header", "served"), [
    ("image/jpeg", ("image/jpeg", True)),
    ("IMAGE/PNG; charset=binary", ("image/png", True)),
    ("audio/amr", ("audio/amr", True)),
    ("text/html", ("application/octet-stream", False)),
    ("image/svg+xml", ("application/octet-stream", False)),  # could carry script
    (None, ("application/octet-stream", False)),
    ("garbage", ("application/octet-stream", False)),
])
def test_only_media_types_are_served_inline(header: str | None, served: tuple[str, bool]) -> None:
    assert media.served_type(header) == served
