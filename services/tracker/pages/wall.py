"""The wall screen's API (command centre and admin): the town map with live counts, today-vs-last-week
trend, the recent events that back-fill the live feed, and the city's GeoJSON layer when it has one.

GET /api/v1/wall/map       towns (tile cells or GeoJSON mode) with today's and open counts
GET /api/v1/wall/trend     cases received per hour today and on the same weekday a week ago
GET /api/v1/wall/recent    the latest case events and alerts, newest first (live-feed shape)
GET /api/v1/wall/geojson   the configured GeoJSON layer (404 when the city has none)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy.orm import Session

from services.tracker import wall_figures
from services.tracker.auth import Principal, Role, require
from services.tracker.pages.citymap import CityMap, city_map, geojson_text
from services.tracker.pages.responses import WallMap, WallRecent, WallTrend
from services.tracker.routes_cases import db

router = APIRouter(prefix="/api/v1/wall", tags=["pages"])
Command = Annotated[Principal, Depends(require(Role.COMMAND))]
RECENT_WINDOW = timedelta(days=7)
GEOJSON = {"type": "object", "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                                            "features": {"type": "array", "items": {"type": "object"}}}}
OTHER = "其他"


def _map(request: Request) -> CityMap:
    state = request.app.state
    city = state.core.city
    folder = Path(state.settings.config_root) / state.settings.city
    return city_map(folder, tuple((code, t.name) for code, t in city.territories.items()))


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.core.city.timezone)


@router.get("/map", summary="大屏地图：各镇（街道、区）今日受理、在办与已超时")
def wall_map(request: Request, _: Command, session: Annotated[Session, Depends(db)]) -> WallMap:
    tz = _tz(request)
    now = datetime.now(UTC)
    today = now.astimezone(tz).date()
    counts = wall_figures.by_territory(session, wall_figures.day_start(today, tz), now)
    cmap = _map(request)
    zero = dict.fromkeys(wall_figures.FIGURES, 0)
    towns = [{**t, **counts.get(t["code"], zero)} for t in cmap.public()["towns"]]
    shown = {t["code"] for t in towns}
    rest = [c for code, c in counts.items() if code not in shown]
    other = {"name": OTHER, **{f: sum(c[f] for c in rest) for f in wall_figures.FIGURES}}
    return WallMap.model_validate({**cmap.public(), "towns": towns, "other": other, "date": today.isoformat(),
                                   "as_of": now.isoformat()})


@router.get("/trend", summary="今日与上周同日逐小时受理量")
def wall_trend(request: Request, _: Command, session: Annotated[Session, Depends(db)]) -> WallTrend:
    tz = _tz(request)
    now = datetime.now(UTC)
    today = now.astimezone(tz).date()
    week_ago = today - timedelta(days=7)
    this_hour = now.astimezone(tz).hour
    counts = wall_figures.hourly(session, today, tz)
    before = wall_figures.hourly(session, week_ago, tz)
    return WallTrend(date=today.isoformat(), last_week_date=week_ago.isoformat(), hours=list(range(24)),
                     today=[n if h <= this_hour else None for h, n in enumerate(counts)], last_week=before,
                     today_total=sum(counts), last_week_same_time=sum(before[: this_hour + 1]),
                     last_week_total=sum(before), as_of=now.isoformat())


@router.get("/recent", summary="最近动态（大屏实时动态的回填）", response_model_exclude_unset=True)
def wall_recent(_: Command, session: Annotated[Session, Depends(db)],
                limit: Annotated[int, Query(ge=1, le=100)] = 30) -> WallRecent:
    now = datetime.now(UTC)
    return WallRecent.model_validate({"events": wall_figures.recent(session, limit, now - RECENT_WINDOW),
                                      "as_of": now.isoformat()})


@router.get("/geojson", summary="城市配置的地图边界（GeoJSON）", response_class=Response,
            responses={200: {"content": {"application/geo+json": {"schema": GEOJSON}},
                             "description": "GeoJSON FeatureCollection"},
                       404: {"description": "本市未配置地图边界文件"}})
def wall_geojson(request: Request, _: Command) -> Response:
    text = geojson_text(_map(request))
    if text is None:
        raise HTTPException(404, "本市未配置地图边界文件，大屏使用方块地图")
    return Response(text, media_type="application/geo+json", headers={"Cache-Control": "private, max-age=3600"})
