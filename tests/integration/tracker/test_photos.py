"""The squad uploads site photos (POST /cases/{ticket}/photos): who may, what is accepted, stored once,
served to every role that may see the case and to no other squad, and named by the resolve feedback.

Real SQLite/PostgreSQL, Redis and the real API app.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from services.tracker.models import CaseEventRow
from tests.integration.tracker.conftest import Api, make_case
from tests.photo_images import JPEG_48x32, png


def upload(api: Api, role: str, ticket: str, content: bytes | Iterator[bytes], key: str | None = None,
           content_type: str = "image/jpeg") -> Any:
    headers = api.h(role, **{"Content-Type": content_type})
    if key:
        headers["Idempotency-Key"] = key
    return api.client.post(f"/api/v1/cases/{ticket}/photos", content=content, headers=headers)


def accepted_case(api: Api) -> str:
    ticket = make_case(api.sessions)
    assert api.post("squad", f"/api/v1/cases/{ticket}/accept").status_code == 200
    return ticket


def squad_photos(api: Api, ticket: str) -> list[dict[str, Any]]:
    return [a for a in api.case(ticket).attachments if a.get("source") == "squad"]


def test_squad_photo_is_stored_and_served_to_every_role_that_sees_the_case(api: Api) -> None:
    ticket = accepted_case(api)
    version = api.case(ticket).version

    r = upload(api, "squad", ticket, JPEG_48x32, key="up-1", content_type="application/octet-stream")

    assert r.status_code == 201, r.text
    out = r.json()
    assert out["stored_url"] == f"/api/v1/cases/{ticket}/attachments/0" and out["index"] == 0
    assert (out["content_type"], out["width"], out["height"]) == ("image/jpeg", 48, 32)  # sniffed, not declared
    assert out["sha256"] == hashlib.sha256(JPEG_48x32).hexdigest() and out["replayed"] is False
    (att,) = squad_photos(api, ticket)
    assert att["kind"] == "image" and att["uploaded_by"].startswith("squad:") and api.case(ticket).version == version + 1
    for role in ("squad", "command", "operator", "admin"):
        got = api.get(role, out["stored_url"])
        assert got.status_code == 200, (role, got.text)
        assert got.content == JPEG_48x32 and got.headers["content-type"] == "image/jpeg"
    assert api.get("squad_other", out["stored_url"]).status_code == 403  # another squad
    assert api.get("anonymous", out["stored_url"]).status_code == 401
    detail = api.get("command", f"/api/v1/cases/{ticket}").json()
    assert [(a["source"], a["media_state"], a["stored_url"]) for a in detail["attachments"]] == [
        ("squad", "stored", out["stored_url"])]
    with api.sessions() as s:
        types = [e.type for e in s.query(CaseEventRow).filter_by(complaint_id=api.case(ticket).complaint_id)]
    assert "photo_added" in types


def test_a_retried_upload_is_stored_once(api: Api) -> None:
    ticket = accepted_case(api)
    first = upload(api, "squad", ticket, JPEG_48x32, key="retry-me")
    again = upload(api, "squad", ticket, JPEG_48x32, key="retry-me")
    same_bytes = upload(api, "squad", ticket, JPEG_48x32, key="another-key")

    assert (first.status_code, again.status_code, same_bytes.status_code) == (201, 200, 200)
    assert again.json()["replayed"] is True and again.json()["stored_url"] == first.json()["stored_url"]
    assert same_bytes.json()["index"] == first.json()["index"]
    assert len(squad_photos(api, ticket)) == 1
    second = upload(api, "squad", ticket, png(20, 10), key="second", content_type="image/png")
    assert second.status_code == 201 and second.json()["index"] == 1 and second.json()["content_type"] == "image/png"


def test_concurrent_retries_of_one_photo_store_one_attachment(api: Api) -> None:
    ticket = accepted_case(api)
    key = uuid.uuid4().hex
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(lambda _: upload(api, "squad", ticket, JPEG_48x32, key=key).status_code, range(4)))
    assert codes == [200, 200, 200, 201]
    assert len(squad_photos(api, ticket)) == 1


def test_only_the_squad_of_the_case_may_upload(api: Api) -> None:
    ticket = accepted_case(api)
    assert upload(api, "squad_other", ticket, JPEG_48x32).status_code == 403
    for role in ("operator", "command"):
        r = upload(api, role, ticket, JPEG_48x32)
        assert r.status_code == 403 and "无权" in r.json()["detail"], role
    assert upload(api, "anonymous", ticket, JPEG_48x32).status_code == 401
    missing = upload(api, "squad", "RG20990101000001", JPEG_48x32)
    assert missing.status_code == 404 and "不存在" in missing.json()["detail"]
    assert squad_photos(api, ticket) == []

    api.set(ticket, status="closed")
    closed = upload(api, "squad", ticket, JPEG_48x32)
    assert closed.status_code == 409 and "不能再添加照片" in closed.json()["detail"]
    assert "closed" not in closed.json()["detail"]  # the status in Chinese


def test_content_is_sniffed_and_bad_files_are_refused_in_chinese(api: Api) -> None:
    ticket = accepted_case(api)
    html = b"<html><script>alert(1)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    full_png = png(40, 30)
    for body, want in ((html, "不是可识别的图片"), (svg, "不是可识别的图片"),
                       (JPEG_48x32[:300], "已损坏或不完整"), (full_png[:-12], "已损坏或不完整"),
                       (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "已损坏或不完整")):
        r = upload(api, "squad", ticket, body, content_type="image/jpeg")
        assert r.status_code == 415, (body[:20], r.text)
        assert want in r.json()["detail"]
    empty = upload(api, "squad", ticket, b"")
    assert empty.status_code == 400 and "没有收到照片" in empty.json()["detail"]
    assert squad_photos(api, ticket) == []


def test_size_limits_declared_or_chunked(api: Api) -> None:
    ticket = accepted_case(api)
    limit = api.client.app.state.settings.photo_max_bytes  # type: ignore[attr-defined]
    big = JPEG_48x32 + b"\x00" * (limit + 1 - len(JPEG_48x32))
    declared = upload(api, "squad", ticket, big)
    assert declared.status_code == 413 and "照片过大（上限 8 MB）" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield JPEG_48x32
        for _ in range(limit // 2**20 + 1):
            yield b"\x00" * 2**20

    chunked = upload(api, "squad", ticket, chunks())
    assert chunked.status_code == 413 and "照片过大" in chunked.json()["detail"]
    # the larger limit is for photo uploads only: other bodies keep the small one
    r = api.post("squad", f"/api/v1/cases/{ticket}/resolve", {"result": "x" * 70000, "disposal_mode": "服务"})
    assert r.status_code == 413 and "请求体过大" in r.json()["detail"]
    assert squad_photos(api, ticket) == []


def test_photos_per_case_are_limited(api: Api) -> None:
    ticket = accepted_case(api)
    settings = api.client.app.state.settings  # type: ignore[attr-defined]
    settings.photos_per_case = 2
    assert [upload(api, "squad", ticket, png(8, 8, seed=i), content_type="image/png").status_code
            for i in range(2)] == [201, 201]
    third = upload(api, "squad", ticket, png(8, 8, seed=9), content_type="image/png")
    assert third.status_code == 409 and "最多上传 2 张" in third.json()["detail"]


def test_resolve_feedback_carries_the_uploaded_photos_of_its_case_only(api: Api) -> None:
    ticket = accepted_case(api)
    other = accepted_case(api)
    mine = upload(api, "squad", ticket, JPEG_48x32, key="mine").json()["stored_url"]
    theirs = upload(api, "squad", other, png(9, 9), key="theirs", content_type="image/png").json()["stored_url"]
    base = {"result": "已清理完毕，现场恢复整洁", "disposal_mode": "服务"}

    wrong_case = api.post("squad", f"/api/v1/cases/{ticket}/resolve", {**base, "photos": [theirs]})
    assert wrong_case.status_code == 422 and "不属于本工单" in str(wrong_case.json())
    not_there = api.post("squad", f"/api/v1/cases/{ticket}/resolve",
                         {**base, "photos": [f"/api/v1/cases/{ticket}/attachments/5"]})
    assert not_there.status_code == 422 and "尚未上传完成" in str(not_there.json())
    bad_path = api.post("squad", f"/api/v1/cases/{ticket}/resolve", {**base, "photos": ["/etc/passwd"]})
    assert bad_path.status_code == 422

    ok = api.post("squad", f"/api/v1/cases/{ticket}/resolve", {**base, "photos": [mine, mine]})
    assert ok.status_code == 200, ok.text
    assert api.case(ticket).photos == [mine]
    detail = api.get("command", f"/api/v1/cases/{ticket}").json()
    assert detail["photos"] == [mine] and detail["status"] == "resolved"
    # just after the feedback a late photo still belongs to the case
    assert upload(api, "squad", ticket, png(12, 12), content_type="image/png").status_code == 201


def test_open311_names_an_uploaded_feedback_photo_by_its_full_address(api: Api) -> None:
    ticket = accepted_case(api)
    photo = upload(api, "squad", ticket, JPEG_48x32).json()["stored_url"]
    assert api.post("squad", f"/api/v1/cases/{ticket}/resolve",
                    {"result": "已清理完毕", "disposal_mode": "服务", "photos": [photo]}).status_code == 200
    r = api.client.get(f"/open311/v2/requests/{ticket}.json", params={"api_key": api.tokens["command"]})
    assert r.status_code == 200, r.text
    assert r.json()[0]["media_url"] == "http://testserver" + photo
