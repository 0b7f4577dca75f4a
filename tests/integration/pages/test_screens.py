"""The HTML pages: login with an HttpOnly cookie, redirects, role checks, security headers, static files."""

from __future__ import annotations

import httpx

from tests.integration.pages.conftest import LiveApi


def login(api: LiveApi, token: str, next_path: str = "") -> httpx.Response:
    return httpx.post(api.url + "/login", content=f"token={token}&next={next_path}",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5)


def test_pages_redirect_to_login_and_login_sets_a_strict_cookie(api: LiveApi) -> None:
    for page in ("/console", "/squad", "/dashboard"):
        r = httpx.get(api.url + page, timeout=5)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={page}"
    form = httpx.get(api.url + "/login", timeout=5)
    assert form.status_code == 200 and 'name="token"' in form.text
    assert "default-src 'self'" in form.headers["content-security-policy"]
    bad = login(api, "nope")
    assert bad.status_code == 401 and "令牌无效" in bad.text and "c12319_token" not in bad.headers.get("set-cookie", "")
    ok = login(api, api.tokens["operator"], "/console")
    assert ok.status_code == 303 and ok.headers["location"] == "/console"
    cookie = ok.headers["set-cookie"].lower()
    assert "c12319_token=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    # an open redirect is refused: the user lands on the role's home page
    assert login(api, api.tokens["squad"], "//evil.example/x").headers["location"] == "/squad"
    assert login(api, api.tokens["squad"], "/dashboard").headers["location"] == "/squad"
    assert login(api, api.tokens["command"]).headers["location"] == "/dashboard"
    out = httpx.post(api.url + "/logout", cookies={"c12319_token": api.tokens["operator"]}, timeout=5)
    assert out.status_code == 303 and 'c12319_token=""' in out.headers["set-cookie"]


def test_each_role_sees_only_its_pages(api: LiveApi) -> None:
    def page(role: str, path: str) -> httpx.Response:
        return httpx.get(api.url + path, cookies={"c12319_token": api.tokens[role]}, timeout=5)

    allowed = {"operator": {"/console"}, "squad": {"/squad"}, "command": {"/console", "/squad", "/dashboard"},
               "admin": {"/console", "/squad", "/dashboard"}}
    for role, pages in allowed.items():
        for path in ("/console", "/squad", "/dashboard"):
            r = page(role, path)
            assert r.status_code == (200 if path in pages else 403), (role, path)
            assert r.headers["content-security-policy"].startswith("default-src 'self'")
            assert r.headers["x-content-type-options"] == "nosniff"
            if r.status_code == 200:
                assert f'src="/static/{path.strip("/")}.js' in r.text
                nav = r.text.split("<nav>")[1].split("</nav>")[0]
                assert all(p in nav for p in pages) and not any(p in nav for p in {"/console", "/squad", "/dashboard"} - pages)
    squad = page("squad", "/squad")
    assert 'data-unit="SQ_BAIPU"' in squad.text and "白蒲镇中队" in squad.text
    assert "<script>" not in squad.text  # no inline script: the CSP forbids it


def test_static_files_and_meta(api: LiveApi) -> None:
    for name in ("common.js", "charts.js", "console.js", "squad.js", "dashboard.js", "detail.js", "style.css"):
        r = httpx.get(f"{api.url}/static/{name}", timeout=5)
        assert r.status_code == 200 and len(r.text) > 500, name
    meta = api.get("squad", "/api/v1/meta").json()
    assert meta["me"]["unit"] == "SQ_BAIPU" and meta["me"]["unit_name"] == "白蒲镇中队"
    assert {c["code"] for c in meta["categories"]} >= {"NOISE_CONSTRUCTION", "STREET_VENDING"}
    assert "accept" in meta["transitions"]["dispatched"] and "verify" in meta["transitions"]["resolved"]
    assert meta["disposal_modes"] == ["服务", "管理", "执法"]
    assert api.get("anonymous", "/api/v1/meta").status_code == 401
