"""The case workflow through the API with the right roles, on SQLite and PostgreSQL, real Redis."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from sqlalchemy import func, select

from services.core.events import CaseEvent
from services.platform.topics import ALERTS, CASES_EVENTS
from services.tracker.models import Case, CaseEventRow, OutboxRow
from tests.integration.tracker.conftest import Api, make_case

RESOLVE = {"result": "已现场责令停止夜间施工", "disposal_mode": "执法", "photos": ["https://img.example/1.jpg"]}


def url(ticket: str, action: str) -> str:
    return f"/api/v1/cases/{ticket}/{action}"


def history(api: Api, ticket: str) -> list[dict[str, Any]]:
    r = api.get("command", f"/api/v1/cases/{ticket}")
    assert r.status_code == 200, r.text
    return list(r.json()["history"])


def counts(api: Api, ticket: str) -> tuple[int, int, int]:
    case = api.case(ticket)
    with api.sessions() as s:
        events = s.scalar(select(func.count()).select_from(CaseEventRow)
                          .where(CaseEventRow.complaint_id == case.complaint_id))
        outbox = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.key == case.complaint_id))
    return int(events or 0), int(outbox or 0), case.version


def test_received_to_closed_with_history_outbox_and_feed(api: Api, redis_url: str) -> None:
    ticket = make_case(api.sessions, routed=False)
    assert api.post("squad", url(ticket, "accept")).status_code == 403  # no unit yet: not theirs
    assert api.post("admin", url(ticket, "accept")).status_code == 409  # received: not dispatched yet
    ticket = make_case(api.sessions)
    listener = redis.Redis.from_url(redis_url).pubsub()
    listener.subscribe(f"{api.redis_prefix}feed")
    listener.get_message(timeout=1)

    r = api.post("squad", url(ticket, "accept"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted" and r.json()["version"] == 3
    assert api.post("squad", url(ticket, "start")).json()["status"] == "in_progress"
    r = api.post("squad", url(ticket, "resolve"), RESOLVE)
    assert r.json()["status"] == "resolved", r.text
    r = api.post("command", url(ticket, "verify"))
    assert r.json()["status"] == "closed", r.text

    case = api.case(ticket)
    assert case.status == "closed" and case.disposal_mode == "执法" and case.photos == RESOLVE["photos"]
    assert case.accepted_at and case.resolved_at and case.closed_at
    steps = history(api, ticket)
    assert [h["type"] for h in steps] == ["received", "dispatched", "accepted", "started", "resolved", "closed"]
    assert steps[2]["actor"].startswith("squad:baipu-") and steps[2]["actor"].endswith("@SQ_BAIPU")
    assert steps[5]["actor"].startswith("command:cc-")
    with api.sessions() as s:
        rows = s.scalars(select(OutboxRow).where(OutboxRow.key == case.complaint_id).order_by(OutboxRow.id)).all()
    assert [r.topic for r in rows] == [CASES_EVENTS] * 4
    published = [CaseEvent.model_validate_json(r.payload) for r in rows]
    assert [e.type for e in published] == ["accepted", "started", "resolved", "closed"]
    assert published[-1].data["case"]["status"] == "closed" and published[0].data["case"]["unit"] == "SQ_BAIPU"
    feed = []
    for _ in range(4):
        msg = listener.get_message(timeout=2)
        assert msg is not None
        feed.append(json.loads(msg["data"]))
    assert [f["type"] for f in feed] == ["accepted", "started", "resolved", "closed"]
    assert feed[0]["ticket_no"] == ticket
    listener.close()


def test_reopen_and_rework(api: Api) -> None:
    ticket = make_case(api.sessions)
    api.post("squad", url(ticket, "accept"))
    api.post("squad", url(ticket, "resolve"), RESOLVE)
    assert api.post("command", url(ticket, "reopen"), {}).status_code == 422  # reason required
    r = api.post("command", url(ticket, "reopen"), {"reason": "现场核查仍在施工"})
    assert r.status_code == 200 and r.json()["status"] == "in_progress"  # 返工: back to the squad's work
    case = api.case(ticket)
    assert case.reopens == 1 and case.resolved_at is None and case.unit == "SQ_BAIPU"
    refused = api.post("command", url(ticket, "verify"))
    assert refused.status_code == 409 and "处置中" in refused.json()["detail"]
    assert api.post("squad", url(ticket, "resolve"), {**RESOLVE, "disposal_mode": "管理"}).status_code == 200
    assert api.post("command", url(ticket, "verify")).json()["status"] == "closed"
    assert api.post("command", url(ticket, "reopen"), {"reason": "再次返工"}).status_code == 409  # closed
    assert api.case(ticket).reopens == 1 and api.case(ticket).disposal_mode == "管理"
    types = [h["type"] for h in history(api, ticket)]
    assert types[-4:] == ["resolved", "reopened", "resolved", "closed"]


def test_double_return_goes_to_command_centre_whose_decision_is_final(api: Api) -> None:
    # wrongly dispatched to 如城: the core re-routes the 白蒲 text to SQ_BAIPU
    ticket = make_case(api.sessions, unit="SQ_RUCHENG", territory="320682001", village=None)
    assert api.post("squad_other", url(ticket, "return"), {}).status_code == 422
    assert api.post("squad_other", url(ticket, "return"), {"reason": " "}).status_code == 422
    assert api.case(ticket).returns == 0
    r = api.post("squad_other", url(ticket, "return"), {"reason": "地点在白蒲镇，不属本辖区"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dispatched" and r.json()["unit"] == "SQ_BAIPU"
    case = api.case(ticket)
    assert case.returns == 1 and case.territory == "320682105" and case.accepted_at is None
    assert api.post("squad", url(ticket, "accept")).status_code == 200
    r = api.post("squad", url(ticket, "return"), {"reason": "属于建设工程执法大队"})
    assert r.json()["status"] == "awaiting_decision" and r.json()["unit"] == "COMMAND_CENTER"
    assert api.case(ticket).returns == 2
    assert api.post("squad", url(ticket, "return"), {"reason": "再退"}).status_code == 403  # not its case now
    refused = api.post("admin", url(ticket, "return"), {"reason": "再退"})
    assert refused.status_code == 409 and "待市级裁定" in refused.json()["detail"]
    assert api.post("command", url(ticket, "decide"), {"unit": "NOPE"}).status_code == 422
    r = api.post("command", url(ticket, "decide"), {"unit": "SQ_BAIPU"})
    assert r.status_code == 200 and r.json()["status"] == "dispatched" and r.json()["unit"] == "SQ_BAIPU"
    final = api.post("squad", url(ticket, "return"), {"reason": "还是不归我们"})
    assert final.status_code == 409 and "裁定" in final.json()["detail"]
    assert api.case(ticket).final_decision is True
    types = [h["type"] for h in history(api, ticket)]
    assert types == ["received", "dispatched", "returned", "accepted", "returned", "decided"]


def test_return_to_the_same_unit_goes_to_command_centre(api: Api) -> None:
    ticket = make_case(api.sessions)
    r = api.post("squad", url(ticket, "return"), {"reason": "不归本中队管"})
    assert r.json()["unit"] == "COMMAND_CENTER" and r.json()["status"] == "dispatched"
    assert api.case(ticket).returns == 1


def test_squad_gets_403_on_another_units_case(api: Api) -> None:
    ticket = make_case(api.sessions)
    before = counts(api, ticket)
    for action, body in (("accept", None), ("return", {"reason": "不是我们的"}), ("resolve", RESOLVE)):
        r = api.post("squad_other", url(ticket, action), body)
        assert r.status_code == 403, (action, r.text)
    assert api.get("squad_other", f"/api/v1/cases/{ticket}").status_code == 403
    assert api.get("squad_other", "/api/v1/cases", unit="SQ_BAIPU").status_code == 403
    assert api.post("squad", url(ticket, "verify")).status_code == 403  # command-centre action
    assert counts(api, ticket) == before


def test_illegal_transition_is_409_naming_the_status_and_stores_nothing(api: Api) -> None:
    ticket = make_case(api.sessions)
    before = counts(api, ticket)
    r = api.post("command", url(ticket, "verify"))
    assert r.status_code == 409 and "已派遣" in r.json()["detail"]
    r = api.post("squad", url(ticket, "resolve"), RESOLVE)
    assert r.status_code == 409 and "已派遣" in r.json()["detail"]
    assert counts(api, ticket) == before


def test_bad_input_names_the_field_and_stores_nothing(api: Api) -> None:
    ticket = make_case(api.sessions)
    api.post("squad", url(ticket, "accept"))
    before = counts(api, ticket)
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("resolve", {"result": "好了", "disposal_mode": "罚款"}, "disposal_mode"),
        ("resolve", {"disposal_mode": "服务"}, "result"),
        ("resolve", {**RESOLVE, "photos": ["ftp://x"]}, "photos"),
        ("extension", {"reason": "需要协调", "hours": 0}, "hours"),
        ("extension", {"hours": 24}, "reason"),
        ("return", {"reason": "x", "extra": 1}, "extra"),
    ]
    for action, body, field in bad:
        r = api.post("squad", url(ticket, action), body)
        assert r.status_code == 422, (action, r.text)
        assert any(field in e["loc"] for e in r.json()["detail"]), (field, r.json())
    assert api.post("command", url(ticket, "reassign"), {"unit": "SQ_NOWHERE"}).status_code == 422
    assert api.post("command", url(ticket, "merge"), {"into_ticket": "RG20990101000001"}).status_code == 422
    assert api.post("squad", "/api/v1/cases/not-a-ticket/accept").status_code == 422
    assert api.post("squad", url("RG20990101000001", "accept")).status_code == 404
    assert counts(api, ticket) == before


def test_extension_request_approve_and_refuse(api: Api) -> None:
    ticket = make_case(api.sessions)
    api.post("squad", url(ticket, "accept"))
    assert api.post("command", url(ticket, "extension/approve")).status_code == 409  # nothing pending
    old_due = api.case(ticket).resolve_by
    assert api.post("squad", url(ticket, "extension"), {"reason": "需协调住建部门", "hours": 48}).status_code == 200
    assert api.post("squad", url(ticket, "extension"), {"reason": "再申请", "hours": 1}).status_code == 409
    r = api.post("command", url(ticket, "extension/approve"))
    assert r.status_code == 200, r.text
    case = api.case(ticket)
    assert case.extended and case.extension == "approved" and case.resolve_by is not None and old_due is not None
    assert (case.resolve_by - old_due).total_seconds() == 48 * 3600
    again = api.post("squad", url(ticket, "extension"), {"reason": "还需时间", "hours": 24})
    assert again.status_code == 409 and "已批准过一次延期" in again.json()["detail"]  # core: one extension
    api.set(ticket, extension="requested", extension_hours=24)
    assert api.post("command", url(ticket, "extension/refuse"), {}).status_code == 422  # reason required
    assert api.post("command", url(ticket, "extension/refuse"), {"reason": "不符合延期条件"}).json()["status"] == "accepted"
    assert api.case(ticket).extension == "refused" and api.case(ticket).resolve_by == case.resolve_by


def test_command_centre_side_paths(api: Api) -> None:
    keep, dup, other, consult = (make_case(api.sessions) for _ in range(4))
    assert api.post("command", url(dup, "merge"), {"into_ticket": dup}).status_code == 422
    r = api.post("command", url(dup, "merge"), {"into_ticket": keep})
    assert r.status_code == 200 and r.json()["status"] == "merged"
    assert api.case(dup).merged_into == keep
    assert "duplicate_merged" in [h["type"] for h in history(api, keep)]
    assert api.post("command", url(other, "merge"), {"into_ticket": dup}).status_code == 409  # target finished
    r = api.post("operator", url(other, "forward"), {"note": "属劳动保障，转12345"})
    assert r.json()["status"] == "forwarded"
    assert api.post("operator", url(consult, "answer"), {"answer": "夜间施工需办理夜间施工许可"}).json()["status"] == "answered"
    assert api.post("operator", url(keep, "supervise"), {"note": "请尽快处理"}).status_code == 403
    r = api.post("command", url(keep, "supervise"), {"note": "群众反映强烈，请今日办结"})
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    with api.sessions() as s:
        alert_rows = s.scalars(select(OutboxRow).where(OutboxRow.topic == ALERTS)).all()
    assert len(alert_rows) == 1 and "督办" in json.loads(alert_rows[0].payload)["message"]
    r = api.post("command", url(keep, "reassign"), {"unit": "CITY_CONSTRUCTION", "category": "CONSTRUCTION_SAFETY"})
    assert r.status_code == 200 and r.json()["unit"] == "CITY_CONSTRUCTION"
    assert api.case(keep).category == "CONSTRUCTION_SAFETY"


def test_retried_action_applies_once(api: Api) -> None:
    ticket = make_case(api.sessions)
    first = api.post("squad", url(ticket, "accept"), None, **{"Idempotency-Key": "acc-1"})
    again = api.post("squad", url(ticket, "accept"), None, **{"Idempotency-Key": "acc-1"})
    assert first.status_code == again.status_code == 200
    assert again.json()["replayed"] is True and again.json()["event_id"] == first.json()["event_id"]
    body = {"reason": "需要协调", "hours": 12, "action_id": "ext-7"}
    assert api.post("squad", url(ticket, "extension"), body).status_code == 200
    assert api.post("squad", url(ticket, "extension"), body).json()["replayed"] is True
    reused = api.post("squad", url(ticket, "start"), None, **{"Idempotency-Key": "acc-1"})
    assert reused.status_code == 422
    types = [h["type"] for h in history(api, ticket)]
    assert types.count("accepted") == 1 and types.count("extension_requested") == 1


def test_stale_version_is_409_and_concurrent_accepts_apply_once(api: Api) -> None:
    ticket = make_case(api.sessions)
    r = api.post("squad", url(ticket, "accept"), {"expected_version": 1})
    assert r.status_code == 409 and "版本" in r.json()["detail"]
    assert api.post("squad", url(ticket, "accept"), {"expected_version": 2}).status_code == 200
    racing = make_case(api.sessions)
    barrier = threading.Barrier(4)

    def accept(_: int) -> int:
        barrier.wait()
        return int(api.post("squad", url(racing, "accept")).status_code)

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(accept, range(4)))
    assert codes.count(200) == 1 and set(codes) <= {200, 409}, codes
    assert [h["type"] for h in history(api, racing)].count("accepted") == 1
    assert api.case(racing).version == 3
    case: Case = api.case(racing)
    assert case.status == "accepted"
