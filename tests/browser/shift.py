"""What the scripted shifts (tests/browser/test_shift_*.py) share: a logged-in page that records its
script errors, numbered screenshots under tests/artifacts/shift/<role>/, and the staff API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, ViewportSize

from tests.browser.test_pages_flow import login


class Shift:
    """One role's shift: its page(s), the screenshots it keeps and the errors its pages raised."""

    def __init__(self, role: str, browser: Browser, base: str, artifacts: Path) -> None:
        self.role, self.browser, self.base = role, browser, base
        self.folder = artifacts / "shift" / role
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.errors: list[str] = []
        self.shots: list[Path] = []

    def login(self, token: str, viewport: ViewportSize) -> Page:
        return login(self.browser, self.base, token, viewport, self.errors)

    def shot(self, page: Page, name: str, full_page: bool = True) -> None:
        path = self.folder / f"{len(self.shots) + 1:02d}_{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.shots.append(path)

    def script_errors(self, allowed: tuple[str, ...] = ()) -> list[str]:
        """Errors the pages raised, without the favicon and the ``allowed`` (expected) ones."""
        return [e for e in self.errors if "favicon" not in e and not any(a in e for a in allowed)]


def api(base: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A staff API call that must succeed."""
    r = httpx.request(method, base + path, json=body, timeout=15, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
    out: dict[str, Any] = r.json()
    return out
