"""Keyset pagination: an opaque cursor naming the last row of a page, and the condition "after it".

A list is ordered by a fixed tuple of keys (the last one unique, e.g. the primary key), so a
page's last row says exactly where the next page starts: rows added or removed elsewhere never
shift it (no row is shown twice or skipped, unlike ``OFFSET``), and the database walks the
ordering's index from that point instead of counting the skipped rows again.

The cursor is base64url JSON: the list's name, a fingerprint of its filters (a cursor is only
valid with the filters it was made with) and the key values of the last row.  It is opaque to
clients and carries nothing they could not read from the page itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Select, and_, false, or_
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

if TYPE_CHECKING:  # the tracker worker imports the orderings; only the API decodes cursors
    from fastapi import HTTPException

Kind = Literal["dt", "str", "int"]


@dataclass(frozen=True)
class Key:
    """One ordering key: the column, its direction, the type of its values; a nullable key sorts NULL last."""

    column: Any
    attr: str
    kind: Kind
    desc: bool = False
    nullable: bool = False

    def order_by(self) -> Any:
        ordered = self.column.desc() if self.desc else self.column.asc()
        return ordered.nulls_last() if self.nullable else ordered


@dataclass(frozen=True)
class Ordering:
    name: str
    keys: tuple[Key, ...]

    def order_by(self) -> list[Any]:
        return [k.order_by() for k in self.keys]

    def values(self, row: Any) -> list[Any]:
        return [getattr(row, k.attr) for k in self.keys]

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after the row with these key values in this ordering."""
        cond = _after(self.keys, values)
        first, v = self.keys[0], values[0]
        if v is not None and not first.nullable:
            # redundant but sargable: the index range starts at the cursor (the rest filters only the ties)
            cond = and_(first.column <= v if first.desc else first.column >= v, cond)
        return cond

    def zones(self, values: Sequence[Any]) -> list[ColumnElement[bool]]:
        """``after(values)`` as consecutive parts of the ordering, each an index range of its own.

        A nullable first key (NULLs last) past a non-NULL value is the rest of the non-NULL range,
        then the NULL zone: one condition would be ``col >= v OR col IS NULL``, which no index
        range serves (measured in docs/scaling.md: 100 ms instead of 3 ms deep in 300,000 cases)."""
        first, v = self.keys[0], values[0]
        if not first.nullable or v is None:
            return [self.after(values)]
        col = first.column
        return [and_(col <= v if first.desc else col >= v, col.is_not(None), _after(self.keys, values)),
                col.is_(None)]


def fetch_after(session: Session, stmt: Select[Any], ordering: Ordering, values: Sequence[Any] | None,
                limit: int) -> list[Any]:
    """Up to ``limit`` rows of ``stmt`` (already ordered by ``ordering``) after the cursor's row."""
    if values is None:
        return list(session.scalars(stmt.limit(limit)).all())
    rows: list[Any] = []
    for zone in ordering.zones(values):
        rows += session.scalars(stmt.where(zone).limit(limit - len(rows))).all()
        if len(rows) >= limit:
            break
    return rows


def _after(keys: Sequence[Key], values: Sequence[Any]) -> ColumnElement[bool]:
    if not keys:
        return false()
    key, value, rest = keys[0], values[0], _after(keys[1:], values[1:])
    if value is None:  # in the NULL zone, which comes last: only later NULL rows by the next keys
        return and_(key.column.is_(None), rest)
    beyond = key.column < value if key.desc else key.column > value
    if key.nullable:
        beyond = or_(beyond, key.column.is_(None))
    return or_(beyond, and_(key.column == value, rest))


def fingerprint(filters: Mapping[str, Any]) -> str:
    canonical = json.dumps({k: v for k, v in sorted(filters.items()) if v is not None}, ensure_ascii=False,
                           default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def encode(ordering: Ordering, filters: Mapping[str, Any], values: Sequence[Any]) -> str:
    raw = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    doc = {"o": ordering.name, "f": fingerprint(filters), "k": raw}
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def bad_cursor(msg: str) -> HTTPException:
    from fastapi import HTTPException

    return HTTPException(422, [{"loc": ["query", "cursor"], "msg": msg, "type": "value_error"}])


def decode(cursor: str, ordering: Ordering, filters: Mapping[str, Any]) -> list[Any]:
    """The key values in ``cursor``; a clear 422 for anything else (garbled, another list or other filters)."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_cursor("cursor 无效：无法识别的翻页游标，请去掉 cursor 从第一页重新查询") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("k"), list) or not isinstance(doc.get("o"), str):
        raise bad_cursor("cursor 无效：无法识别的翻页游标，请去掉 cursor 从第一页重新查询")
    if doc["o"] != ordering.name or len(doc["k"]) != len(ordering.keys):
        raise bad_cursor("cursor 不属于当前列表或排序方式，请从第一页重新查询")
    if doc.get("f") != fingerprint(filters):
        raise bad_cursor("cursor 与当前筛选条件不一致（筛选条件已改变），请从第一页重新查询")
    try:
        return [_value(k, v) for k, v in zip(ordering.keys, doc["k"], strict=True)]
    except (TypeError, ValueError):
        raise bad_cursor("cursor 无效：游标中的位置无法识别，请去掉 cursor 从第一页重新查询") from None


def _value(key: Key, raw: Any) -> Any:
    if raw is None:
        if not key.nullable:
            raise ValueError("null key")
        return None
    if key.kind == "dt":
        if not isinstance(raw, str):
            raise TypeError("not a time")
        at = datetime.fromisoformat(raw)
        if at.tzinfo is None:
            raise ValueError("naive time")
        return at
    if key.kind == "int":
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise TypeError("not an integer")
        return raw
    if not isinstance(raw, str) or len(raw) > 300:
        raise TypeError("not a string")
    return raw


def page(rows: Sequence[Any], limit: int, ordering: Ordering, filters: Mapping[str, Any]) -> tuple[list[Any], str | None]:
    """Rows fetched with ``limit + 1``: the page and the cursor of the next one (None on the last page)."""
    if len(rows) <= limit:
        return list(rows), None
    kept = list(rows[:limit])
    return kept, encode(ordering, filters, ordering.values(kept[-1]))
