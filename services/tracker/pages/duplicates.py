"""Possible duplicates of the call being typed: open cases of the city's window, any category.

One indexed query (a range of ``cases.received_at``, newest first, at most ``max_scanned``
rows; no condition on the town, which would let the database read the town's whole history by
its index instead), then the pure scoring of :mod:`services.core.duplicates`.  Text profiles are cached per text (a case's text never
changes), so a keystroke compares cached profiles only.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, null, select
from sqlalchemy.orm import Session

from services.core.config import CityConfig, DuplicatePolicy
from services.core.duplicates import Call, Match, Open, Where, rank
from services.core.engine import Decision, Engine
from services.core.similarity import Profiler, excerpt, profile
from services.core.workflow import ENDED, STATUS_LABELS, values
from services.tracker.models import Case

NOT_OPEN = values(ENDED)  # a resolved case awaiting verification may still be repeated
_profilers: dict[int, Profiler] = {}
_lock = threading.Lock()


def profiler(engine: Engine) -> Profiler:
    """The cached profiler of this engine's gazetteer (a new model brings a new one), sized for a window."""
    gazetteer = engine.analyzer.gazetteer
    with _lock:
        found = _profilers.get(id(gazetteer))
        if found is None or found.gazetteer is not gazetteer:
            _profilers.clear()
            found = _profilers[id(gazetteer)] = Profiler(gazetteer, engine.city.duplicates.max_scanned + 512)
        return found


def _point(location: Any) -> tuple[float, float] | None:
    if isinstance(location, dict) and isinstance(location.get("lat"), int | float) \
            and isinstance(location.get("lon"), int | float):
        return float(location["lat"]), float(location["lon"])
    return None


def _joined(text: str, address: str | None) -> str:
    return text if not address else f"{text}\n{address}"


def recent_query(policy: DuplicatePolicy, now: datetime, *, locations: bool = False) -> Select[Any]:
    """Open cases of the window, newest first (an index range scan of ``cases.received_at``); their
    coordinates only when the call has some (reading the JSON of every row costs more than the rest)."""
    cols = [Case.ticket_no, Case.text, Case.address, Case.status, Case.received_at, Case.village, Case.territory,
            Case.territory_name, Case.unit, Case.category]
    q = (select(*cols, Case.location if locations else null().label("location"))
         .where(Case.received_at >= now - timedelta(hours=policy.window_hours), Case.status.not_in(NOT_OPEN)))
    return q.order_by(Case.received_at.desc()).limit(policy.max_scanned)


def recent_open(session: Session, engine: Engine, now: datetime, *, locations: bool) -> list[tuple[Open, Any]]:
    """Open cases of the window as (candidate, row)."""
    rows = session.execute(recent_query(engine.city.duplicates, now, locations=locations)).all()
    prof = profiler(engine)
    return [(Open(r.ticket_no, prof.profile(_joined(r.text, r.address)),
                  Where(r.territory, r.territory_name, r.village, _point(r.location)), r.category, r.received_at), r)
            for r in rows]


def find_duplicates(session: Session, engine: Engine, d: Decision, *, text: str, address: str | None,
                    point: tuple[float, float] | None, now: datetime) -> list[dict[str, Any]]:
    """The candidates the console shows beside the form, best first, with their reason."""
    # the call's own text changes with every keystroke: profiled, not cached
    call = Call(profile(_joined(text, address), engine.analyzer.gazetteer),
                Where(d.territory, d.territory_name, d.village, point), d.category,
                tuple(c for c, _ in d.candidates[:2]))
    found = recent_open(session, engine, now, locations=point is not None)
    rows = {o.ticket_no: row for o, row in found}
    return [as_dict(m, rows[m.case.ticket_no], engine.city)
            for m in rank(call, (o for o, _ in found), now, engine.city.duplicates)]


def as_dict(m: Match, row: Any, city: CityConfig) -> dict[str, Any]:
    category = city.categories.get(row.category) if row.category else None
    unit = city.units.get(row.unit) if row.unit else None
    status = next((v for k, v in STATUS_LABELS.items() if k.value == row.status), row.status)
    return {"ticket_no": row.ticket_no, "text": excerpt(row.text), "status": row.status, "status_name": status,
            "received_at": row.received_at.isoformat(), "village": row.village, "territory_name": row.territory_name,
            "unit": row.unit, "unit_name": unit.name if unit else row.unit, "category": row.category,
            "category_name": category.name if category else None, "score": m.score, "similarity": m.text,
            "place": m.place_label, "distance_m": round(m.distance_m) if m.distance_m is not None else None,
            "reason": m.reason}
