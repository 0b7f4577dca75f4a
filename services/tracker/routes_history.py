"""GET /api/v1/cases/{ticket_no}/events: a case's history page by page (oldest first, keyset cursor).

The case detail still carries the whole history; this is for a case whose history grows long
(many calls linked to it, supplements, reopenings) and for clients that page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tracker import keyset
from services.tracker.auth import Principal
from services.tracker.keyset import Key, Ordering
from services.tracker.models import CaseEventRow
from services.tracker.responses import EventPage
from services.tracker.routes_cases import ANY_STAFF, TICKET, db, load_case
from services.tracker.views import event_view

router = APIRouter(prefix="/api/v1", tags=["cases"])
EVENTS_ORDER = Ordering("case_events", (Key(CaseEventRow.at, "at", "dt"), Key(CaseEventRow.id, "id", "int")))


@router.get("/cases/{ticket_no}/events", summary="工单处理记录（分页）")
def case_events(
    ticket_no: Annotated[str, TICKET],
    principal: Annotated[Principal, Depends(ANY_STAFF)],
    session: Annotated[Session, Depends(db)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000, description="翻页游标：上一页返回的 next_cursor")] = None,
) -> EventPage:
    case = load_case(session, ticket_no, principal)
    filters = {"ticket_no": ticket_no}
    q = select(CaseEventRow).where(CaseEventRow.complaint_id == case.complaint_id).order_by(*EVENTS_ORDER.order_by())
    if cursor is not None:
        q = q.where(EVENTS_ORDER.after(keyset.decode(cursor, EVENTS_ORDER, filters)))
    rows, next_cursor = keyset.page(session.scalars(q.limit(limit + 1)).all(), limit, EVENTS_ORDER, filters)
    return EventPage(ticket_no=ticket_no, count=len(rows), next_cursor=next_cursor,
                     events=[event_view(r, principal) for r in rows])
