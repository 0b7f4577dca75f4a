"""Read and validate a city folder into a :class:`CityConfig` (pure file reading, no network)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from services.core.config import (
    HANDLERS,
    LOCATION_STATES,
    TERRITORIAL,
    Area,
    Category,
    CityConfig,
    ConfigError,
    DuplicatePolicy,
    OldName,
    Place,
    Rule,
    Sla,
    Territory,
    Thresholds,
    Unit,
    Village,
)
from services.core.events import MAX_TEXT_CHARS
from services.core.routing import CONDITION_KEYS, check_rules
from services.resources import cities_root

# The source checkout: for development tools only (dev and training sets under data/), never for
# what a service needs, which is packaged (services.resources) or named by the settings.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_ROOT = cities_root()
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_RENAME = re.compile(r"^~\s*(\d+)\s+(\S+)\s*->\s*(\S+)\s*$")


def parse_duration(text: str | int, where: str = "") -> timedelta:
    """``30m`` / ``4h`` / ``3d`` -> timedelta."""
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigError(f"{where}: bad duration {text!r} (expected e.g. 30m, 4h, 3d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _read_yaml(path: Path, required: bool = True) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: missing")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at top level")
    return data


def _categories(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, Category]]:
    groups = {str(k): str(v) for k, v in (data.get("groups") or {}).items()}
    out: dict[str, Category] = {}
    for raw in data.get("categories") or []:
        code = str(raw.get("code", ""))
        where = f"taxonomy.yaml category {code or '?'}"
        if not code:
            raise ConfigError("taxonomy.yaml: a category has no code")
        if code in out:
            raise ConfigError(f"taxonomy.yaml: duplicate category code {code}")
        if raw.get("group") not in groups:
            raise ConfigError(f"{where}: unknown group {raw.get('group')!r}")
        if raw.get("handler") not in HANDLERS:
            raise ConfigError(f"{where}: unknown handler {raw.get('handler')!r} (one of {', '.join(HANDLERS)})")
        sla_raw = raw.get("sla") or {}
        try:
            sla = Sla(**{k: parse_duration(sla_raw[k], where) for k in
                         ("accept", "resolve", "urgent_accept", "urgent_resolve")})
        except KeyError as exc:
            raise ConfigError(f"{where}: sla lacks {exc.args[0]}") from exc
        out[code] = Category(code, str(raw.get("name", code)), str(raw["group"]), str(raw["handler"]),
                             sla, str(raw.get("description", "")))
    if not out:
        raise ConfigError("taxonomy.yaml: no categories")
    return groups, out


def _territories(raw: Any) -> dict[str, Territory]:
    out: dict[str, Territory] = {}
    seen_villages: set[str] = set()
    for t in raw:
        code = str(t["code"])
        if code in out:
            raise ConfigError(f"divisions.json: duplicate territory code {code}")
        villages = []
        for v in t.get("villages", []):
            vcode = str(v["code"])
            if vcode in seen_villages:
                raise ConfigError(f"divisions.json: duplicate village code {vcode}")
            seen_villages.add(vcode)
            villages.append(Village(vcode, str(v["name"]), str(v.get("short_name") or v["name"]),
                                    str(v.get("type", "")), code))
        out[code] = Territory(code, str(t["name"]), str(t.get("kind", "")), tuple(villages))
    return out


def _units(data: dict[str, Any], territories: dict[str, Territory]) -> dict[str, Unit]:
    out: dict[str, Unit] = {}
    claimed: dict[str, str] = {}
    for raw in data.get("units") or []:
        uid = str(raw.get("id", ""))
        if not uid:
            raise ConfigError("routing.yaml: a unit has no id")
        if uid in out:
            raise ConfigError(f"routing.yaml: duplicate unit id {uid}")
        terrs = tuple(str(t) for t in raw.get("territory") or [])
        for t in terrs:
            if t not in territories:
                raise ConfigError(f"routing.yaml unit {uid}: unknown territory {t}")
            if t in claimed:
                raise ConfigError(f"routing.yaml: territory {t} belongs to both {claimed[t]} and {uid}")
            claimed[t] = uid
        out[uid] = Unit(uid, str(raw.get("name", uid)), terrs, tuple(str(a) for a in raw.get("aliases") or []),
                        int(raw.get("staff", 0)), bool(raw.get("full_powers", False)),
                        str(raw.get("public_name") or ""))
    return out


def _command_centre(data: dict[str, Any], units: dict[str, Unit], rules: tuple[Rule, ...]) -> str:
    """routing.yaml `command_centre`; when absent, the unit of the `confidence: low` rule."""
    uid = data.get("command_centre")
    if uid is None:
        uid = next((r.to for r in rules if r.when.get("confidence") == "low"), None)
        if uid is None:
            raise ConfigError("routing.yaml: no `command_centre` unit and no `confidence: low` rule to take it from")
    if not isinstance(uid, str) or uid not in units:
        raise ConfigError(f"routing.yaml command_centre: unknown unit {uid!r}")
    return uid


def _rules(data: dict[str, Any], units: dict[str, Unit], categories: dict[str, Category],
           groups: dict[str, str], territories: dict[str, Territory]) -> tuple[Rule, ...]:
    allowed: dict[str, set[Any]] = {
        "handler": set(HANDLERS), "category": set(categories), "group": set(groups),
        "location": set(LOCATION_STATES), "unit_full_powers": {True, False},
        "territory": set(territories), "urgent": {True, False}, "confidence": {"low", "ok"},
    }
    rules = []
    for i, raw in enumerate(data.get("rules") or [], start=1):
        when = dict(raw.get("when") or {})
        to = str(raw.get("to", ""))
        for key, value in when.items():
            if key not in CONDITION_KEYS:
                raise ConfigError(f"routing.yaml rule {i}: unknown condition {key!r}")
            for v in value if isinstance(value, list) else [value]:
                if v not in allowed[key]:
                    raise ConfigError(f"routing.yaml rule {i}: unknown {key} {v!r}")
        if to != TERRITORIAL and to not in units:
            raise ConfigError(f"routing.yaml rule {i}: unknown unit {to!r}")
        rules.append(Rule(i, when, to, str(raw.get("description") or "").strip()))
    if not rules:
        raise ConfigError("routing.yaml: no rules")
    return tuple(rules)


def _old_names(folder: Path, territories: dict[str, Territory]) -> tuple[OldName, ...]:
    codes = {v.code for t in territories.values() for v in t.villages}
    out = []
    for path in sorted(folder.glob("changes_*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = _RENAME.match(line)
            if m and m.group(1) in codes:
                out.append(OldName(m.group(1), m.group(2), m.group(3)))
    return tuple(out)


def _places(data: dict[str, Any], territories: dict[str, Territory]) -> tuple[tuple[Place, ...], tuple[Area, ...],
                                                                              dict[str, str]]:
    def check(code: Any, where: str) -> str:
        if str(code) not in territories:
            raise ConfigError(f"places.yaml {where}: unknown territory {code}")
        return str(code)

    places = []
    for raw in data.get("places") or []:
        terr = check(raw.get("territory"), f"place {raw.get('name')}")
        village = raw.get("village")
        if village and village not in {v.name for v in territories[terr].villages}:
            raise ConfigError(f"places.yaml place {raw.get('name')}: village {village} is not in {terr}")
        places.append(Place(str(raw["name"]), terr, village, str(raw.get("kind", "place"))))
    areas = tuple(Area(check(a["territory"], "area"), *[float(x) for x in a["bbox"]])
                  for a in data.get("areas") or [])
    aliases = {str(k): check(v, f"alias {k}") for k, v in (data.get("aliases") or {}).items()}
    return tuple(places), areas, aliases


def _duplicate_policy(raw: Any) -> DuplicatePolicy:
    """city.yaml ``duplicates``: the console's duplicate search (window, radius, thresholds)."""
    if raw is None:
        return DuplicatePolicy()
    if not isinstance(raw, dict):
        raise ConfigError("city.yaml duplicates: expected a mapping")
    ints = {"max_shown", "max_scanned"}
    try:
        values = {str(k): int(v) if str(k) in ints else float(v) for k, v in raw.items()}
        policy = DuplicatePolicy(**values)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"city.yaml duplicates: {exc}") from exc
    if not (0 < policy.window_hours <= 24 * 30 and policy.radius_m > 0 and 0 <= policy.min_text <= 1
            and 0 <= policy.min_score <= 1 and policy.max_shown >= 1 and policy.max_scanned >= policy.max_shown):
        raise ConfigError(f"city.yaml duplicates: out of range {raw!r}")
    return policy


def load_city(city: str = "rugao", config_root: str | Path | None = None) -> CityConfig:
    """Load and validate ``<config_root>/<city>/``; raises :class:`ConfigError`."""
    folder = Path(config_root) if config_root else DEFAULT_CONFIG_ROOT
    folder = folder / city
    if not folder.is_dir():
        raise ConfigError(f"no configuration folder for city {city!r} at {folder}")
    meta = _read_yaml(folder / "city.yaml")
    for key in ("code", "name", "ticket_prefix", "timezone"):
        if not meta.get(key):
            raise ConfigError(f"city.yaml: missing {key}")
    try:
        ZoneInfo(str(meta["timezone"]))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"city.yaml: unknown timezone {meta['timezone']!r}") from exc
    groups, categories = _categories(_read_yaml(folder / "taxonomy.yaml"))
    div_path = folder / "divisions.json"
    if not div_path.exists():
        raise ConfigError(f"{div_path}: missing")
    try:
        territories = _territories(json.loads(div_path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"divisions.json: malformed ({exc})") from exc
    routing = _read_yaml(folder / "routing.yaml")
    units = _units(routing, territories)
    rules = _rules(routing, units, categories, groups, territories)
    command_centre = _command_centre(routing, units, rules)
    places, areas, aliases = _places(_read_yaml(folder / "places.yaml", required=False), territories)
    lexicon = _read_yaml(folder / "lexicon.yaml", required=False)
    placecfg = _read_yaml(folder / "places.yaml", required=False)
    cues = {str(k): tuple(str(x) for x in v or []) for k, v in (lexicon.get("cues") or {}).items()}
    keywords = {str(k): tuple(str(x) for x in v or []) for k, v in (lexicon.get("categories") or {}).items()}
    for code in keywords:
        if code not in categories:
            raise ConfigError(f"lexicon.yaml: keywords for unknown category {code}")
    thr = meta.get("thresholds") or {}
    try:
        thresholds = Thresholds(**{str(k): float(v) for k, v in thr.items()})
    except TypeError as exc:
        raise ConfigError(f"city.yaml thresholds: {exc}") from exc
    max_text = meta.get("max_text_chars", MAX_TEXT_CHARS)
    if not isinstance(max_text, int) or not 100 <= max_text <= MAX_TEXT_CHARS:
        raise ConfigError(f"city.yaml max_text_chars: {max_text!r} is not a whole number from 100 to {MAX_TEXT_CHARS}")
    cfg = CityConfig(
        code=str(meta["code"]), name=str(meta["name"]), ticket_prefix=str(meta["ticket_prefix"]),
        timezone=str(meta["timezone"]), groups=groups, categories=categories, units=units, rules=rules,
        territories=territories, old_names=_old_names(folder, territories), places=places, areas=areas,
        extra_aliases=aliases, strip_prefixes=tuple(meta.get("strip_prefixes") or []),
        unsafe_short_names=frozenset(placecfg.get("unsafe_short_names") or []),
        not_places=tuple(placecfg.get("not_places") or []),
        place_markers=tuple(placecfg.get("place_markers") or []),
        cues=cues, keywords=keywords, clause_boost=float(lexicon.get("clause_boost", 1.0)),
        keyword_weight=float(lexicon.get("keyword_weight", 1.0)),
        term_frequency=str(lexicon.get("term_frequency", "presence")) == "sublinear",
        lead_boost=float(lexicon.get("lead_boost", 1.0)),
        lead_view=float(lexicon.get("lead_view", 0.0)),
        context_before=tuple(str(x) for x in (lexicon.get("context") or {}).get("before") or []),
        context_after=tuple(str(x) for x in (lexicon.get("context") or {}).get("after") or []),
        thresholds=thresholds, max_text_chars=max_text, duplicates=_duplicate_policy(meta.get("duplicates")),
        command_centre=command_centre,
    )
    for alias, terr in cfg.alias_territories().items():
        if terr not in territories:
            raise ConfigError(f"alias {alias}: unknown territory {terr}")
    check_rules(cfg)
    return cfg
