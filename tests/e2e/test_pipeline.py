"""POST a complaint over HTTP and read it back as a routed case, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import httpx

TEXT = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着"


def wait_routed(base: str, headers: dict[str, str], ticket: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        r = httpx.get(f"{base}/api/v1/cases/{ticket}", headers=headers, timeout=5)
        last = r
        if r.status_code == 200 and r.json()["status"] == "dispatched":
            return dict(r.json())
        time.sleep(0.1)
    raise AssertionError(f"case {ticket} not routed in {timeout_s}s: {last.status_code if last else None} {last.text if last else ''}")


def test_complaint_is_routed_end_to_end(stack_factory: Any, database_url: str) -> None:
    stack = stack_factory(database_url)
    body = {"channel": "hotline", "text": TEXT, "phone": "13812345678", "name": "王女士"}
    r = httpx.post(f"{stack.base_url}/api/v1/complaints", json=body, headers={**stack.headers, "Idempotency-Key": "e2e-1"},
                   timeout=10)
    assert r.status_code == 201, r.text
    ticket = r.json()["ticket_no"]
    assert ticket.startswith("RG") and len(ticket) == 16
    case = wait_routed(stack.base_url, stack.headers, ticket)
    assert case["category"] == "NOISE_CONSTRUCTION"
    assert case["territory"] == "320682105"
    assert case["unit"] == "SQ_BAIPU"
    assert case["accept_by"] < case["resolve_by"]
    assert [h["type"] for h in case["history"]] == ["received", "dispatched"]
    assert len(case["category_candidates"]) >= 2
    # the same Idempotency-Key gives the same ticket and no second case
    again = httpx.post(f"{stack.base_url}/api/v1/complaints", json=body,
                       headers={**stack.headers, "Idempotency-Key": "e2e-1"}, timeout=10)
    assert again.status_code == 200 and again.json()["ticket_no"] == ticket and again.json()["replayed"] is True
    assert again.headers["Idempotent-Replay"] == "true"
    queue = httpx.get(f"{stack.base_url}/api/v1/units/SQ_BAIPU/cases", headers=stack.headers, timeout=5).json()
    assert [c["ticket_no"] for c in queue["cases"]] == [ticket]
    deadline = time.monotonic() + 20
    while (health := httpx.get(f"{stack.base_url}/healthz", timeout=5)).status_code != 200:
        assert time.monotonic() < deadline, health.text
        time.sleep(0.5)
    assert set(health.json()["checks"]) == {"broker", "database", "redis", "worker", "tracker"}
