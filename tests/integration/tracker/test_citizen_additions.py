"""The citizen page's public API: progress in plain words, additions (text, photos), rating with a comment.

Authenticated by ticket number + last four digits only, so the tests try to reach other people's
cases every way a citizen could: a wrong last-4, a ticket that does not exist, another ticket with
the same last-4, a sweep of neighbouring ticket numbers, the phone of a call linked to the case.
"""

from __future__ import annotations

import re
from pathlib import Path

import redis
from sqlalchemy import func, select

from services.tracker.supplements import Supplement
from tests.integration.tracker.conftest import PHONE, Api, make_case
from tests.photo_images import JPEG_48x32, png

LAST4 = PHONE[-4:]
PUBLIC = "/api/v1/public/cases"
BEIJING = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


def look(api: Api, ticket: str, last4: str = LAST4) -> object:
    return api.client.get(f"{PUBLIC}/{ticket}", params={"phone_last4": last4})


def add_text(api: Api, ticket: str, text: str, last4: str = LAST4) -> object:
    return api.client.post(f"{PUBLIC}/{ticket}/supplements", json={"phone_last4": last4, "text": text})


def add_photo(api: Api, ticket: str, content: bytes, last4: str = LAST4, key: str | None = None,
              content_type: str = "image/jpeg") -> object:
    headers = {"Content-Type": content_type, **({"Idempotency-Key": key} if key else {})}
    return api.client.post(f"{PUBLIC}/{ticket}/photos", params={"phone_last4": last4}, content=content,
                           headers=headers)


def supplements_of(api: Api, ticket: str) -> int:
    with api.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Supplement).where(Supplement.ticket_no == ticket)) or 0)


def media_files(api: Api) -> int:
    root = Path(api.client.app.state.settings.media_root())  # type: ignore[attr-defined]
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def test_progress_is_told_in_plain_words_in_beijing_time_without_anything_internal(api: Api) -> None:
    ticket = make_case(api.sessions)
    body = look(api, ticket).json()  # type: ignore[attr-defined]
    assert body["headline"] == "已派至白蒲镇城管执法中队，等待处理"
    assert [s["label"] for s in body["stages"]] == ["已受理", "已派至白蒲镇城管执法中队", "处置中", "已办结"]
    assert [s["state"] for s in body["stages"]] == ["done", "current", "todo", "todo"]
    assert [t["text"] for t in body["timeline"]] == ["您的诉求已受理", "已派至白蒲镇城管执法中队"]
    assert all(BEIJING.match(t["at"]) for t in body["timeline"]) and BEIJING.match(body["received_at_text"])

    # the squad works on it, asks for more time, is supervised; the command centre notes things
    assert api.post("squad", f"/api/v1/cases/{ticket}/accept").status_code == 200
    assert api.post("squad", f"/api/v1/cases/{ticket}/start").status_code == 200
    assert api.post("squad", f"/api/v1/cases/{ticket}/extension",
                    {"hours": 24, "reason": "内部原因：需协调住建局"}).status_code == 200
    assert api.post("command", f"/api/v1/cases/{ticket}/supervise", {"note": "督办内部意见XYZ"}).status_code == 200
    body = look(api, ticket).json()  # type: ignore[attr-defined]
    assert body["headline"] == "白蒲镇城管执法中队正在处置"
    assert [s["state"] for s in body["stages"]] == ["done", "done", "current", "todo"]
    assert [t["text"] for t in body["timeline"]][2:] == ["承办单位已签收", "承办单位开始处置"]

    assert api.post("squad", f"/api/v1/cases/{ticket}/resolve",
                    {"result": "已责令工地夜间停工", "disposal_mode": "执法"}).status_code == 200
    r = look(api, ticket)
    body = r.json()  # type: ignore[attr-defined]
    assert body["headline"] == "已办结，欢迎您对处理结果进行评价" and body["result"] == "已责令工地夜间停工"
    assert [s["state"] for s in body["stages"]] == ["done"] * 4
    assert body["timeline"][-1]["text"] == "已办结：承办单位已处理并反馈结果"
    assert body["can_rate"] is True and body["can_add"] is False
    text = r.text  # type: ignore[attr-defined]
    for secret in (PHONE, "王女士", "某小区", "打桩", "内部原因", "督办内部意见", "baipu-", "cc-", "squad", "command",
                   "SQ_BAIPU", "actor", "+00:00", "Z\""):
        assert secret not in text, secret


def test_wrong_last4_and_unknown_ticket_get_the_same_answer_on_every_endpoint(api: Api) -> None:
    ticket = make_case(api.sessions)
    missing = "RG20990101000001"
    for call in (lambda t, d: add_text(api, t, "补充：晚上还在施工", d),
                 lambda t, d: add_photo(api, t, JPEG_48x32, d),
                 lambda t, d: api.client.post(f"{PUBLIC}/{t}/rating", json={"phone_last4": d, "rating": "满意"})):
        wrong, unknown = call(ticket, "0000"), call(missing, LAST4)
        assert wrong.status_code == unknown.status_code == 404  # type: ignore[attr-defined]
        assert wrong.json() == unknown.json() == {"detail": "工单号或手机号后四位不正确"}  # type: ignore[attr-defined]
    assert supplements_of(api, ticket) == 0 and media_files(api) == 0


def test_a_citizen_never_reads_or_writes_another_citizens_case(api: Api) -> None:
    mine = make_case(api.sessions)  # phone ...5678
    same_last4 = make_case(api.sessions, phone="13900005678")
    other = make_case(api.sessions, phone="13700001111")
    # a call of another citizen linked to my case: its caller does not get my case, I do not see them
    linked = api.post("operator", f"/api/v1/cases/{mine}/link",
                      {"text": "我也要反映这个工地噪声", "phone": "13600009999", "name": "李先生"})
    assert linked.status_code == 201, linked.text
    assert look(api, mine, "9999").status_code == 404  # type: ignore[attr-defined]
    r = look(api, mine)
    assert r.status_code == 200  # type: ignore[attr-defined]
    for foreign in (same_last4, other, "13600009999", "9999", "李先生", "也要反映"):
        assert foreign not in r.text, foreign  # type: ignore[attr-defined]
    # writing to another case with my digits: refused, nothing stored there
    before = api.case(other).text
    assert add_text(api, other, "不是我的工单").status_code == 404  # type: ignore[attr-defined]
    assert add_photo(api, other, JPEG_48x32).status_code == 404  # type: ignore[attr-defined]
    assert api.case(other).text == before and supplements_of(api, other) == 0 and media_files(api) == 0
    # my additions land on my case only, even where another case has my last four digits
    assert add_text(api, mine, "补充：夜里十二点还在打桩").status_code == 201  # type: ignore[attr-defined]
    assert supplements_of(api, mine) == 1 and supplements_of(api, same_last4) == 0
    assert "夜里十二点" not in api.case(same_last4).text
    # merged into another citizen's case: nothing of that case shows on mine
    assert api.post("command", f"/api/v1/cases/{mine}/merge", {"into_ticket": other}).status_code == 200
    r = look(api, mine)
    assert r.json()["headline"] == "已与反映同一问题的工单合并办理"  # type: ignore[attr-defined]
    assert other not in r.text  # type: ignore[attr-defined]


def test_sweeping_ticket_numbers_is_stopped_before_it_finds_anything(api: Api, redis_url: str) -> None:
    mine = make_case(api.sessions)
    neighbours = [make_case(api.sessions, phone=f"1390000{n:04d}") for n in range(3)]
    target = make_case(api.sessions, phone="13900005678")  # the sweep's last-4 would match this one
    prefix, seq = mine[:-6], int(mine[-6:])
    probes = [f"{prefix}{seq + 1000 + n:06d}" for n in range(17)] + neighbours  # 20 misses
    codes = [look(api, t).status_code for t in probes]  # type: ignore[attr-defined]
    assert codes == [404] * 20
    minute = redis.Redis.from_url(redis_url)
    minute.delete(f"{api.redis_prefix}rl:public:ip:testclient")  # not the per-minute limit: the misses block
    minute.close()
    # the address is now blocked for an hour: the one ticket that would match is refused like any other
    assert look(api, target).status_code == 429  # type: ignore[attr-defined]
    assert add_text(api, target, "猜中了吗").status_code == 429  # type: ignore[attr-defined]
    assert supplements_of(api, target) == 0


def test_additions_reach_the_squad_and_the_command_centre_and_no_one_else(api: Api) -> None:
    ticket = make_case(api.sessions)
    r = add_text(api, ticket, "补充：施工单位是某某建设，晚上十点后开工")
    assert r.status_code == 201 and r.json()["replayed"] is False  # type: ignore[attr-defined]
    again = add_text(api, ticket, "补充：施工单位是某某建设，晚上十点后开工")  # the answer was lost: sent again
    assert again.status_code == 200 and again.json()["replayed"] is True  # type: ignore[attr-defined]
    photo = png(640, 480, seed=7)
    assert len(photo) > 65536  # over the API's ordinary body limit
    up = add_photo(api, ticket, photo, key="citizen-photo-1", content_type="image/png")
    assert up.status_code == 201, up.text  # type: ignore[attr-defined]
    assert up.json()["stored"] is True and "stored_url" not in up.json()  # type: ignore[attr-defined]
    retry = add_photo(api, ticket, photo, key="citizen-photo-1", content_type="image/png")
    assert retry.status_code == 200 and retry.json()["replayed"] is True  # type: ignore[attr-defined]
    assert supplements_of(api, ticket) == 2

    for role in ("squad", "command"):
        case = api.get(role, f"/api/v1/cases/{ticket}").json()
        assert "【补充】补充：施工单位是某某建设" in case["text"]
        [att] = [a for a in case["attachments"] if a.get("source") == "citizen"]
        assert att["kind"] == "image" and att["content_type"] == "image/png" and att["stored_url"]
        got = api.client.get(att["stored_url"], headers=api.h(role))
        assert got.status_code == 200 and got.content == photo
        assert [h["type"] for h in case["history"]].count("supplemented") == 2
    case = api.get("squad", f"/api/v1/cases/{ticket}").json()
    [att] = [a for a in case["attachments"] if a.get("source") == "citizen"]
    assert api.client.get(att["stored_url"], headers=api.h("squad_other")).status_code in (403, 404)
    assert api.client.get(att["stored_url"]).status_code == 401  # no anonymous reading of the photo
    view = look(api, ticket).json()  # type: ignore[attr-defined]
    assert view["photos_added"] == 1
    assert [t["text"] for t in view["timeline"]][-2:] == ["您补充了文字说明", "您补充了1张照片"]


def test_limits_on_additions_answer_in_chinese(api: Api) -> None:
    ticket = make_case(api.sessions)
    long = add_text(api, ticket, "长" * 1001)
    assert long.status_code == 422 and "1000" in long.json()["message"]  # type: ignore[attr-defined]
    assert add_text(api, ticket, " ").status_code == 422  # type: ignore[attr-defined]
    fake = add_photo(api, ticket, b"<svg xmlns='http://www.w3.org/2000/svg'></svg>" * 10, content_type="image/png")
    assert fake.status_code == 415 and "图片" in fake.json()["detail"]  # type: ignore[attr-defined]
    big = add_photo(api, ticket, b"\xff\xd8\xff" + b"\0" * (5 * 2**20))
    assert big.status_code == 413 and "照片过大" in big.json()["detail"]  # type: ignore[attr-defined]
    empty = add_photo(api, ticket, b"")
    assert empty.status_code == 400 and "照片" in empty.json()["detail"]  # type: ignore[attr-defined]
    assert media_files(api) == 0 and supplements_of(api, ticket) == 0


def test_photos_per_case_are_limited(api: Api) -> None:
    ticket = make_case(api.sessions)
    codes = [add_photo(api, ticket, png(8, 8, seed=n), content_type="image/png").status_code  # type: ignore[attr-defined]
             for n in range(10)]
    assert codes == [201] * 9 + [409]
    assert "最多补充 9 张" in add_photo(api, ticket, png(8, 8, seed=99)).json()["detail"]  # type: ignore[attr-defined]
    assert len(api.case(ticket).attachments) == 9


def test_additions_per_case_and_hour_are_limited(api: Api) -> None:
    other = make_case(api.sessions)
    codes = [add_text(api, other, f"补充第{n}条").status_code for n in range(16)]  # type: ignore[attr-defined]
    assert codes == [201] * 15 + [429]
    refused = add_text(api, other, "再补充一条")
    assert refused.status_code == 429 and "频繁" in refused.json()["detail"]  # type: ignore[attr-defined]
    assert supplements_of(api, other) == 15


def test_a_finished_case_takes_no_additions_but_a_rating_with_a_comment_once(api: Api) -> None:
    ticket = make_case(api.sessions)
    api.post("squad", f"/api/v1/cases/{ticket}/accept")
    api.post("squad", f"/api/v1/cases/{ticket}/resolve", {"result": "已劝离", "disposal_mode": "服务"})
    closed = add_text(api, ticket, "还是很吵")
    assert closed.status_code == 409 and "已办结" in closed.json()["detail"]  # type: ignore[attr-defined]
    assert add_photo(api, ticket, JPEG_48x32).status_code == 409  # type: ignore[attr-defined]
    path = f"{PUBLIC}/{ticket}/rating"
    too_long = api.client.post(path, json={"phone_last4": LAST4, "rating": "满意", "comment": "好" * 501})
    assert too_long.status_code == 422
    r = api.client.post(path, json={"phone_last4": LAST4, "rating": "不满意", "comment": "晚上还有噪声"})
    assert r.status_code == 200 and r.json()["rating"] == "不满意"
    assert api.client.post(path, json={"phone_last4": LAST4, "rating": "满意"}).status_code == 409
    history = api.get("command", f"/api/v1/cases/{ticket}").json()["history"]
    assert history[-1]["type"] == "rated" and history[-1]["data"]["comment"] == "晚上还有噪声"
    view = look(api, ticket).json()  # type: ignore[attr-defined]
    assert view["rating"] == "不满意" and view["can_rate"] is False and view["headline"] == "已办结"
    assert view["timeline"][-1]["text"] == "您已评价：不满意"
    assert "晚上还有噪声" not in look(api, ticket).text  # type: ignore[attr-defined]
