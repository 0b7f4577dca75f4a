"""Read side: case views for the API, with phone numbers masked for those who need not see them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core import media
from services.core.config import CityConfig
from services.tracker.auth import Principal, mask_phone
from services.tracker.due_view import due_of
from services.tracker.extension_view import extension_request
from services.tracker.models import Case, CaseEventRow
from services.tracker.responses import (
    CaseDetail,
    CaseEvent,
    CaseListItem,
    CaseSummary,
    Due,
    ExtensionRequestView,
)


def history(session: Session, complaint_id: str, principal: Principal) -> list[CaseEvent]:
    """The case's events; phone numbers inside them (e.g. a linked call) are masked like the case's own."""
    rows = session.scalars(select(CaseEventRow).where(CaseEventRow.complaint_id == complaint_id)
                           .order_by(CaseEventRow.at, CaseEventRow.id)).all()
    return [event_view(r, principal) for r in rows]


def event_view(r: CaseEventRow, principal: Principal) -> CaseEvent:
    return CaseEvent(type=r.type, at=r.at.isoformat(), actor=r.actor, data=_masked(r.data, principal))


def _masked(data: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if isinstance(data, dict) and isinstance(data.get("phone"), str):
        return {**data, "phone": mask_phone(data["phone"], principal)}
    return data


def attachment_url(ticket_no: str, index: int) -> str:
    return f"/api/v1/cases/{ticket_no}/attachments/{index}"


def attachments(case: Case) -> list[dict[str, Any]]:
    """The case's attachments, each with ``media_state`` and, once a copy is stored, its ``stored_url``."""
    out = []
    for i, att in enumerate(case.attachments or []):
        if not isinstance(att, dict):
            continue
        state = media.state_of(att)
        out.append({**att, "index": i, "media_state": state.value,
                    "stored_url": attachment_url(case.ticket_no, i) if state == media.MediaState.STORED else None})
    return out


def category_name(city: CityConfig, code: str | None) -> str | None:
    """The taxonomy's Chinese name of a category code (None for none or an unknown code)."""
    category = city.categories.get(code) if code else None
    return category.name if category else None


def _summary_fields(case: Case, principal: Principal, city: CityConfig) -> dict[str, Any]:
    return {
        "ticket_no": case.ticket_no,
        "complaint_id": case.complaint_id,
        "status": case.status,
        "channel": case.channel,
        "text": case.text,
        "phone": mask_phone(case.phone, principal),
        "name": case.name,
        "address": case.address,
        "category": case.category,
        "category_candidates": case.category_candidates,
        # a second city matter the text raises: shown beside the category, routed nowhere
        "secondary_category": case.secondary_category,
        "secondary_category_name": category_name(city, case.secondary_category),
        "territory": case.territory,
        "territory_name": case.territory_name,
        "village": case.village,
        "unit": case.unit,
        "urgent": case.urgent,
        "review": case.review,
        "received_at": case.received_at.isoformat(),
        "routed_at": case.routed_at.isoformat() if case.routed_at else None,
        "accept_by": case.accept_by.isoformat() if case.accept_by else None,
        "resolve_by": case.resolve_by.isoformat() if case.resolve_by else None,
        "returns": case.returns,
        "attachments": attachments(case),
        "due": Due(**due_of(case, datetime.now(UTC))),  # overdue / near due: services/core/figures.py
        "extension": case.extension,
        "extension_hours": case.extension_hours,
        "photos": case.photos or [],  # the resolve feedback's photos (attachment paths or links)
    }


def case_summary(case: Case, principal: Principal, city: CityConfig) -> CaseSummary:
    return CaseSummary(**_summary_fields(case, principal, city))


def case_list_item(case: Case, principal: Principal, city: CityConfig) -> CaseListItem:
    """A case of the list: its summary and its version (for ``expected_version``)."""
    return CaseListItem(**_summary_fields(case, principal, city), version=case.version)


def case_detail(session: Session, case: Case, principal: Principal, city: CityConfig) -> CaseDetail:
    extension = extension_request(session, case)
    return CaseDetail(
        **_summary_fields(case, principal, city),
        evidence=case.evidence,
        rule=case.rule,
        routed_by=case.routed_by,
        model_version=case.model_version,
        routed_category=case.routed_category,
        location=case.location,
        accepted_at=case.accepted_at.isoformat() if case.accepted_at else None,
        resolved_at=case.resolved_at.isoformat() if case.resolved_at else None,
        closed_at=case.closed_at.isoformat() if case.closed_at else None,
        extension_request=ExtensionRequestView(**extension) if extension is not None else None,
        disposal_mode=case.disposal_mode,
        result=case.result,
        rating=case.rating,
        merged_into=case.merged_into,
        history=history(session, case.complaint_id, principal),
    )
