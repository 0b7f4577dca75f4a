"""Open311 GeoReport v2 under /open311/v2/ (JSON and XML; the spec makes XML mandatory).

- ``GET services.{fmt}`` / ``GET services/{code}.{fmt}``: the taxonomy of the city.
- ``POST requests.{fmt}``: a complaint through the same ``IntakeService`` as the hotline
  (channel ``open311``); authenticated by the spec's ``api_key`` = any valid token.
- ``GET requests.{fmt}`` (filters ``service_request_id``, ``service_code``, ``start_date``,
  ``end_date``, ``status``) and ``GET requests/{id}.{fmt}``: status open/closed with notes.
  Public as the spec wants, but without personal data; the complaint text, address and
  coordinates only with a valid ``api_key``.
- Errors in the spec's format: ``[{"code": ..., "description": ...}]`` / ``<errors>``.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.core import quality
from services.core.events import MAX_TEXT_CHARS, Attachment, Channel, GeoPoint
from services.core.workflow import ENDED, values
from services.intake.hotline import PHONE_RE, REPLAY_HEADER
from services.intake.open311_format import FORMATS, Open311Error, error, render
from services.intake.service import (
    BrokerUnavailable,
    ComplaintDraft,
    IdempotencyConflict,
    IntakeService,
    RequestInProgress,
)
from services.platform import metrics
from services.tracker.auth import Authenticator, Principal
from services.tracker.models import Case, IntakeRecord

router = APIRouter(prefix="/open311/v2", tags=["open311"])
CLOSED = values(ENDED)  # Open311 "closed": nothing more is done
STATUS_NOTES = {"received": "已受理", "dispatched": "已派遣至承办单位", "accepted": "承办单位已签收",
                "in_progress": "处置中", "returned": "已退单，重新派遣中",
                "awaiting_decision": "待指挥中心裁定承办单位", "resolved": "已处置，待核查", "closed": "已办结", "merged": "与其他工单合并办理",
                "forwarded": "已转12345政务服务热线", "answered": "已答复"}
MAX_RESULTS = 1000
DEFAULT_SPAN = timedelta(days=90)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- the answers (JSON; the XML carries the same fields: services/intake/open311_format.py) ------


class ServiceOut(BaseModel):
    service_code: str
    service_name: str
    description: str | None
    metadata: bool
    type: str
    keywords: str
    group: str


class ServiceDefinitionOut(BaseModel):
    service_code: str
    attributes: list[dict[str, Any]]


class RequestCreatedOut(BaseModel):
    service_request_id: str = Field(description="工单号")
    service_notice: str
    account_id: str | None


class ServiceRequestOut(BaseModel):
    """Without a valid api_key the text, address, coordinates and media are null; a request not yet
    filed as a case (still on its way) has only the first six fields."""

    service_request_id: str
    status: str = Field(description="open / closed")
    status_notes: str
    service_name: str | None
    service_code: str | None
    requested_datetime: str = Field(json_schema_extra={"format": "date-time"})
    updated_datetime: str = Field(json_schema_extra={"format": "date-time"})
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    expected_datetime: str | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


class Open311ErrorOut(BaseModel):
    code: int
    description: str


def _doc(model: Any, description: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The answer in JSON (``model``) or XML (``.xml``), and errors in the spec's format."""
    return {status: {"model": model, "description": description,
                     "content": {"text/xml": {"schema": {"type": "string"}}}},
            400: {"model": list[Open311ErrorOut], "description": "错误（规范格式）"},
            404: {"model": list[Open311ErrorOut], "description": "不存在或格式不支持"}}


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"不支持的格式 .{fmt[:10]}，请用 .json 或 .xml")
    return fmt


# --- services -------------------------------------------------------------------------------------


def _service(request: Request, code: str) -> dict[str, Any]:
    city = request.app.state.core.city
    cat = city.categories[code]
    return {"service_code": cat.code, "service_name": cat.name, "description": cat.description,
            "metadata": False, "type": "realtime", "keywords": cat.group, "group": city.groups.get(cat.group, cat.group)}


@router.get("/services.{fmt}", summary="Open311 服务（投诉类别）列表", response_class=Response,
            responses=_doc(list[ServiceOut], "服务列表"))
def services(request: Request, fmt: str) -> Response:
    try:
        out = [_service(request, code) for code in request.app.state.core.city.categories]
        return render(_fmt(fmt), "services", "service", out)
    except Open311Error as exc:
        return error(fmt, exc)


@router.get("/services/{service_code}.{fmt}", summary="Open311 服务定义", response_class=Response,
            responses=_doc(ServiceDefinitionOut, "服务定义（无附加属性）"))
def service_definition(request: Request, service_code: str, fmt: str) -> Response:
    try:
        _fmt(fmt)
        if service_code not in request.app.state.core.city.categories:
            raise Open311Error(404, f"服务 {service_code[:40]} 不存在")
        return render(fmt, "service_definition", "", {"service_code": service_code, "attributes": []})
    except Open311Error as exc:
        return error(fmt, exc)


# --- requests -----------------------------------------------------------------------------------


async def _params(request: Request) -> dict[str, str]:
    params = {k: v for k, v in request.query_params.items()}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if raw and ctype == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            raise Open311Error(400, "请求体不是有效的 JSON") from None
        if not isinstance(body, dict):
            raise Open311Error(400, "请求体必须是 JSON 对象")
        params.update({str(k): str(v) for k, v in body.items() if v is not None})
    elif raw:
        if ctype not in ("", "application/x-www-form-urlencoded"):
            raise Open311Error(400, f"不支持的请求类型 {ctype[:40]}（请用 application/x-www-form-urlencoded）")
        try:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=False, strict_parsing=False)
        except UnicodeDecodeError:
            raise Open311Error(400, "请求体必须是 UTF-8 编码") from None
        params.update({k: v[0] for k, v in form.items()})
    for key, value in params.items():
        if _CONTROL.search(value):
            raise Open311Error(400, f"{key} 包含不允许的控制字符")
    return params


async def _principal(request: Request, api_key: str | None, required: bool) -> Principal | None:
    if not api_key:
        if required:
            raise Open311Error(403, "缺少 api_key")
        return None
    auth: Authenticator = request.app.state.auth
    principal = await asyncio.to_thread(auth.authenticate, api_key)
    if principal is None:
        raise Open311Error(403, "api_key 无效")
    return principal


def _float(params: dict[str, str], key: str, low: float, high: float) -> float | None:
    if not params.get(key):
        return None
    try:
        value = float(params[key])
    except ValueError:
        raise Open311Error(400, f"{key} 必须是数字") from None
    if not low <= value <= high:
        raise Open311Error(400, f"{key} 超出范围")
    return value


def draft_from(params: dict[str, str], request: Request, principal: Principal) -> ComplaintDraft:
    city = request.app.state.core.city
    code = params.get("service_code", "")
    if code not in city.categories:
        raise Open311Error(400, "service_code 缺失或无效")
    text = params.get("description", "").strip()
    refused = quality.refusal(text, max_chars=min(city.max_text_chars, MAX_TEXT_CHARS), field="description")
    if refused is not None:
        raise Open311Error(400, f"{refused.message}（{refused.code}）")
    lat, lon = _float(params, "lat", -90, 90), _float(params, "long", -180, 180)
    address = (params.get("address_string") or "").strip()[:500] or None
    if (lat is None or lon is None) and not address and not params.get("address_id"):
        raise Open311Error(400, "需要位置：lat 和 long，或 address_string，或 address_id")
    phone = (params.get("phone") or "").replace(" ", "").replace("-", "") or None
    if phone is not None and not PHONE_RE.match(phone):
        raise Open311Error(400, "phone 格式不正确")
    name = (params.get("last_name", "") + params.get("first_name", "")).strip()[:100] or None
    media = params.get("media_url")
    if media and not re.match(r"^https?://\S{3,1990}$", media):
        raise Open311Error(400, "media_url 必须是 http(s) 链接")
    location = GeoPoint(lat=lat, lon=lon, label=address) if lat is not None and lon is not None else None
    return ComplaintDraft(
        channel=Channel.OPEN311, text=text, phone=phone, name=name, category_override=code,
        address=address, location=location, submitted_by=f"open311:{principal.actor}",
        attachments=(Attachment(kind="image", url=media),) if media else (),
    )


@router.post("/requests.{fmt}", status_code=201, summary="Open311 提交投诉", response_class=Response,
             responses={**_doc(list[RequestCreatedOut], "已受理"),
                        200: {"model": list[RequestCreatedOut], "description": "重复提交（同一 Idempotency-Key）"},
                        403: {"model": list[Open311ErrorOut], "description": "缺少或无效的 api_key"}})
async def create_request(request: Request, fmt: str) -> Response:
    try:
        _fmt(fmt)
        params = await _params(request)
        principal = await _principal(request, params.get("api_key"), required=True)
        assert principal is not None
        draft = draft_from(params, request, principal)
        intake: IntakeService = request.app.state.intake
        key = request.headers.get("idempotency-key")
        try:
            ticket = await intake.submit(draft, idempotency_key=f"open311:{key}"[:200] if key else None)
        except BrokerUnavailable:
            metrics.REJECTED.labels("broker").inc()
            raise Open311Error(503, "消息队列暂不可用，投诉未受理，请稍后重试") from None
        except RequestInProgress:
            raise Open311Error(409, "相同 Idempotency-Key 的请求正在处理中") from None
        except IdempotencyConflict:
            raise Open311Error(409, f"Idempotency-Key「{key}」已用于另一份内容不同的请求，本次请求未受理；"
                                    "新的请求请换用新的 Idempotency-Key") from None
        if not ticket.replayed:
            metrics.RECEIVED.labels("open311").inc()
            metrics.PUBLISHED.labels("open311").inc()
        out = [{"service_request_id": ticket.ticket_no, "service_notice": "投诉已受理，请凭工单号查询办理进度",
                "account_id": None}]
        if ticket.replayed:  # a retry with the same key and body: the request filed before
            replay = render(fmt, "service_requests", "request", out, 200)
            replay.headers[REPLAY_HEADER] = "true"
            return replay
        return render(fmt, "service_requests", "request", out, 201)
    except Open311Error as exc:
        return error(fmt, exc)


def _when(raw: str | None, key: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{key} 必须是 W3C 格式时间，如 2026-11-26T08:00:00+08:00") from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{key} 需要带时区")
    return value.astimezone(UTC)


def request_view(request: Request, case: Case, full: bool) -> dict[str, Any]:
    city = request.app.state.core.city
    cat = city.categories.get(case.category) if case.category else None
    unit = city.units.get(case.unit) if case.unit else None
    closed = case.status in CLOSED
    notes = STATUS_NOTES.get(case.status, case.status)
    loc = case.location or {}
    media = [str(a["url"]) for a in case.attachments or [] if a.get("url")] + [str(p) for p in case.photos or []]
    base = str(request.base_url).rstrip("/")
    media = [base + m if m.startswith("/") else m for m in media]  # a squad's uploaded photo: this API's path
    out: dict[str, Any] = {
        "service_request_id": case.ticket_no, "status": "closed" if closed else "open",
        "status_notes": f"{notes}：{case.result}" if closed and case.result else notes,
        "service_name": cat.name if cat else None, "service_code": case.category,
        "description": case.text if full else None, "agency_responsible": unit.name if unit else None,
        "service_notice": None, "requested_datetime": case.received_at.isoformat(),
        "updated_datetime": case.updated_at.isoformat(),
        "expected_datetime": case.resolve_by.isoformat() if case.resolve_by else None,
        "address": case.address if full else None, "address_id": None, "zipcode": None,
        "lat": loc.get("lat") if full else None, "long": loc.get("lon") if full else None,
        "media_url": (media[0] if media else None) if full else None,
    }
    return out


def _pending_view(record: IntakeRecord) -> dict[str, Any]:
    return {"service_request_id": record.ticket_no, "status": "open", "status_notes": STATUS_NOTES["received"],
            "service_name": None, "service_code": None, "requested_datetime": record.created_at.isoformat(),
            "updated_datetime": record.created_at.isoformat()}


def _query(request: Request, params: dict[str, str], full: bool) -> list[dict[str, Any]]:
    ids = [i.strip() for i in params.get("service_request_id", "").split(",") if i.strip()][:MAX_RESULTS]
    with request.app.state.sessions() as s:
        if ids:
            cases = list(s.scalars(select(Case).where(Case.ticket_no.in_(ids))))
            found = {c.ticket_no for c in cases}
            pending = [r for r in s.scalars(select(IntakeRecord).where(IntakeRecord.ticket_no.in_(ids)))
                       if r.ticket_no not in found]
            return [request_view(request, c, full) for c in cases] + [_pending_view(r) for r in pending]
        end = _when(params.get("end_date"), "end_date") or datetime.now(UTC)
        start = _when(params.get("start_date"), "start_date") or end - DEFAULT_SPAN
        q = select(Case).where(Case.received_at >= start, Case.received_at <= end)
        codes = [c for c in params.get("service_code", "").split(",") if c]
        if codes:
            q = q.where(Case.category.in_(codes))
        statuses = {x.strip() for x in params.get("status", "").split(",") if x.strip()}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status 只能是 open 或 closed")
        if statuses == {"open"}:
            q = q.where(Case.status.not_in(CLOSED))
        elif statuses == {"closed"}:
            q = q.where(Case.status.in_(CLOSED))
        cases = list(s.scalars(q.order_by(Case.received_at.desc()).limit(MAX_RESULTS)))
        return [request_view(request, c, full) for c in cases]


@router.get("/requests.{fmt}", summary="Open311 查询投诉", response_class=Response,
            responses=_doc(list[ServiceRequestOut], "投诉列表"))
async def list_requests(request: Request, fmt: str) -> Response:
    try:
        _fmt(fmt)
        params = {k: v for k, v in request.query_params.items()}
        full = await _principal(request, params.get("api_key"), required=False) is not None
        out = await asyncio.to_thread(_query, request, params, full)
        return render(fmt, "service_requests", "request", out)
    except Open311Error as exc:
        return error(fmt, exc)


@router.get("/requests/{service_request_id}.{fmt}", summary="Open311 单个投诉", response_class=Response,
            responses=_doc(list[ServiceRequestOut], "投诉（规范规定为只含一项的列表）"))
async def get_request(request: Request, service_request_id: str, fmt: str) -> Response:
    try:
        _fmt(fmt)
        if not re.match(r"^[A-Z]{1,6}\d{14}$", service_request_id):
            raise Open311Error(404, "工单不存在")
        full = await _principal(request, request.query_params.get("api_key"), required=False) is not None
        out = await asyncio.to_thread(_query, request, {"service_request_id": service_request_id}, full)
        if not out:
            raise Open311Error(404, f"工单 {service_request_id} 不存在")
        return render(fmt, "service_requests", "request", out)
    except Open311Error as exc:
        return error(fmt, exc)
