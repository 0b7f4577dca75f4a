"""What a citizen reads about their case: the stages and a timeline in plain words, in Beijing time.

Pure: built from the case's status and unit and its history rows, with no I/O.  Only the
moments that matter to the citizen are told (received, dispatched, accepted, being handled,
resolved, answered ...); internal steps (extension requests, 督办, linked calls, merges into
this case) are left out, and nothing names a member of staff, a phone number, an address, a
reason or a note: a line is a fixed Chinese sentence plus the handling unit's public name, and
the outcome text the unit wrote for the citizen (its result or answer).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from services.core.config import CityConfig, Unit
from services.core.workflow import FINISHED, RATEABLE, UNASSIGNED

PAGE = "/citizen"  # the citizens' page (services/tracker/pages/citizen.py)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    type: str
    at: datetime
    data: Mapping[str, Any]


def link_key(secret: str, ticket_no: str) -> str:
    """The key of a ticket's link (HMAC-SHA256 of the ticket number, 128 bits in hex)."""
    return hmac.new(secret.encode(), f"citizen-link:{ticket_no}".encode(), hashlib.sha256).hexdigest()[:32]


def key_matches(secret: str | None, ticket_no: str, key: str) -> bool:
    return bool(secret) and hmac.compare_digest(link_key(secret or "", ticket_no), key)


def status_url(base_url: str, ticket_no: str, secret: str | None = None) -> str:
    """The citizen page of a ticket under the public base URL (the link in notifications); with the link
    secret it carries the ticket's key, which opens the case without the phone's last four digits."""
    key = f"&k={link_key(secret, ticket_no)}" if secret else ""
    return f"{base_url.rstrip('/')}{PAGE}?t={ticket_no}{key}"


def beijing(moment: datetime | None, tz: tzinfo) -> str | None:
    """``YYYY-MM-DD HH:mm`` in the city's time zone."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else None


def unit_name(units: Mapping[str, Unit], unit_id: str | None) -> str:
    unit = units.get(unit_id or "")
    return unit.citizen_name if unit else "承办单位"


def centre_name(city: CityConfig) -> str:
    """The command centre as citizens read it (routing.yaml `command_centre`)."""
    return unit_name(city.units, city.command_centre)


def headline(status: str, unit: str, can_rate: bool = False, *, centre: str) -> str:
    """The current state in one sentence (a finished case not yet rated invites the rating);
    ``centre`` is the command centre's name."""
    if status in RATEABLE:
        return "已办结，欢迎您对处理结果进行评价" if can_rate else "已办结"
    return {
        "received": "已受理，正在安排承办单位",
        "dispatched": f"已派至{unit}，等待处理",
        "accepted": f"{unit}已签收，正在处置",
        "in_progress": f"{unit}正在处置",
        "returned": "正在重新安排承办单位",
        "awaiting_decision": f"正在由{centre}协调承办单位",
        "answered": "已答复",
        "forwarded": "已转交12345政务服务热线办理",
        "merged": "已与反映同一问题的工单合并办理",
    }.get(status, "办理中")


def stages(status: str, unit: str) -> list[dict[str, str]]:
    """The steps of the case, each ``done``, ``current`` or ``todo``."""
    if status == "answered":
        return [_stage("已受理", "done"), _stage("已答复", "done")]
    if status == "forwarded":
        return [_stage("已受理", "done"), _stage("已转交12345政务服务热线", "done")]
    if status == "merged":
        return [_stage("已受理", "done"), _stage("已合并办理", "done")]
    second = "正在安排承办单位" if status in UNASSIGNED else f"已派至{unit}"
    reached = {"received": 0, "returned": 1, "awaiting_decision": 1, "dispatched": 1, "accepted": 2,
               "in_progress": 2, "resolved": 3, "closed": 3}.get(status, 0)
    out = []
    for i, label in enumerate(("已受理", second, "处置中", "已办结")):
        if i < reached or (i == reached and status in FINISHED):
            out.append(_stage(label, "done"))
        else:
            out.append(_stage(label, "current" if i == reached else "todo"))
    return out


def _stage(label: str, state: str) -> dict[str, str]:
    return {"label": label, "state": state}


def _line(row: HistoryRow, city: CityConfig) -> str | None:
    d = row.data or {}
    to = unit_name(city.units, d.get("unit"))
    centre = centre_name(city)
    if row.type == "received":
        return "您的诉求已受理"
    if row.type == "dispatched":
        return f"已派至{to}" if d.get("unit") != city.command_centre else f"已转{centre}安排承办单位"
    if row.type in ("reassigned", "decided", "rerouted"):
        return f"已改派至{to}"
    if row.type == "returned":
        return f"已改派至{to}" if d.get("then") == "reroute" else f"正在由{centre}协调承办单位"
    if row.type == "accepted":
        return "承办单位已签收"
    if row.type == "started":
        return "承办单位开始处置"
    if row.type == "extension_approved":
        return "因处置需要，办理时限已延长"
    if row.type == "resolved":
        return "已办结：承办单位已处理并反馈结果"
    if row.type == "reopened":
        return "经核查需进一步处置，承办单位重新处置中"
    if row.type == "closed":
        return "经核查，处理结果属实，已结案"
    if row.type == "answered":
        return "已答复"
    if row.type == "forwarded":
        return "不属于城市管理事项，已转交12345政务服务热线办理"
    if row.type == "merged":
        return "与反映同一问题的工单合并办理"
    if row.type == "rated":
        return f"您已评价：{d.get('rating')}" if d.get("rating") else "您已评价"
    if row.type == "supplemented":
        return _supplement_line(d)
    return None  # internal: extension requests and refusals, 督办, linked calls, merges into this case


def _supplement_line(d: Mapping[str, Any]) -> str:
    photos = sum(1 for a in d.get("attachments") or [] if isinstance(a, dict) and a.get("kind") == "image")
    parts = (["文字说明"] if d.get("text") else []) + ([f"{photos}张照片"] if photos else [])
    if d.get("location"):
        parts.append("位置")
    return "您补充了" + ("、".join(parts) if parts else "信息")


def timeline(rows: Iterable[HistoryRow], city: CityConfig, tz: tzinfo) -> list[dict[str, str]]:
    """The told moments, oldest first, each ``{"at": "YYYY-MM-DD HH:mm", "text": ...}``."""
    out = []
    for row in sorted(rows, key=lambda r: r.at):
        text = _line(row, city)
        if text is not None:
            out.append({"at": beijing(row.at, tz) or "", "text": text})
    return out
