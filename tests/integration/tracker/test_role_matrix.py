"""Role × endpoint: every endpoint under /api/v1 and /open311, every role, the expected answer.

The endpoint list comes from the app's routes: a new endpoint without an entry here fails.
"ok" means any 2xx.  Each call gets a fresh case in the right state, so only the role decides.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.routing import APIRoute

from services.platform.embedded import free_port
from services.tracker import routes_citizen
from tests.integration.tracker.conftest import PHONE, Api, make_case
from tests.photo_images import JPEG_48x32

ROLES = ("anonymous", "operator", "squad", "squad_other", "command", "admin")
OK = "ok"
Prep = Callable[[Api], tuple[str, dict[str, Any] | bytes | None]]  # bytes: a raw body (a photo)


def _case(api: Api, **state: Any) -> str:
    ticket = make_case(api.sessions)
    if state:
        api.set(ticket, **state)
    return ticket


def _now() -> datetime:
    return datetime.now(UTC)


def action(name: str, body: dict[str, Any] | None = None, **state: Any) -> Prep:
    return lambda api: (f"/api/v1/cases/{_case(api, **state)}/{name}", body)


ACCEPTED: dict[str, Any] = {"status": "accepted", "accepted_at": _now()}
RESOLVED: dict[str, Any] = {"status": "resolved", "accepted_at": _now(), "resolved_at": _now(), "disposal_mode": "服务"}
EXT: dict[str, Any] = {**ACCEPTED, "extension": "requested", "extension_hours": 24}
SQUAD_ONLY = {"anonymous": 401, "operator": 403, "squad": OK, "squad_other": 403, "command": 403, "admin": OK}
COMMAND_ONLY = {"anonymous": 401, "operator": 403, "squad": 403, "squad_other": 403, "command": OK, "admin": OK}
HOTLINE = {"anonymous": 401, "operator": OK, "squad": 403, "squad_other": 403, "command": OK, "admin": OK}
STAFF_OWN = {"anonymous": 401, "operator": OK, "squad": OK, "squad_other": 403, "command": OK, "admin": OK}
STAFF = {"anonymous": 401, "operator": OK, "squad": OK, "squad_other": OK, "command": OK, "admin": OK}
PUBLIC = dict.fromkeys(ROLES, OK)
OPEN311_POST = {**dict.fromkeys(ROLES, OK), "anonymous": 403}  # the spec's api_key error


def merge(api: Api) -> tuple[str, dict[str, Any]]:
    keep = _case(api)
    return f"/api/v1/cases/{_case(api)}/merge", {"into_ticket": keep}


def stored_photo(api: Api) -> tuple[str, None]:
    """A WeChat case whose photo the media fetcher has stored."""
    sha = api.client.app.state.media.put(b"\xff\xd8photo\xff\xd9")  # type: ignore[attr-defined]
    ticket = _case(api, channel="wechat", attachments=[{"kind": "image", "media_id": "m1", "url": None, "sha256": sha,
                                                        "size": 9, "content_type": "image/jpeg"}])
    return f"/api/v1/cases/{ticket}/attachments/0", None


def squad_photo(api: Api) -> tuple[str, bytes]:
    return f"/api/v1/cases/{_case(api, **ACCEPTED)}/photos", JPEG_48x32


def public(api: Api) -> tuple[str, dict[str, Any]]:
    return f"/api/v1/public/cases/{_case(api)}", {"phone_last4": PHONE[-4:]}


def rating(api: Api) -> tuple[str, dict[str, Any]]:
    return f"/api/v1/public/cases/{_case(api, **RESOLVED)}/rating", {"phone_last4": PHONE[-4:], "rating": "满意"}


def public_text(api: Api) -> tuple[str, dict[str, Any]]:
    return f"/api/v1/public/cases/{_case(api)}/supplements", {"phone_last4": PHONE[-4:], "text": "晚上十点以后还在施工"}


def public_photo(api: Api) -> tuple[str, bytes]:
    return f"/api/v1/public/cases/{_case(api)}/photos?phone_last4={PHONE[-4:]}", JPEG_48x32


OPEN311_BODY = {"service_code": "STREET_VENDING", "description": "如城街道花园社区门口有人占道摆摊",
                "address_string": "如城街道花园社区"}

ENDPOINTS: dict[tuple[str, str], tuple[dict[str, Any], Prep]] = {
    ("POST", "/api/v1/complaints"): (
        {"anonymous": 401, "operator": OK, "squad": 403, "squad_other": 403, "command": OK, "admin": OK},
        lambda api: ("/api/v1/complaints", {"channel": "hotline", "text": "白蒲镇有工地夜间打桩", "phone": PHONE})),
    ("GET", "/api/v1/cases/{ticket_no}"): (STAFF_OWN, lambda api: (f"/api/v1/cases/{_case(api)}", None)),
    ("GET", "/api/v1/cases/{ticket_no}/events"): (STAFF_OWN, lambda api: (f"/api/v1/cases/{_case(api)}/events", None)),
    ("GET", "/api/v1/cases/{ticket_no}/attachments/{index}"): (STAFF_OWN, stored_photo),
    ("POST", "/api/v1/cases/{ticket_no}/photos"): (SQUAD_ONLY, squad_photo),
    ("GET", "/api/v1/units/{unit_id}/cases"): (STAFF_OWN, lambda api: ("/api/v1/units/SQ_BAIPU/cases", None)),
    ("GET", "/api/v1/cases"): (STAFF, lambda api: ("/api/v1/cases", {"status": "dispatched"})),
    ("GET", "/api/v1/cases/export"): (  # command centre; a squad its own unit only
        {"anonymous": 401, "operator": 403, "squad": OK, "squad_other": 403, "command": OK, "admin": OK},
        lambda api: ("/api/v1/cases/export", {"unit": "SQ_BAIPU"})),
    ("POST", "/api/v1/cases/{ticket_no}/accept"): (SQUAD_ONLY, action("accept")),
    ("POST", "/api/v1/cases/{ticket_no}/start"): (SQUAD_ONLY, action("start", **ACCEPTED)),
    ("POST", "/api/v1/cases/{ticket_no}/return"): (SQUAD_ONLY, action("return", {"reason": "不属本辖区"})),
    ("POST", "/api/v1/cases/{ticket_no}/extension"): (
        SQUAD_ONLY, action("extension", {"reason": "需协调", "hours": 24}, **ACCEPTED)),
    ("POST", "/api/v1/cases/{ticket_no}/resolve"): (
        SQUAD_ONLY, action("resolve", {"result": "已处理", "disposal_mode": "服务"}, **ACCEPTED)),
    ("POST", "/api/v1/cases/{ticket_no}/extension/approve"): (COMMAND_ONLY, action("extension/approve", **EXT)),
    ("POST", "/api/v1/cases/{ticket_no}/extension/refuse"): (
        COMMAND_ONLY, action("extension/refuse", {"reason": "理由不充分"}, **EXT)),
    ("POST", "/api/v1/cases/{ticket_no}/verify"): (COMMAND_ONLY, action("verify", **RESOLVED)),
    ("POST", "/api/v1/cases/{ticket_no}/reopen"): (COMMAND_ONLY, action("reopen", {"reason": "未处理到位"}, **RESOLVED)),
    ("POST", "/api/v1/cases/{ticket_no}/reassign"): (COMMAND_ONLY, action("reassign", {"unit": "SQ_RUCHENG"})),
    ("POST", "/api/v1/cases/{ticket_no}/decide"): (COMMAND_ONLY, action("decide", {"unit": "SQ_BAIPU"}, status="awaiting_decision", returns=2)),
    ("POST", "/api/v1/cases/{ticket_no}/supervise"): (COMMAND_ONLY, action("supervise", {"note": "请加快办理"})),
    ("POST", "/api/v1/cases/{ticket_no}/merge"): (COMMAND_ONLY, merge),
    ("POST", "/api/v1/cases/{ticket_no}/forward"): (HOTLINE, action("forward", {"note": "转12345"})),
    ("POST", "/api/v1/cases/{ticket_no}/answer"): (HOTLINE, action("answer", {"answer": "已电话答复"})),
    ("GET", "/api/v1/public/cases/{ticket_no}"): (PUBLIC, public),
    ("POST", "/api/v1/public/cases/{ticket_no}/rating"): (PUBLIC, rating),
    ("POST", "/api/v1/public/cases/{ticket_no}/supplements"): (PUBLIC, public_text),
    ("POST", "/api/v1/public/cases/{ticket_no}/photos"): (PUBLIC, public_photo),
    ("GET", "/api/v1/stats"): (COMMAND_ONLY, lambda api: ("/api/v1/stats", {"group_by": "unit"})),
    ("GET", "/api/v1/corrections/stats"): (COMMAND_ONLY, lambda api: ("/api/v1/corrections/stats", {"days": 7})),
    ("GET", "/api/v1/corrections"): (COMMAND_ONLY, lambda api: ("/api/v1/corrections", None)),
    ("GET", "/api/v1/alerts"): (STAFF, lambda api: ("/api/v1/alerts", None)),
    ("GET", "/open311/v2/services.{fmt}"): (PUBLIC, lambda api: ("/open311/v2/services.json", None)),
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): (
        PUBLIC, lambda api: ("/open311/v2/services/GARBAGE.xml", None)),
    ("GET", "/open311/v2/requests.{fmt}"): (PUBLIC, lambda api: ("/open311/v2/requests.json", None)),
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): (
        PUBLIC, lambda api: (f"/open311/v2/requests/{_case(api)}.json", None)),
    ("POST", "/open311/v2/requests.{fmt}"): (OPEN311_POST, lambda api: ("/open311/v2/requests.json", OPEN311_BODY)),
    # the dashboard pages' endpoints (services/tracker/pages)
    ("GET", "/api/v1/meta"): (STAFF, lambda api: ("/api/v1/meta", None)),
    ("GET", "/api/v1/feed"): (STAFF, lambda api: ("/api/v1/feed", None)),
    ("POST", "/api/v1/suggest"): (HOTLINE, lambda api: ("/api/v1/suggest", {"text": "白蒲镇有工地夜间打桩"})),
    ("GET", "/api/v1/wall/map"): (COMMAND_ONLY, lambda api: ("/api/v1/wall/map", None)),
    ("GET", "/api/v1/wall/trend"): (COMMAND_ONLY, lambda api: ("/api/v1/wall/trend", None)),
    ("GET", "/api/v1/wall/recent"): (COMMAND_ONLY, lambda api: ("/api/v1/wall/recent", None)),
    # Rugao configures no boundary file: 404 for those who may ask
    ("GET", "/api/v1/wall/geojson"): ({**COMMAND_ONLY, "command": 404, "admin": 404},
                                      lambda api: ("/api/v1/wall/geojson", None)),
    ("POST", "/api/v1/cases/{ticket_no}/link"): (
        HOTLINE, lambda api: (f"/api/v1/cases/{_case(api)}/link", {"text": "又打电话反映打桩", "phone": PHONE})),
}
STREAMING = {"/api/v1/feed"}  # server-sent events: read the status over a real socket, then hang up


@contextmanager
def live(api: Api) -> Iterator[str]:
    """The same app (already started by the TestClient) served over a socket, for streaming endpoints."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api.client.app, host="127.0.0.1", port=port, lifespan="off",  # type: ignore[arg-type]
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "live server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def stream_status(base: str, api: Api, role: str, path: str) -> Any:
    with httpx.Client(timeout=httpx.Timeout(5, read=5)) as client, \
            client.stream("GET", base + path, headers=api.h(role)) as r:
        return r


def app_endpoints(api: Api) -> set[tuple[str, str]]:
    found = set()
    for route in api.client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.path.startswith(("/api/v1", "/open311")):
            found |= {(m, route.path) for m in route.methods - {"HEAD"}}
    return found


def call(api: Api, role: str, method: str, path: str, payload: dict[str, Any] | bytes | None) -> Any:
    if isinstance(payload, bytes):
        return api.client.post(path, content=payload, headers=api.h(role, **{"Content-Type": "image/jpeg"}))
    if path.startswith("/open311"):
        params = dict(payload or {})
        if role != "anonymous":
            params["api_key"] = api.tokens[role]
        if method == "POST":
            return api.client.post(path, data=params)
        return api.client.get(path, params=params)
    if method == "GET":
        return api.client.get(path, params=payload, headers=api.h(role))
    return api.client.post(path, json=payload, headers=api.h(role))


def test_every_endpoint_has_an_entry(api: Api) -> None:
    found = app_endpoints(api)
    assert found - set(ENDPOINTS) == set(), "endpoints without a role-matrix entry"
    assert set(ENDPOINTS) - found == set(), "matrix entries for endpoints that do not exist"


def test_role_matrix(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # authorization, not the citizens' rate limits (tests/integration/tracker/test_citizen*.py): the
    # matrix asks the public endpoints 6 times each from one address
    monkeypatch.setattr(routes_citizen, "PER_IP_PER_MINUTE", 1000)
    monkeypatch.setattr(routes_citizen, "WRITES_PER_IP", 1000)
    failures = []
    with live(api) as base:
        for (method, template), (expected, prepare) in sorted(ENDPOINTS.items()):
            for role in ROLES:
                path, payload = prepare(api)
                if path in STREAMING:
                    r = stream_status(base, api, role, path)
                else:
                    r = call(api, role, method, path, payload)
                want = expected[role]
                good = 200 <= r.status_code < 300 if want == OK else r.status_code == want
                if not good:
                    text = "" if path in STREAMING else r.text[:160]
                    failures.append(f"{method} {template} as {role}: got {r.status_code}, want {want}: {text}")
    assert not failures, "\n".join(failures)
