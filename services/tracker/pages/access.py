"""Who may open which page, the login cookie and the security headers of the pages."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import Request

from services.tracker.auth import Authenticator, Principal, Role, bearer

# package data of services.tracker.pages (a plain folder in an editable checkout and an installed wheel)
HERE = Path(str(files("services.tracker.pages")))
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
COOKIE = "c12319_token"
COOKIE_MAX_AGE_S = 12 * 3600

# page -> (title, roles allowed)
PAGES: dict[str, tuple[str, frozenset[Role]]] = {
    "console": ("接线台", frozenset({Role.OPERATOR, Role.COMMAND, Role.ADMIN})),
    "squad": ("中队工单", frozenset({Role.SQUAD, Role.COMMAND, Role.ADMIN})),
    "dashboard": ("指挥中心", frozenset({Role.COMMAND, Role.ADMIN})),
    "wall": ("指挥大屏", frozenset({Role.COMMAND, Role.ADMIN})),
}
HOME: dict[Role, str] = {Role.OPERATOR: "/console", Role.SQUAD: "/squad", Role.COMMAND: "/dashboard",
                         Role.ADMIN: "/dashboard"}
ROLE_NAMES: dict[Role, str] = {Role.OPERATOR: "接线员", Role.SQUAD: "中队队员", Role.COMMAND: "指挥中心",
                               Role.ADMIN: "管理员"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def page_principal(request: Request) -> Principal | None:
    """The logged-in user of a page request (cookie or Bearer), or None.  Blocking (may read the DB)."""
    token = bearer(request)
    if not token:
        return None
    auth: Authenticator = request.app.state.auth
    return auth.authenticate(token)


def allowed_pages(principal: Principal) -> list[tuple[str, str]]:
    """(path, title) of the pages this user may open, in menu order."""
    return [(f"/{name}", title) for name, (title, roles) in PAGES.items() if principal.role in roles]


def safe_next(target: str | None) -> str | None:
    """Only a local page path is a valid redirect target after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target if target.strip("/").split("?")[0] in PAGES else None
