"""GET /api/v1/cases/export: the case list with the same filters as a CSV or XLSX file, streamed.

Command centre and admin; a squad member exports the own unit only.  Phones are masked for the
roles that may not see them (``auth.mask_phone``), as in the list.  Registered before the case
routes, so ``/cases/export`` is not taken for a ticket number.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from services.tracker.auth import Principal, Role, require
from services.tracker.case_export import export_chunks
from services.tracker.case_query import ORDERINGS, CaseFilters, filtered

router = APIRouter(prefix="/api/v1", tags=["cases"])
EXPORTERS = require(Role.COMMAND, Role.SQUAD)
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/cases/export", summary="导出工单（CSV / XLSX，筛选条件同工单列表）", response_class=StreamingResponse,
            responses={200: {"content": {media: {"schema": {"type": "string", "format": "binary"}}
                                         for media in MEDIA.values()},
                             "description": "工单列表文件（Content-Disposition: attachment）"}})
def export_cases(
    request: Request,
    principal: Annotated[Principal, Depends(EXPORTERS)],
    format: Annotated[str, Query(pattern=r"^(csv|xlsx)$", description="csv（UTF-8 带 BOM）或 xlsx")] = "csv",
    status: Annotated[str | None, Query(pattern=r"^[a-z_]{3,24}(,[a-z_]{3,24})*$")] = None,
    unit: Annotated[str | None, Query(pattern=r"^[A-Z0-9_]{2,40}$")] = None,
    category: Annotated[str | None, Query(pattern=r"^[A-Z_]{2,40}$")] = None,
    territory: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
    overdue: bool | None = None,
    near_due: bool | None = None,
    extension: Annotated[str | None, Query(pattern=r"^(requested|approved|refused)$")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    order: Annotated[str, Query(pattern=r"^(due|received)$")] = "due",
) -> StreamingResponse:
    filters = CaseFilters(status, unit, category, territory, overdue, near_due, extension, q, order).scoped(principal)
    now = datetime.now(UTC)
    stmt = filtered(filters, principal, now).order_by(*ORDERINGS[order].order_by())
    city = request.app.state.core.city
    tz = ZoneInfo(city.timezone)
    sessions = request.app.state.sessions

    def body() -> Iterator[bytes]:
        # its own session: the response is sent after the endpoint (and its dependencies) returned
        with sessions() as session:
            yield from export_chunks(session, stmt, format, city, principal, tz)

    name = f"工单导出_{now.astimezone(tz):%Y%m%d_%H%M}.{format}"
    return StreamingResponse(body(), media_type=MEDIA[format], headers={
        "Content-Disposition": f"attachment; filename=\"cases.{format}\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})
