"""The dashboard's correction-rate panel in a real browser: a case routed, corrected by the command
centre through the API, then shown per day x category with the model version in use."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_pages_flow import LAPTOP, login, users
from tests.e2e.test_pipeline import TEXT, wait_routed

pytestmark = pytest.mark.browser


def test_dashboard_shows_the_correction_rate(browser: Browser, stack_factory: Any, sqlite_url: str,
                                             artifacts: Path) -> None:
    stack = stack_factory(sqlite_url)
    tokens = users(sqlite_url)
    command = {"Authorization": f"Bearer {tokens['command']}"}
    tickets = []
    for i in range(2):
        r = httpx.post(f"{stack.base_url}/api/v1/complaints", json={"channel": "hotline", "text": f"{TEXT}（{i}）",
                                                                     "phone": "13812345678"},
                       headers={**stack.headers, "Idempotency-Key": f"panel-{i}"}, timeout=10)
        assert r.status_code == 201, r.text
        tickets.append(r.json()["ticket_no"])
    cases = [wait_routed(stack.base_url, stack.headers, t) for t in tickets]
    assert cases[0]["category"] == "NOISE_CONSTRUCTION"
    r = httpx.post(f"{stack.base_url}/api/v1/cases/{tickets[0]}/reassign", headers=command, timeout=10,
                   json={"unit": "SQ_BAIPU", "category": "CONSTRUCTION_SAFETY"})
    assert r.status_code == 200, r.text

    errors: list[str] = []
    dash = login(browser, stack.base_url, tokens["command"], LAPTOP, errors)
    expect(dash).to_have_url(re.compile(r"/dashboard$"))
    row = dash.locator("#corrections table.corrections tbody tr", has_text="建筑施工噪声")
    expect(row).to_be_visible(timeout=15000)
    expect(row.locator("td").nth(1)).to_have_text("1/2")
    expect(row.locator("td").last).to_have_text("50.0%")
    expect(dash.locator("#corrections-model")).to_have_text(f"当前模型 {cases[0]['model_version']}")
    dash.locator("#corrections").scroll_into_view_if_needed()
    dash.screenshot(path=str(artifacts / "dashboard_corrections.png"), full_page=True)
    assert not [e for e in errors if "favicon" not in e], errors
