"""The case list's filters, search and orderings as one query, shared by the list and its export.

Search (``q``): a ticket number matches that ticket (unique index); digits match the phone, exactly
or by its last digits, for the roles that may see phones (``auth.SEES_PHONE``), and the text;
anything else matches the complaint text and the address.  On PostgreSQL ``ILIKE '%…%'`` and the
phone's ``LIKE '%1234'`` are served by pg_trgm GIN indexes (migration 0009; three characters or
more give trigrams to look up); on SQLite by an FTS5 trigram table (migration 0014,
``services/tracker/text_search.py``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from fastapi import HTTPException
from sqlalchemy import Select, or_, select
from sqlalchemy.sql import ColumnElement

from services.tracker.auth import SEES_PHONE, Principal, Role
from services.tracker.figures_sql import near_due_clause, not_overdue_clause, overdue_clause
from services.tracker.keyset import Key, Ordering
from services.tracker.models import Case
from services.tracker.text_search import contains

TICKET_RE = re.compile(r"^[A-Za-z]{1,6}\d{14}$")
DIGITS_RE = re.compile(r"^\+?\d{4,20}$")

ORDERINGS = {
    # by deadline (the list's order since it exists): cases without a deadline last
    "due": Ordering("cases.due", (Key(Case.resolve_by, "resolve_by", "dt", nullable=True),
                                  Key(Case.received_at, "received_at", "dt"),
                                  Key(Case.complaint_id, "complaint_id", "str"))),
    # newest first
    "received": Ordering("cases.received", (Key(Case.received_at, "received_at", "dt", desc=True),
                                            Key(Case.complaint_id, "complaint_id", "str", desc=True))),
}


@dataclass(frozen=True)
class CaseFilters:
    status: str | None = None
    unit: str | None = None
    category: str | None = None
    territory: str | None = None
    overdue: bool | None = None
    near_due: bool | None = None
    extension: str | None = None
    q: str | None = None
    order: str = "due"

    def scoped(self, principal: Principal) -> CaseFilters:
        """A squad member sees only the own unit: another unit is refused, none means the own."""
        if principal.role != Role.SQUAD:
            return self
        if self.unit is not None and self.unit != principal.unit:
            raise HTTPException(403, "只能查看本单位的工单")
        return CaseFilters(**{**asdict(self), "unit": principal.unit})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_clause(q: str, principal: Principal) -> ColumnElement[bool]:
    q = q.strip()
    if TICKET_RE.match(q):
        return Case.ticket_no == q.upper()
    in_text = contains(("text", "address"), q, or_(Case.text.ilike(_like(q), escape="\\"),
                                                   Case.address.ilike(_like(q), escape="\\")))
    if DIGITS_RE.match(q) and principal.role in SEES_PHONE:
        digits = q.lstrip("+")
        # the phone as given, or ending in the digits (LIKE '%1234': pg_trgm / FTS5 trigrams)
        return or_(Case.phone == q, contains(("phone",), digits, Case.phone.like("%" + digits)), in_text)
    return in_text


def filtered(f: CaseFilters, principal: Principal, now: datetime) -> Select[tuple[Case]]:
    """The cases the filters match (``f`` already scoped to the principal), unordered."""
    q = select(Case)
    if f.status:
        q = q.where(Case.status.in_(f.status.split(",")))
    for column, value in ((Case.unit, f.unit), (Case.category, f.category), (Case.territory, f.territory)):
        if value is not None:
            q = q.where(column == value)
    if f.extension is not None:
        q = q.where(Case.extension == f.extension)
    if f.overdue is not None:
        q = q.where(overdue_clause(now) if f.overdue else not_overdue_clause(now))
    if f.near_due is not None:
        q = q.where(near_due_clause(now) if f.near_due else ~near_due_clause(now))
    if f.q:
        q = q.where(search_clause(f.q, principal))
    return q
