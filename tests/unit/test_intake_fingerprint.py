"""The fingerprint an idempotency key is bound to: the request's content, not who filed it or when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from services.core.events import Attachment, Channel, ComplaintReceived, GeoPoint
from services.intake.service import content_fingerprint


def event(**kw: object) -> ComplaintReceived:
    base: dict[str, object] = {"event_id": "recv-1", "complaint_id": "c-1", "ticket_no": "RG20261126000001",
                               "city": "rugao", "channel": Channel.HOTLINE, "text": "花园社区门口有人占道摆摊",
                               "phone": "13812345678", "received_at": datetime(2026, 11, 26, tzinfo=UTC)}
    return ComplaintReceived.model_validate({**base, **kw})


def test_content_counts_and_bookkeeping_does_not() -> None:
    fp = content_fingerprint(event())
    assert fp == content_fingerprint(event(complaint_id="c-2", ticket_no="RG20261126000002", event_id="recv-2",
                                           received_at=datetime(2026, 11, 27, tzinfo=UTC), submitted_by="op:1"))
    for change in ({"text": "花园社区门口有人占道摆摊卖水果"}, {"phone": "13900001111"}, {"name": "王女士"},
                   {"unit_override": "SQ_BAIPU"}, {"location": GeoPoint(lat=32.37, lon=120.56)},
                   {"attachments": [Attachment(kind="image", url="https://img.example/a.jpg")]}):
        assert content_fingerprint(event(**change)) != fp, change


def test_the_same_instant_in_another_offset_is_the_same_request() -> None:
    at = datetime(2026, 11, 26, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    assert content_fingerprint(event(reported_at=at)) == content_fingerprint(event(reported_at=at.astimezone(UTC)))


def test_wechat_context_is_left_out() -> None:
    # location and photos sent before the text come from the conversation, not from the message
    wechat = {"channel": Channel.WECHAT, "citizen_id": "oCitizenA", "phone": None}
    fp = content_fingerprint(event(**wechat))
    assert fp == content_fingerprint(event(**wechat, location=GeoPoint(lat=32.37, lon=120.56)))
    assert fp != content_fingerprint(event(**{**wechat, "citizen_id": "oCitizenB"}))
