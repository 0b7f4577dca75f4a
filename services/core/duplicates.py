"""Is this call about an open case?  Candidates across categories, scored and explained (pure).

For the call being typed and each open case of the window (``DuplicatePolicy`` of the city):

- **place**: the same spot by coordinates (both have them, within ``radius_m``), the same road
  or estate, the same village / community, or the same town when a village is not known.
  Different villages, towns or far-apart coordinates: not a duplicate.
- **time**: newer cases count more (linearly down to 0 at the end of the window).
- **text**: :func:`services.core.similarity.cosine` of the matters (place names cut out).
- **category**: the suggested category, or one of the call's top two, counts more; any category
  may be a duplicate (the classifier may have read one of the two texts differently).

``score = 0.5 text + 0.25 place + 0.1 time + 0.15 category``; a candidate is shown from
``min_score`` with at least ``min_text`` of text similarity (0.6 when the place of the call or of the
case is not known).
The reason says why in Chinese: ``同村·文字相似 0.86``, or ``同一地点 2 小时内 3 起·文字相似 0.91``
when several open cases of one spot match.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.core.config import DuplicatePolicy
from services.core.similarity import Profile, common_road, cosine

W_TEXT, W_PLACE, W_TIME, W_CATEGORY = 0.5, 0.25, 0.1, 0.15
UNKNOWN_PLACE = 0.3        # place score when the call's or the case's place is not known
NO_PLACE_MIN_TEXT = 0.6    # then the texts must read alike
SAME_SPOT = 0.8            # place score from which cases are "at one place" (同一地点)
FAR_M = 2000.0             # coordinates further apart than this: another place, whatever the names say
EARTH_M = 6_371_000.0


@dataclass(frozen=True)
class Where:
    territory: str | None = None
    territory_name: str | None = None
    village: str | None = None
    point: tuple[float, float] | None = None   # (lat, lon)


@dataclass(frozen=True)
class Call:
    """The call being typed: its text profile, place, the suggested category and the top two."""

    profile: Profile
    where: Where
    category: str | None
    top: tuple[str, ...] = ()


@dataclass(frozen=True)
class Open:
    """An open case of the window."""

    ticket_no: str
    profile: Profile
    where: Where
    category: str | None
    received_at: datetime


@dataclass(frozen=True)
class Match:
    case: Open
    score: float
    text: float
    place: float
    place_label: str
    distance_m: float | None
    reason: str = ""


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))


def _same_village_label(village: str) -> str:
    return "同社区" if village.endswith(("社区", "居委会")) else "同村"


def _same_town_label(name: str | None) -> str:
    if name and name.endswith("街道"):
        return "同街道"
    if name and name.endswith("区"):
        return "同区"
    return "同镇"


def place(call: Call, case: Open, policy: DuplicatePolicy) -> tuple[float, str, float | None] | None:
    """(score, Chinese label, distance in metres or None); None: not the same place."""
    a, b = call.where, case.where
    dist = distance_m(a.point, b.point) if a.point and b.point else None
    if dist is not None:
        if dist <= policy.radius_m:
            return (1.0 if dist <= policy.radius_m / 3 else SAME_SPOT), f"相距 {round(dist)} 米", dist
        if dist > FAR_M:
            return None
    road = common_road(call.profile, case.profile)
    if road:
        return 1.0, f"同路段（{road}）", dist
    if a.village and b.village:
        return (1.0, _same_village_label(a.village), dist) if a.village == b.village else None
    if a.territory and b.territory:
        return (0.5, _same_town_label(a.territory_name), dist) if a.territory == b.territory else None
    return UNKNOWN_PLACE, "地点待核实", dist


def category_score(call: Call, case: Open) -> float:
    if case.category and case.category == call.category:
        return 1.0
    return 0.5 if case.category and case.category in call.top else 0.0


def score(call: Call, case: Open, now: datetime, policy: DuplicatePolicy) -> Match | None:
    """The candidate with its score, or None when it is not a duplicate."""
    where = place(call, case, policy)
    if where is None:
        return None
    p, label, dist = where
    text = cosine(call.profile, case.profile)
    if text < (policy.min_text if p > UNKNOWN_PLACE else max(policy.min_text, NO_PLACE_MIN_TEXT)):
        return None
    age_h = max(0.0, (now - case.received_at).total_seconds() / 3600)
    recency = max(0.0, 1.0 - age_h / policy.window_hours)
    total = W_TEXT * text + W_PLACE * p + W_TIME * recency + W_CATEGORY * category_score(call, case)
    if total < policy.min_score:
        return None
    return Match(case, round(total, 3), round(text, 3), p, label, dist)


def span(hours: float) -> str:
    """``2 小时内`` / ``40 分钟内`` / ``3 天内``: how far back a group of cases reaches (rounded up,
    a few minutes past a whole hour still counting as that hour)."""
    if hours < 1:
        return f"{max(10, math.ceil(hours * 6) * 10)} 分钟内"
    if hours < 48:
        return f"{max(1, math.ceil(hours - 1 / 12))} 小时内"
    return f"{math.ceil(hours / 24 - 1 / 288)} 天内"


def rank(call: Call, cases: Iterable[Open], now: datetime, policy: DuplicatePolicy) -> list[Match]:
    """The shown candidates, best first, each with its reason."""
    found = [m for c in cases if (m := score(call, c, now, policy)) is not None]
    spot = [m for m in found if m.place >= SAME_SPOT]
    group = ""
    if len(spot) >= 2:
        oldest = max((now - m.case.received_at).total_seconds() / 3600 for m in spot)
        group = f"同一地点 {span(oldest)} {len(spot)} 起"
    out = []
    for m in found:
        where = group if group and m.place >= SAME_SPOT else m.place_label
        out.append(Match(m.case, m.score, m.text, m.place, m.place_label, m.distance_m,
                         f"{where}·文字相似 {m.text:.2f}"))
    out.sort(key=lambda m: (-m.score, -m.case.received_at.timestamp(), m.case.ticket_no))
    return out[:policy.max_shown]
