"""The HTML pages: /login, /logout, /console, /squad, /dashboard (shells; data comes from the API).

Every value put into the HTML is escaped; the page bodies are static templates; the
browser code renders API data with ``textContent`` only.  Pages carry a strict CSP.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
from functools import cache
from string import Template
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.tracker.auth import Principal
from services.tracker.pages.access import (
    COOKIE,
    COOKIE_MAX_AGE_S,
    HOME,
    PAGES,
    ROLE_NAMES,
    SECURITY_HEADERS,
    STATIC_DIR,
    TEMPLATE_DIR,
    allowed_pages,
    page_principal,
    safe_next,
)

router = APIRouter(include_in_schema=False)
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    303: {"description": "未登录：转到登录页"}, 403: {"description": "无权访问（HTML）"}}
MAX_LOGIN_BODY = 4096
SCRIPTS: dict[str, tuple[str, ...]] = {
    "login": ("login",),
    "console": ("common", "duplicates", "console"),
    "squad": ("common", "photos", "squad"),
    "dashboard": ("vendor/echarts.min", "common", "charts", "extension", "photos", "detail", "dashboard"),
    "wall": ("vendor/echarts.min", "common", "charts", "wall"),
}


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATE_DIR / name).read_text(encoding="utf-8"))


@cache
def asset_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC_DIR.rglob("*") if p.is_file()):  # sub-folders too (fonts/, vendor/)
        digest.update(path.relative_to(STATIC_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _html(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def render(request: Request, page: str, title: str, principal: Principal | None, body: str,
           status_code: int = 200, script: str | None = None) -> HTMLResponse:
    """The page in the layout; ``script`` is the page's own static JS (none on error pages)."""
    esc = html.escape
    v = asset_version()
    scripts = "".join(f'<script src="/static/{esc(name)}.js?v={v}"></script>' for name in SCRIPTS.get(script or "", ()))
    nav = ""
    user = ""
    if principal is not None:
        on = ' class="on" aria-current="page"'
        nav = "".join(f'<a href="{esc(path)}"{on if path == "/" + page else ""}>{esc(name)}</a>'
                      for path, name in allowed_pages(principal))
        units = request.app.state.core.city.units
        unit = units[principal.unit].name if principal.unit in units else principal.unit
        user = (f'<span class="who">{esc(principal.name)} · {esc(ROLE_NAMES[principal.role])}'
                f'{" · " + esc(unit) if unit else ""}</span>'
                '<form method="post" action="/logout" class="logout"><button type="submit">退出</button></form>')
    text = _template("layout.html").substitute(
        title=esc(title), page=esc(page), nav=nav, user=user, body=body, v=v, scripts=scripts,
        role=esc(principal.role.value if principal else ""), unit=esc(principal.unit or "" if principal else ""),
        name=esc(principal.name if principal else ""))
    return _html(text, status_code)


def _login_page(request: Request, error: str | None, next_path: str | None, status_code: int = 200) -> HTMLResponse:
    body = _template("login.html").substitute(
        error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
        next=html.escape(next_path or ""))
    return render(request, "login", "登录", None, body, status_code, script="login")


def _guard(request: Request, page: str) -> Response | Principal:
    principal = page_principal(request)
    if principal is None:
        return RedirectResponse(f"/login?next={quote('/' + page)}", status_code=303)
    title, roles = PAGES[page]
    if principal.role not in roles:
        links = "".join(f'<li><a href="{html.escape(p)}">{html.escape(t)}</a></li>' for p, t in allowed_pages(principal))
        body = f'<main class="narrow"><h1>无权访问「{html.escape(title)}」</h1><p>您的角色可以使用：</p><ul>{links}</ul></main>'
        return render(request, page, title, principal, body, 403)
    return principal


def _screen(request: Request, page: str) -> Response:
    outcome = _guard(request, page)
    if isinstance(outcome, Response):
        return outcome
    return render(request, page, PAGES[page][0], outcome, _template(f"{page}.html").substitute(v=asset_version()), script=page)


@router.get("/", response_class=RedirectResponse, status_code=303)
def root(request: Request) -> Response:
    principal = page_principal(request)
    return RedirectResponse(HOME[principal.role] if principal else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse, responses={303: {"description": "已登录：转到首页"}})
def login_form(request: Request, next: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    principal = page_principal(request)
    if principal is not None:
        return RedirectResponse(safe_next(next) or HOME[principal.role], status_code=303)
    return _login_page(request, None, safe_next(next))


@router.post("/login", response_class=HTMLResponse,
             responses={303: {"description": "登录成功：转到页面"}, 401: {"description": "令牌无效"}})
async def login(request: Request) -> Response:
    raw = await request.body()
    form = parse_qs(raw[:MAX_LOGIN_BODY].decode("utf-8", errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    next_path = safe_next((form.get("next") or [""])[0])
    principal = await asyncio.to_thread(request.app.state.auth.authenticate, token) if token else None
    if principal is None:
        return _login_page(request, "令牌无效，请检查后重新输入" if token else "请输入令牌", next_path, 401)
    target = next_path if next_path and principal.role in PAGES[next_path.strip("/")][1] else HOME[principal.role]
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout", response_class=RedirectResponse, status_code=303)
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/console", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def console(request: Request) -> Response:
    return _screen(request, "console")


@router.get("/squad", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def squad(request: Request) -> Response:
    return _screen(request, "squad")


@router.get("/dashboard", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def dashboard(request: Request) -> Response:
    return _screen(request, "dashboard")


@router.get("/wall", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def wall(request: Request) -> Response:
    return _screen(request, "wall")
