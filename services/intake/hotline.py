"""Hotline intake: POST /api/v1/complaints (operators)."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from services.core import quality
from services.core.config import CityConfig
from services.core.events import MAX_TEXT_CHARS, Channel
from services.intake.service import (
    BrokerUnavailable,
    ComplaintDraft,
    IdempotencyConflict,
    IntakeService,
    RequestInProgress,
)
from services.platform import metrics
from services.tracker.auth import Principal, Role, require

PHONE_RE = re.compile(r"^\+?[0-9][0-9\- ]{4,19}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise_phone(v: str) -> str:
    if not PHONE_RE.match(v):
        raise ValueError("电话号码格式不正确")
    return v.replace(" ", "").replace("-", "")


Phone = Annotated[str, Field(min_length=5, max_length=20, description="来电号码"), AfterValidator(normalise_phone)]


class HotlineComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Literal["hotline"] = "hotline"
    text: str = Field(description=f"投诉内容（不能为空，最多 {MAX_TEXT_CHARS} 个字；城市配置 max_text_chars 可更少）")
    phone: Phone
    name: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=500)
    reported_at: datetime | None = None
    category_override: str | None = Field(default=None, pattern=r"^[A-Z_]{2,40}$", description="接线员更正的类别")
    territory_override: str | None = Field(default=None, pattern=r"^\d{6,12}$", description="接线员更正的镇（街道、区）代码")
    unit_override: str | None = Field(default=None, pattern=r"^[A-Z0-9_]{2,40}$", description="接线员指定的承办单位")

    @field_validator("text", "name", "address")
    @classmethod
    def _no_control(cls, v: str | None) -> str | None:
        if v is not None and _CONTROL.search(v):
            raise ValueError("包含不允许的控制字符")
        return v

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        refused = quality.refusal(v, max_chars=MAX_TEXT_CHARS)
        if refused is not None:
            raise PydanticCustomError(refused.code, refused.message, {"length": refused.length, "limit": refused.limit})
        return v

    @field_validator("reported_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("reported_at 需要带时区，例如 2026-11-26T08:00:00+08:00")
        return v


class TicketOut(BaseModel):
    complaint_id: str
    ticket_no: str
    received_at: datetime
    replayed: bool = False


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")]

router = APIRouter(prefix="/api/v1", tags=["intake"])


async def intake_service(request: Request) -> IntakeService:
    service: IntakeService = request.app.state.intake
    return service


def check_text(city: CityConfig, text: str, field: str = "text") -> None:
    """The city's limit on the text (``city.yaml`` max_text_chars, at most the contract's): 422 names the field."""
    refused = quality.refusal(text, max_chars=city.max_text_chars, field=field)
    if refused is not None:  # the same 422 body as the model's own validation (services/tracker/validation_zh.py)
        raise RequestValidationError([{"loc": ("body", field), "msg": refused.message, "type": refused.code,
                                       "ctx": {"length": refused.length, "limit": refused.limit}}])


def check_overrides(city: CityConfig, body: HotlineComplaintIn | Any) -> None:
    """An override must name a category / territory / unit of the city (422 names the field).

    Shared by the intake and the console's suggestions (any body with the three override fields)."""
    given: dict[str, tuple[str | None, Collection[str]]] = {
             "category_override": (body.category_override, city.categories),
             "territory_override": (body.territory_override, city.territories),
             "unit_override": (body.unit_override, city.units)}
    errors = [{"loc": ["body", name], "msg": f"未知的取值 {value}", "type": "value_error"}
              for name, (value, known) in given.items() if value is not None and value not in known]
    if errors:
        raise HTTPException(422, errors)


REPLAY_HEADER = "Idempotent-Replay"


def idempotency_conflict(key: str) -> JSONResponse:
    """409: the key was used for a request with another body; nothing was recorded for this one."""
    msg = (f"Idempotency-Key「{key}」已用于另一份内容不同的投诉，本次投诉未受理；"
           "如是新的投诉，请换用新的 Idempotency-Key 重新提交")
    detail = [{"loc": ["header", "Idempotency-Key"], "field": "Idempotency-Key", "msg": msg,
               "type": "idempotency_key_reused", "key": key,
               "msg_en": "this Idempotency-Key was used for a request with a different body"}]
    return JSONResponse({"message": msg, "detail": detail}, status_code=409)


@router.post("/complaints", status_code=201, response_model=TicketOut,
             responses={200: {"description": "a retry (same Idempotency-Key, same body): the ticket given before, "
                                             "header Idempotent-Replay: true", "model": TicketOut},
                        409: {"description": "the Idempotency-Key was used for another body, or its request "
                                             "is still running"},
                        503: {"description": "broker unavailable: nothing was recorded"}})
async def submit_complaint(
    request: Request,
    response: Response,
    body: HotlineComplaintIn,
    service: Annotated[IntakeService, Depends(intake_service)],
    principal: Annotated[Principal, Depends(require(Role.OPERATOR, Role.COMMAND))],
    idempotency_key: IdempotencyKey = None,
) -> TicketOut | JSONResponse:
    check_text(request.app.state.core.city, body.text)
    check_overrides(request.app.state.core.city, body)
    draft = ComplaintDraft(channel=Channel.HOTLINE, text=body.text, phone=body.phone, name=body.name,
                           address=body.address, reported_at=body.reported_at, submitted_by=principal.actor,
                           category_override=body.category_override, territory_override=body.territory_override,
                           unit_override=body.unit_override)
    try:
        ticket = await service.submit(draft, idempotency_key=idempotency_key)
    except BrokerUnavailable as exc:
        metrics.REJECTED.labels("broker").inc()
        raise HTTPException(503, f"消息队列暂不可用，投诉未受理，请稍后重试（{exc}）",
                            headers={"Retry-After": "2"}) from exc
    except RequestInProgress as exc:
        raise HTTPException(409, "相同 Idempotency-Key 的请求正在处理中，请稍后重试") from exc
    except IdempotencyConflict as exc:
        return idempotency_conflict(exc.key)
    if ticket.replayed:
        response.status_code = 200
        response.headers[REPLAY_HEADER] = "true"
    else:
        metrics.RECEIVED.labels("hotline").inc()
        metrics.PUBLISHED.labels("hotline").inc()
    return TicketOut(complaint_id=ticket.complaint_id, ticket_no=ticket.ticket_no,
                     received_at=ticket.received_at, replayed=ticket.replayed)
