"""The wall's map configuration (map.yaml): tile placement by coordinates, hand-placed tiles, errors,
the optional GeoJSON layer, and Rugao's own file (every town with a squad on the map, one tile each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.core.loader import load_city
from services.resources import cities_root
from services.tracker.pages.citymap import MapConfigError, geojson_text, load_map, place_tiles

TERRITORIES = {"A": "甲镇", "B": "乙镇", "C": "丙镇", "D": "丁镇"}


def write(folder: Path, text: str) -> Path:
    (folder / "map.yaml").write_text(text, encoding="utf-8")
    return folder


def test_tiles_follow_the_compass() -> None:
    # north-west, north-east, south-west, south-east on a 2x2 grid
    cells = place_tiles([(32.5, 120.4), (32.5, 120.8), (32.1, 120.4), (32.1, 120.8)], 2, 2)
    assert cells == [(0, 0), (1, 0), (0, 1), (1, 1)]


def test_a_taken_cell_sends_the_next_town_to_the_nearest_free_one() -> None:
    cells = place_tiles([(32.0, 120.0), (32.0, 120.0), (33.0, 121.0)], 3, 3)
    assert len(set(cells)) == 3
    assert cells[2] == (2, 0)  # north-east corner
    assert abs(cells[1][0] - cells[0][0]) + abs(cells[1][1] - cells[0][1]) == 1  # next door


def test_hand_placed_tiles_are_kept() -> None:
    cells = place_tiles([(32.0, 120.0), (32.5, 120.5)], 3, 3, fixed={1: (0, 2)})
    assert cells[1] == (0, 2) and cells[0] != (0, 2)


def test_too_many_towns_for_the_grid() -> None:
    with pytest.raises(MapConfigError, match="do not fit"):
        place_tiles([(0.0, 0.0)] * 5, 2, 2)


def test_load_map_validates_territories_tiles_and_the_geojson_file(tmp_path: Path) -> None:
    write(tmp_path, "towns:\n  - {territory: X, lat: 1, lon: 1}\n")
    with pytest.raises(MapConfigError, match="unknown territory X"):
        load_map(tmp_path, TERRITORIES)
    write(tmp_path, "grid: [2, 2]\ntowns:\n  - {territory: A, lat: 1, lon: 1, tile: [2, 0]}\n")
    with pytest.raises(MapConfigError, match="outside"):
        load_map(tmp_path, TERRITORIES)
    write(tmp_path, "geojson: ../elsewhere.json\ntowns:\n  - {territory: A, lat: 1, lon: 1}\n")
    (tmp_path.parent / "elsewhere.json").write_text("{}", encoding="utf-8")
    with pytest.raises(MapConfigError, match="not found"):
        load_map(tmp_path, TERRITORIES)


def test_geojson_layer_when_the_city_provides_one(tmp_path: Path) -> None:
    (tmp_path / "towns.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": []}), encoding="utf-8")
    write(tmp_path, "geojson: towns.geojson\nfeature_key: gb\ntowns:\n  - {territory: A, short: 甲, lat: 1, lon: 1}\n")
    cmap = load_map(tmp_path, TERRITORIES)
    public = cmap.public()
    assert public["mode"] == "geojson" and public["feature_key"] == "gb"
    assert public["towns"] == [{"code": "A", "name": "甲镇", "short": "甲", "lat": 1.0, "lon": 1.0, "col": 0, "row": 0}]
    assert json.loads(geojson_text(cmap) or "")["type"] == "FeatureCollection"
    (tmp_path / "towns.geojson").write_text("[]", encoding="utf-8")
    with pytest.raises(MapConfigError, match="FeatureCollection"):
        geojson_text(cmap)


def test_without_a_map_file_every_territory_is_a_tile(tmp_path: Path) -> None:
    cmap = load_map(tmp_path, TERRITORIES)
    assert cmap.geojson is None and (cmap.cols, cmap.rows) == (2, 2)
    assert [(t.code, t.col, t.row) for t in cmap.towns] == [("A", 0, 0), ("B", 1, 0), ("C", 0, 1), ("D", 1, 1)]


def test_rugao_map_has_every_town_with_a_squad() -> None:
    city = load_city("rugao", str(cities_root()))
    cmap = load_map(cities_root() / "rugao", {code: t.name for code, t in city.territories.items()})
    squad_towns = {t for u in city.units.values() for t in u.territories}
    assert {t.code for t in cmap.towns} == squad_towns and len(squad_towns) == 14
    assert len({(t.col, t.row) for t in cmap.towns}) == len(cmap.towns)
    assert cmap.geojson is None
    cell = {t.name: (t.col, t.row) for t in cmap.towns}
    assert cell["搬经镇"][0] < cell["东陈镇"][0] and cell["长江镇"][1] > cell["如城街道"][1]  # west of, south of
