"""Open311 POST with an Idempotency-Key bound to the request body (issue 16): same body → the request filed
before (200, Idempotent-Replay); another body → 409 in the spec's error format naming the key."""

from __future__ import annotations

import time
from xml.etree import ElementTree as ET

from sqlalchemy import func, select

from services.tracker.models import IntakeRecord
from tests.integration.tracker.conftest import Api
from tests.integration.tracker.test_open311 import POST


def rows(api: Api) -> int:
    with api.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(IntakeRecord)) or 0)


def test_open311_key_replays_the_same_body_and_refuses_another(api: Api) -> None:
    key = f"o311-{time.time_ns()}"
    form = {**POST, "api_key": api.tokens["operator"]}
    first = api.client.post("/open311/v2/requests.json", data=form, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    ticket = first.json()[0]["service_request_id"]
    assert "Idempotent-Replay" not in first.headers

    again = api.client.post("/open311/v2/requests.json", data=form, headers={"Idempotency-Key": key})
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replay"] == "true"
    assert again.json()[0]["service_request_id"] == ticket

    other = api.client.post("/open311/v2/requests.json", data={**form, "description": "花园社区门口有人焚烧垃圾冒黑烟"},
                            headers={"Idempotency-Key": key})
    assert other.status_code == 409, other.text
    [error] = other.json()
    assert error["code"] == 409 and key in error["description"] and "内容不同" in error["description"]
    xml = api.client.post("/open311/v2/requests.xml", data={**form, "lat": "32.3800"}, headers={"Idempotency-Key": key})
    root = ET.fromstring(xml.content)
    assert xml.status_code == 409 and root.findtext("error/code") == "409"
    assert key in (root.findtext("error/description") or "")
    assert rows(api) == 1
