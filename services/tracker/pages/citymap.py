"""The wall screen's map of the towns, read from the city's ``map.yaml`` (configuration, not code).

Either a GeoJSON layer the city provides (``geojson:`` a file beside ``map.yaml``) or a tile map:
every configured town gets a cell of a grid, placed by its centre coordinates (nearest free
cell, north up) unless the configuration places it by hand (``tile: [column, row]``).
Without a ``map.yaml`` every territory of the city is a tile, in the city's order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

MAP_FILE = "map.yaml"


class MapConfigError(ValueError):
    """map.yaml names an unknown territory, a missing file or an impossible grid."""


@dataclass(frozen=True)
class Town:
    code: str
    name: str
    short: str
    lat: float | None
    lon: float | None
    col: int
    row: int


@dataclass(frozen=True)
class CityMap:
    towns: tuple[Town, ...]
    cols: int
    rows: int
    geojson: Path | None
    feature_key: str

    def public(self) -> dict[str, Any]:
        return {"mode": "geojson" if self.geojson else "tiles", "cols": self.cols, "rows": self.rows,
                "feature_key": self.feature_key,
                "towns": [{"code": t.code, "name": t.name, "short": t.short, "lat": t.lat, "lon": t.lon,
                           "col": t.col, "row": t.row} for t in self.towns]}


def place_tiles(points: Sequence[tuple[float, float]], cols: int, rows: int,
                fixed: Mapping[int, tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """(column, row) of each (lat, lon) point in a ``cols`` x ``rows`` grid, north at row 0.

    The points' bounding box is stretched over the grid; each point takes the free cell nearest
    to its exact position, in input order, after the ``fixed`` ones (index -> cell) took theirs.
    """
    fixed = dict(fixed or {})
    if len(points) > cols * rows:
        raise MapConfigError(f"{len(points)} towns do not fit a {cols}x{rows} grid")
    taken = set(fixed.values())
    if len(taken) != len(fixed):
        raise MapConfigError("two towns are placed on the same tile")
    free = [i for i in range(len(points)) if i not in fixed]
    lats = [points[i][0] for i in free] or [0.0]
    lons = [points[i][1] for i in free] or [0.0]

    def scale(value: float, low: float, high: float, cells: int) -> float:
        return (value - low) / (high - low) * (cells - 1) if high > low else (cells - 1) / 2

    cells = [(c, r) for r in range(rows) for c in range(cols)]
    out: dict[int, tuple[int, int]] = dict(fixed)
    for i in free:
        lat, lon = points[i]
        x = scale(lon, min(lons), max(lons), cols)
        y = scale(max(lats) - lat + min(lats), min(lats), max(lats), rows)  # north up
        best = min((cell for cell in cells if cell not in taken),
                   key=lambda cell: (math.hypot(cell[0] - x, cell[1] - y), cell[1], cell[0]))
        taken.add(best)
        out[i] = best
    return [out[i] for i in range(len(points))]


def load_map(folder: Path, territories: Mapping[str, str]) -> CityMap:
    """The map of the city whose configuration is in ``folder``; ``territories``: code -> name."""
    path = folder / MAP_FILE
    if not path.is_file():
        n = len(territories)
        cols = max(1, math.ceil(math.sqrt(n)))
        towns = tuple(Town(code, name, name, None, None, i % cols, i // cols)
                      for i, (code, name) in enumerate(territories.items()))
        return CityMap(towns, cols, max(1, math.ceil(n / cols)), None, "code")
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = list(raw.get("towns") or [])
    codes = [str(e.get("territory")) for e in entries]
    for code in codes:
        if code not in territories:
            raise MapConfigError(f"{path}: unknown territory {code}")
    if len(set(codes)) != len(codes):
        raise MapConfigError(f"{path}: a territory is listed twice")
    n = len(entries)
    cols, rows = (int(x) for x in raw.get("grid") or (math.ceil(math.sqrt(n)) + 1,) * 2)
    fixed = {i: (int(e["tile"][0]), int(e["tile"][1])) for i, e in enumerate(entries) if e.get("tile")}
    if any(not (0 <= c < cols and 0 <= r < rows) for c, r in fixed.values()):
        raise MapConfigError(f"{path}: a tile lies outside the {cols}x{rows} grid")
    points = [(float(e.get("lat", 0.0)), float(e.get("lon", 0.0))) for e in entries]
    cells = place_tiles(points, cols, rows, fixed)
    towns = tuple(Town(code, territories[code], str(e.get("short") or territories[code]),
                       float(e["lat"]) if "lat" in e else None, float(e["lon"]) if "lon" in e else None, c, r)
                  for code, e, (c, r) in zip(codes, entries, cells, strict=True))
    geojson = None
    if raw.get("geojson"):
        geojson = folder / str(raw["geojson"])
        if not geojson.is_file() or geojson.resolve().parent != folder.resolve():
            raise MapConfigError(f"{path}: geojson file {raw['geojson']} not found in {folder}")
    return CityMap(towns, cols, rows, geojson, str(raw.get("feature_key") or "code"))


@cache
def city_map(folder: Path, territories: tuple[tuple[str, str], ...]) -> CityMap:
    return load_map(folder, dict(territories))


def geojson_text(cmap: CityMap) -> str | None:
    """The configured GeoJSON layer, checked to be a FeatureCollection (None when there is none)."""
    if cmap.geojson is None:
        return None
    text = cmap.geojson.read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise MapConfigError(f"{cmap.geojson}: not a GeoJSON FeatureCollection")
    return text
