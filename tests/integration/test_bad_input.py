"""Bad input through the API (real Tansu, PostgreSQL/SQLite, Redis): refused with a Chinese message
and nothing stored, or accepted and routed to the command centre with the reason."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as sync_redis
from sqlalchemy import func, select

from services.core import quality
from services.core.loader import DEFAULT_CONFIG_ROOT
from services.core.quality import Issue
from services.platform.db import make_engine, make_sessionmaker
from services.platform.embedded import EmbeddedProcess
from services.tracker.models import Case, IntakeRecord
from tests.conftest import ADMIN_TOKEN
from tests.e2e.test_pipeline import wait_routed
from tests.integration.test_intake import make_client, topic_records, wait_connected

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BODY = {"channel": "hotline", "phone": "13812345678"}

REFUSED = [  # (text, code)
    ("", "text_blank"),
    ("   ", "text_blank"),
    ("\u3000\n\t\u3000", "text_blank"),
    ("\u200b\u200b\ufeff", "text_blank"),
    ("字" * 4001, "text_too_long"),
    ("白蒲镇唐堡村工地晚上还在打桩，" * 1334, "text_too_long"),  # 20,010 characters
    ("a" * 20_000, "text_too_long"),
]
HELD = [  # (text, issue): accepted, routed to the command centre with the reason
    ("😡😡😡👎👎", Issue.NO_WORDS),
    ("The street lamp outside my house on Baipu road has been broken for two weeks", Issue.NOT_CHINESE),
    ("如城街道花园社区\n白蒲镇唐堡村\n东陈镇\n丁堰镇林梓社区\n江安镇", Issue.ADDRESS_LIST),
    ("你好，在吗？", Issue.NOT_COMPLAINT),
]
TRADITIONAL = "白蒲鎮唐堡村工地晚上還在打樁，噪音太大，吵得睡不著覺"


def counts(database_url: str) -> tuple[int, int]:
    with make_sessionmaker(make_engine(database_url))() as s:
        return (int(s.scalar(select(func.count()).select_from(IntakeRecord)) or 0),
                int(s.scalar(select(func.count()).select_from(Case)) or 0))


def assert_refused(r: httpx.Response, code: str) -> None:
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert [(e["loc"], e["type"]) for e in detail] == [(["body", "text"], code)], detail
    msg = detail[0]["msg"]
    assert "投诉内容" in msg
    assert ("不能为空" in msg) if code == "text_blank" else ("过长" in msg and "最多 4000 个字" in msg)


def test_refused_text_stores_nothing(tansu: EmbeddedProcess, database_url: str, redis_url: str,
                                     redis_prefix: str) -> None:
    before = len(topic_records(tansu.url))
    with make_client(tansu.url, database_url, redis_url, redis_prefix) as client:
        wait_connected(client)
        for i, (text, code) in enumerate(REFUSED):
            r = client.post("/api/v1/complaints", json={**BODY, "text": text},
                            headers={**AUTH, "Idempotency-Key": f"bad-{i}"})
            assert_refused(r, code)
        # 20,000 emoji are 80 kB: the body guard refuses them before they are read (Chinese, no crash)
        r = client.post("/api/v1/complaints", json={**BODY, "text": "😡" * 20_000}, headers=AUTH)
        assert r.status_code == 413 and "请求体过大" in r.json()["detail"]
    assert counts(database_url) == (0, 0)
    assert len(topic_records(tansu.url)) == before
    r = sync_redis.Redis.from_url(redis_url)
    assert [k for k in r.scan_iter(f"{redis_prefix}idem:*")] == []


def test_open311_refuses_blank_and_long_descriptions(tansu: EmbeddedProcess, sqlite_url: str, redis_url: str,
                                                     redis_prefix: str) -> None:
    form = {"service_code": "STREET_VENDING", "address_string": "如城街道花园社区", "api_key": ADMIN_TOKEN}
    before = len(topic_records(tansu.url))
    with make_client(tansu.url, sqlite_url, redis_url, redis_prefix) as client:
        wait_connected(client)
        for text, code in REFUSED[:5]:
            r = client.post("/open311/v2/requests.json", data={**form, "description": text})
            assert r.status_code == 400, r.text
            description = r.json()[0]["description"]
            assert "description" in description and code in description
            assert ("不能为空" in description) if code == "text_blank" else ("最多 4000 个字" in description)
    assert counts(sqlite_url) == (0, 0)
    assert len(topic_records(tansu.url)) == before


def _dispatched(case: dict[str, Any]) -> dict[str, Any]:
    found = [e["data"] for e in case["history"] if e["type"] == "dispatched"]
    assert len(found) == 1, case["history"]
    return dict(found[0])


def test_bad_input_is_routed_to_the_command_centre_with_the_reason(stack_factory: Any, pg_url: str) -> None:
    stack = stack_factory(pg_url)
    api = f"{stack.base_url}"
    for text, code in REFUSED[:5]:
        assert_refused(httpx.post(f"{api}/api/v1/complaints", json={**BODY, "text": text}, headers=stack.headers,
                                  timeout=10), code)
    tickets: dict[str, Issue | None] = {}
    for text, issue in HELD:
        r = httpx.post(f"{api}/api/v1/complaints", json={**BODY, "text": text}, headers=stack.headers, timeout=10)
        assert r.status_code == 201, r.text
        tickets[r.json()["ticket_no"]] = issue
    # the address field does not make emoji a complaint
    r = httpx.post(f"{api}/api/v1/complaints", json={**BODY, "text": "😡😡😡", "address": "如城街道花园社区"},
                   headers=stack.headers, timeout=10)
    assert r.status_code == 201, r.text
    tickets[r.json()["ticket_no"]] = Issue.NO_WORDS
    r = httpx.post(f"{api}/open311/v2/requests.json", timeout=10,
                   data={"service_code": "STREET_VENDING", "description": "👍👍👍", "address_string": "如城街道花园社区",
                         "api_key": stack.env["COMPLAINTS_ADMIN_TOKEN"]})
    assert r.status_code == 201, r.text
    tickets[r.json()[0]["service_request_id"]] = Issue.NO_WORDS
    r = httpx.post(f"{api}/api/v1/complaints", json={**BODY, "text": TRADITIONAL}, headers=stack.headers, timeout=10)
    assert r.status_code == 201, r.text
    traditional = r.json()["ticket_no"]
    tickets[traditional] = None

    for ticket, issue in tickets.items():
        case = wait_routed(api, stack.headers, ticket)
        routed = _dispatched(case)
        if issue is None:  # traditional characters: classified and located like simplified ones
            assert case["text"] == TRADITIONAL
            assert (case["category"], case["territory_name"]) == ("NOISE_CONSTRUCTION", "白蒲镇"), case
            assert case["unit"] != "COMMAND_CENTER"
            assert not any(x.startswith(quality.REASON_PREFIX) for x in routed["review_reasons"])
            continue
        assert case["unit"] == "COMMAND_CENTER", (ticket, issue, case["unit"])
        assert case["review"] is True
        assert routed["review_reasons"][0] == quality.reason(issue), routed
        assert quality.LABELS[issue] in routed["review_reasons"][0]   # Chinese, for the command centre
    deadline = time.monotonic() + 10
    while counts(pg_url) != (len(tickets), len(tickets)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert counts(pg_url) == (len(tickets), len(tickets))    # nothing of the refused ones


@pytest.mark.parametrize("text", ["😡😡😡", "hello there", "你好，在吗？"])
def test_suggestions_show_the_reason_to_the_operator(tansu: EmbeddedProcess, sqlite_url: str, redis_url: str,
                                                    redis_prefix: str, text: str) -> None:
    with make_client(tansu.url, sqlite_url, redis_url, redis_prefix) as client:
        r = client.post("/api/v1/suggest", json={"text": text}, headers=AUTH)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["unit"]["id"] == "COMMAND_CENTER"
        assert body["review_reasons"][0].startswith(quality.REASON_PREFIX)


def test_the_city_limit_is_the_one_applied(tansu: EmbeddedProcess, sqlite_url: str, redis_url: str,
                                           redis_prefix: str, tmp_path: Path) -> None:
    """A city that allows less than the event contract: its limit, in the same Chinese 422 body."""
    root = tmp_path / "cities"
    shutil.copytree(DEFAULT_CONFIG_ROOT / "rugao", root / "rugao")
    city_yaml = root / "rugao" / "city.yaml"
    city_yaml.write_text(city_yaml.read_text(encoding="utf-8").replace("max_text_chars: 4000", "max_text_chars: 500"),
                         encoding="utf-8")
    with make_client(tansu.url, sqlite_url, redis_url, redis_prefix, config_root=root) as client:
        wait_connected(client)
        r = client.post("/api/v1/complaints", json={**BODY, "text": "路" * 501}, headers=AUTH)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert [(e["loc"], e["type"]) for e in detail] == [(["body", "text"], "text_too_long")]
        assert "最多 500 个字" in detail[0]["msg"] and "501" in detail[0]["msg"]
        r = client.post("/open311/v2/requests.json", data={"service_code": "STREET_VENDING", "description": "路" * 501,
                                                           "address_string": "如城街道花园社区", "api_key": ADMIN_TOKEN})
        assert r.status_code == 400 and "最多 500 个字" in r.json()[0]["description"]
        assert client.post("/api/v1/complaints", json={**BODY, "text": "白蒲镇工地打桩" + "路" * 400},
                           headers=AUTH).status_code == 201
    assert counts(sqlite_url) == (1, 0)
