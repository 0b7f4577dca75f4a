"""Citizen lookup and rating: minimal data, same answer for a wrong ticket or last-4, rate limits, rated once."""

from __future__ import annotations

from tests.integration.tracker.conftest import PHONE, Api, make_case

LAST4 = PHONE[-4:]


def test_lookup_shows_progress_without_personal_data(api: Api) -> None:
    ticket = make_case(api.sessions)
    r = api.client.get(f"/api/v1/public/cases/{ticket}", params={"phone_last4": LAST4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "dispatched" and body["status_name"] == "已派遣"
    assert body["category_name"] == "建筑施工噪声" and body["handled_by"] == "白蒲镇城管执法中队"
    assert body["can_rate"] is False and body["result"] is None
    text = r.text
    for secret in (PHONE, "王女士", "某小区", "打桩", "actor", "squad"):
        assert secret not in text, secret


def test_wrong_last4_and_unknown_ticket_look_the_same(api: Api) -> None:
    ticket = make_case(api.sessions)
    wrong = api.client.get(f"/api/v1/public/cases/{ticket}", params={"phone_last4": "0000"})
    missing = api.client.get("/api/v1/public/cases/RG20990101000001", params={"phone_last4": LAST4})
    assert wrong.status_code == missing.status_code == 404
    assert wrong.json() == missing.json()
    assert api.client.get(f"/api/v1/public/cases/{ticket}", params={"phone_last4": "12a4"}).status_code == 422


def test_guessing_the_last4_is_stopped(api: Api) -> None:
    ticket = make_case(api.sessions)
    codes = [api.client.get(f"/api/v1/public/cases/{ticket}", params={"phone_last4": f"{n:04d}"}).status_code
             for n in range(7)]
    assert codes[:5] == [404] * 5 and codes[5:] == [429, 429]
    # even the right digits are refused for this ticket for now: guessing gains nothing
    assert api.client.get(f"/api/v1/public/cases/{ticket}", params={"phone_last4": LAST4}).status_code == 429
    other = make_case(api.sessions)
    assert api.client.get(f"/api/v1/public/cases/{other}", params={"phone_last4": LAST4}).status_code == 200


def test_rating_once_after_resolution(api: Api) -> None:
    ticket = make_case(api.sessions)
    path = f"/api/v1/public/cases/{ticket}/rating"
    r = api.client.post(path, json={"phone_last4": LAST4, "rating": "满意"})
    assert r.status_code == 409 and "已派遣" in r.json()["detail"]
    api.post("squad", f"/api/v1/cases/{ticket}/accept")
    api.post("squad", f"/api/v1/cases/{ticket}/resolve", {"result": "已劝离", "disposal_mode": "服务"})
    assert api.client.post(path, json={"phone_last4": LAST4, "rating": "很好"}).status_code == 422
    assert api.client.post(path, json={"phone_last4": "9999", "rating": "满意"}).status_code == 404
    r = api.client.post(path, json={"phone_last4": LAST4, "rating": "基本满意"})
    assert r.status_code == 200 and r.json()["rating"] == "基本满意"
    again = api.client.post(path, json={"phone_last4": LAST4, "rating": "不满意"})
    assert again.status_code == 409 and "已评价" in again.json()["detail"]
    case = api.case(ticket)
    assert case.rating == "基本满意" and case.rated_at is not None
    history = api.get("command", f"/api/v1/cases/{ticket}").json()["history"]
    assert history[-1]["type"] == "rated" and history[-1]["actor"] == f"citizen:****{LAST4}"
    view = api.client.get(f"/api/v1/public/cases/{ticket}", params={"phone_last4": LAST4}).json()
    assert view["rating"] == "基本满意" and view["can_rate"] is False and view["result"] == "已劝离"
