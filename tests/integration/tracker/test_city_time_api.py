"""What the API returns is in the city's time (+08:00) and its validation errors are Chinese; the database
and the events stay UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.integration.tracker.conftest import PHONE, Api, make_case

UTC_IN_BODY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|\+00:00)[\"<]")
LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?\+08:00[\"<]")


def assert_city_time(text: str) -> None:
    assert not UTC_IN_BODY.search(text), UTC_IN_BODY.search(text)
    assert LOCAL.search(text), text[:500]


def test_every_timestamp_of_a_case_is_at_plus_eight(api: Api) -> None:
    received = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)
    ticket = make_case(api.sessions, received_at=received)
    r = api.get("command", f"/api/v1/cases/{ticket}")
    assert r.status_code == 200
    case = r.json()
    assert case["received_at"] == "2026-11-26T09:30:00+08:00"
    assert case["accept_by"] == "2026-11-26T10:00:00+08:00" and case["resolve_by"] == "2026-11-26T13:30:00+08:00"
    assert all(h["at"].endswith("+08:00") for h in case["history"])
    assert_city_time(r.text)
    # inside, UTC as before: the same instant
    stored = api.case(ticket).received_at
    assert stored.replace(tzinfo=stored.tzinfo or UTC) == received
    for path in ("/api/v1/cases", f"/open311/v2/requests/{ticket}.json", f"/open311/v2/requests/{ticket}.xml"):
        listed = api.get("command", path)
        assert listed.status_code == 200, (path, listed.text)
        assert_city_time(listed.text)


def test_a_new_complaints_ticket_and_the_stats_are_at_plus_eight(api: Api) -> None:
    r = api.post("operator", "/api/v1/complaints", {"text": "白蒲镇唐堡村工地晚上还在打桩", "phone": PHONE},
                 **{"Idempotency-Key": f"tz-{datetime.now(UTC).timestamp()}"})
    assert r.status_code == 201, r.text
    at = datetime.fromisoformat(r.json()["received_at"])
    assert r.json()["received_at"].endswith("+08:00") and abs(datetime.now(UTC) - at) < timedelta(minutes=1)
    stats = api.get("command", "/api/v1/stats")
    assert stats.status_code == 200
    assert_city_time(stats.text)


def test_validation_errors_are_chinese_and_name_the_field(api: Api) -> None:
    r = api.post("operator", "/api/v1/complaints", {"text": "白蒲镇工地夜间施工", "category_override": "bad code"})
    assert r.status_code == 422
    body = r.json()
    assert "手机号（phone）：必填" in body["message"] and "类别（category_override）：格式不正确" in body["message"]
    assert {tuple(d["loc"]): d["type"] for d in body["detail"]} == {
        ("body", "phone"): "missing", ("body", "category_override"): "string_pattern_mismatch"}
    bad_query = api.get("command", "/api/v1/cases", limit=100000)
    assert bad_query.status_code == 422
    assert bad_query.json()["message"] == "请求参数有误：条数（limit）：不能大于 500"
    assert bad_query.json()["detail"][0]["loc"] == ["query", "limit"]
