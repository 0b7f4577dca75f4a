"""GET /api/v1/meta: the names the pages show (categories, towns, units, statuses) and who is logged in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from services.core.alerts import AlertKind
from services.core.workflow import ACTION_LABELS, STATUS_LABELS, TRANSITIONS
from services.tracker.auth import Principal, Role, require
from services.tracker.pages.access import ROLE_NAMES
from services.tracker.pages.labels import labels, user_names
from services.tracker.pages.responses import Meta
from services.tracker.routes_cases import db

router = APIRouter(prefix="/api/v1", tags=["pages"])

EVENT_NAMES = {
    "received": "受理", "dispatched": "派遣", "accepted": "签收", "started": "开始处置", "returned": "退单",
    "extension_requested": "申请延期", "extension_approved": "批准延期", "extension_refused": "驳回延期",
    "resolved": "处置反馈", "closed": "核查结案", "reopened": "返工", "reassigned": "改派", "decided": "裁定",
    "supervised": "督办", "merged": "合并", "duplicate_merged": "并入重复件", "forwarded": "转12345",
    "answered": "直接答复", "rated": "评价", "linked_call": "关联来电", "alert": "告警",
    "rerouted": "重新派遣", "supplemented": "市民补充", "photo_added": "上传现场照片",
}
ALERT_NAMES = {
    AlertKind.ACCEPT_NEAR_DUE.value: "签收即将超时", AlertKind.ACCEPT_OVERDUE.value: "签收超时",
    AlertKind.RESOLVE_NEAR_DUE.value: "办结即将超时", AlertKind.RESOLVE_OVERDUE.value: "办结超时",
    AlertKind.HOTSPOT.value: "热点", AlertKind.SUPERVISION.value: "督办",
}


# core workflow action -> the API's action (endpoint) name
API_ACTIONS = {"request_extension": "extension", "approve_extension": "extension_approve",
               "refuse_extension": "extension_refuse"}
EXTRA_STATUS_NAMES = {"reopened": "返工中"}


def transitions() -> dict[str, list[str]]:
    """Status -> API actions the workflow allows: the pages offer only these (the API has the last word)."""
    out: dict[str, list[str]] = {}
    for status, action in TRANSITIONS:
        out.setdefault(status.value, []).append(API_ACTIONS.get(action.value, action.value))
    return out


def action_names() -> dict[str, str]:
    return {API_ACTIONS.get(a.value, a.value): label for a, label in ACTION_LABELS.items()}


@router.get("/meta", summary="页面所需的名称表与当前用户")
def get_meta(
    request: Request,
    principal: Annotated[Principal, Depends(require(Role.OPERATOR, Role.COMMAND, Role.SQUAD))],
    session: Annotated[Session, Depends(db)],
) -> Meta:
    city = request.app.state.core.city
    unit = city.units.get(principal.unit or "")
    return Meta.model_validate({
        "me": {"name": principal.name, "role": principal.role.value, "role_name": ROLE_NAMES[principal.role],
               "unit": principal.unit, "unit_name": unit.name if unit else None},
        "city": {"code": city.code, "name": city.name, "timezone": city.timezone},
        "categories": [{"code": c.code, "name": c.name, "group": c.group, "group_name": city.groups.get(c.group, c.group),
                        "handler": c.handler} for c in city.categories.values()],
        "territories": [{"code": t.code, "name": t.name} for t in city.territories.values()],
        "units": [{"id": u.id, "name": u.name} for u in city.units.values()],
        "statuses": {**EXTRA_STATUS_NAMES, **{k.value: v for k, v in STATUS_LABELS.items()}},
        "actions": action_names(),
        "transitions": transitions(),
        "events": EVENT_NAMES,
        "alerts": ALERT_NAMES,
        "disposal_modes": ["服务", "管理", "执法"],
        **labels(city, user_names(session, principal)),  # rules, evidence, actors, toasts (labels.py)
    })
