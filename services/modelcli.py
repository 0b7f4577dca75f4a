"""``complaints model retrain | rollback | list``: learning from corrections (issue 15).

retrain
    Trains a candidate on the development set + ``data/training/*.jsonl`` + the recorded
    corrections (``corrections`` table: the last label of every corrected case), except a
    deterministic fifth of the corrected cases (by a hash of the complaint id), which are held
    out.  Candidate and current model are then measured on the held-out data: those corrections,
    ``data/heldout/complaints_heldout.jsonl`` and, when it has been joined, the real-text set
    (``var/realtext/realtext.jsonl``, services/ops/realtext.py).  The candidate is promoted only if it
    is not worse: its category accuracy over all held-out complaints together is at least the
    current model's, and so is its category accuracy on each set that has 20 complaints or more.
    Both figures and the verdict are printed.
rollback
    Makes the version that was current before the current one current again.
list
    The stored versions, the current one marked.

Running routers pick a new pointer up within ``COMPLAINTS_MODEL_CHECK_EVERY_S`` (services/modelstore.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.core.classifier import Model
from services.core.config import CityConfig
from services.core.engine import Engine
from services.core.evaluation import Outcome, metrics, run
from services.core.loader import REPO_ROOT, load_city
from services.core.training import Example, read_jsonl, train
from services.corecli import training_examples
from services.modelstore import ModelStore, StoreError
from services.platform.settings import CommonSettings

HELDOUT = REPO_ROOT / "data" / "heldout" / "complaints_heldout.jsonl"
REALTEXT = REPO_ROOT / "var" / "realtext" / "realtext.jsonl"
HOLD_OUT_ONE_IN = 5          # a fifth of the corrected cases are held out
MIN_SET_FOR_VETO = 20        # a smaller set's own figure is printed but does not decide alone
FIGURES = ("n", "category_accuracy", "unit_accuracy", "wrong_unit_rate", "urgent_recall")


def held_out(complaint_id: str) -> bool:
    """Deterministic: the same case is always on the same side, whatever else was corrected."""
    return int(hashlib.sha256(complaint_id.encode()).hexdigest()[:8], 16) % HOLD_OUT_ONE_IN == 0


@dataclass(frozen=True)
class LabelledCorrection:
    complaint_id: str
    example: Example


def read_corrections(database_url: str) -> list[LabelledCorrection]:
    from services.platform.db import make_engine, make_sessionmaker
    from services.tracker.corrections import latest_per_case

    db = make_engine(database_url)
    try:
        with make_sessionmaker(db)() as session:
            rows = latest_per_case(session)
            return [LabelledCorrection(r.complaint_id, Example(
                text=r.text, category=r.new_category, urgent=r.new_urgent, territory=r.territory,
                unit=r.new_unit, id=f"correction-{r.ticket_no}", location_label=r.location_label)) for r in rows]
    finally:
        db.dispose()


def split(corrections: Sequence[LabelledCorrection], known: set[str]) -> tuple[list[Example], list[Example]]:
    """(for training, held out); corrections naming a category the taxonomy no longer has are left out."""
    usable = [c for c in corrections if c.example.category in known]
    return ([c.example for c in usable if not held_out(c.complaint_id)],
            [c.example for c in usable if held_out(c.complaint_id)])


def _figures(outcomes: Sequence[Outcome], command_centre: str) -> dict[str, Any]:
    m = metrics(outcomes, command_centre)
    figures = {k: m[k] for k in FIGURES}
    if not any(o.example.unit for o in outcomes):  # e.g. the real-text set: labelled without units
        figures.update(unit_accuracy=None, wrong_unit_rate=None)
    return figures


def compare(city: CityConfig, current: Model, candidate: Model,
            sets: dict[str, list[Example]]) -> dict[str, Any]:
    """Figures of both models on every held-out set and pooled, and the verdict."""
    engines = {"current": Engine(city, current), "candidate": Engine(city, candidate)}
    out: dict[str, Any] = {"sets": {}, "current": current.version, "candidate": candidate.version}
    pooled: dict[str, list[Any]] = {"current": [], "candidate": []}
    reasons: list[str] = []
    for name, examples in sets.items():
        if not examples:
            continue
        figures = {}
        for who, engine in engines.items():
            outcomes = run(engine, examples)
            pooled[who].extend(outcomes)
            figures[who] = _figures(outcomes, city.command_centre)
        out["sets"][name] = figures
        if (len(examples) >= MIN_SET_FOR_VETO
                and figures["candidate"]["category_accuracy"] < figures["current"]["category_accuracy"]):
            reasons.append(f"worse on {name}")
    out["pooled"] = {who: _figures(o, city.command_centre) for who, o in pooled.items()}
    if out["pooled"]["candidate"]["category_accuracy"] < out["pooled"]["current"]["category_accuracy"]:
        reasons.insert(0, "worse on all held-out data together")
    out["promote"] = not reasons
    out["reasons"] = reasons
    return out


def _store(args: argparse.Namespace) -> ModelStore:
    return ModelStore(Path(args.model_dir) if args.model_dir else CommonSettings().model_root())


def cmd_retrain(args: argparse.Namespace) -> int:
    settings = CommonSettings()
    store = _store(args)
    city = load_city(settings.city, str(settings.config_root))
    corrections = read_corrections(args.database_url or settings.database_url)
    learn, hold = split(corrections, set(city.categories))
    dev, extra = training_examples()
    sets = {"corrections": hold, "heldout": read_jsonl(HELDOUT, city.categories)}
    realtext = Path(args.realtext) if args.realtext else REALTEXT
    if realtext.exists() and not args.no_realtext:
        sets["realtext"] = read_jsonl(realtext, city.categories)
    start = time.perf_counter()
    weights = train(city, dev + extra + learn)
    calibration = store.load_current().data.get("calibration")
    if calibration:  # the temperature fitted with the current model (`complaints train`): same features
        weights["calibration"] = dict(calibration)
    took = time.perf_counter() - start
    candidate, current = Model(weights), store.load_current()
    report: dict[str, Any] = {"corrections": len(corrections), "trained_on_corrections": len(learn),
                              "held_out_corrections": len(hold), "train_s": round(took, 1)}
    if candidate.version == current.version:
        report.update({"current": current.version, "candidate": candidate.version, "promote": False,
                       "reasons": ["the candidate is the current model (same data, same settings)"]})
    else:
        report.update(compare(city, current, candidate, sets))
        store.add(weights)
        if report["promote"] and not args.dry_run:
            store.promote(candidate.version, by=args.by, figures={"pooled": report["pooled"]})
    report["promoted"] = bool(report["promote"] and not args.dry_run)
    report["now_current"] = store.current_version()
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report)
    return 0


def _print_report(r: dict[str, Any]) -> None:
    print(f"corrections: {r['corrections']} cases ({r['trained_on_corrections']} for training, "
          f"{r['held_out_corrections']} held out); trained in {r['train_s']}s")
    print(f"current {r['current']}  candidate {r['candidate']}")
    for name, figures in [*r.get("sets", {}).items(), *([("ALL HELD-OUT", r["pooled"])] if "pooled" in r else [])]:
        print(f"  {name} (n={figures['current']['n']})")
        for key in FIGURES[1:]:
            cur, cand = figures["current"][key], figures["candidate"][key]
            if cur is not None:
                print(f"    {key:20s} current {cur:<8} candidate {cand}")
    verdict = "promoted" if r["promoted"] else ("not worse (dry run: not promoted)" if r["promote"] else "kept current")
    print(f"verdict: {verdict}" + (f" ({'; '.join(r['reasons'])})" if r["reasons"] else ""))
    print(f"current model: {r['now_current']}")


def cmd_rollback(args: argparse.Namespace) -> int:
    store = _store(args)
    before = store.current_version()
    try:
        now = store.rollback(by=args.by)
    except StoreError as exc:
        print(f"complaints model rollback: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"from": before, "to": now}) if args.json else f"rolled back {before} -> {now}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    store = _store(args)
    rows = store.versions()
    if args.json:
        print(json.dumps([{"version": v.version, "current": v.current, "rollback_target": v.in_history and not v.current,
                           "trained_on": v.trained_on, "promoted_at": v.promoted_at, "figures": v.figures,
                           "path": str(v.path)} for v in rows], ensure_ascii=False))
        return 0
    for v in rows:
        mark = "*" if v.current else ("<" if v.in_history else " ")
        acc = ((v.figures or {}).get("pooled") or {}).get("candidate", {}).get("category_accuracy")
        print(f"{mark} {v.version}  examples {v.trained_on.get('examples', '?'):>5}  "
              f"promoted {v.promoted_at or '-':32s}  held-out category accuracy {acc if acc is not None else '-'}")
    print("(* current, < a rollback returns through it)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("model", help="classifier versions: retrain on corrections, rollback, list")
    sub = p.add_subparsers(dest="model_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model-dir", default=None, help="the store (default: $COMPLAINTS_MODEL_DIR or <data dir>/models)")
    common.add_argument("--json", action="store_true", help="print one JSON object")
    common.add_argument("--by", default="cli", help="who does it (recorded in the history)")
    r = sub.add_parser("retrain", parents=[common], help="train on dev + own examples + corrections; promote if not worse")
    r.add_argument("--database-url", default=None, help="where the corrections are (default: $COMPLAINTS_DATABASE_URL)")
    r.add_argument("--realtext", default=None, help=f"the joined real-text set (default: {REALTEXT}, if it exists)")
    r.add_argument("--no-realtext", action="store_true", help="do not measure on the real-text set")
    r.add_argument("--dry-run", action="store_true", help="train and compare, never promote")
    r.set_defaults(func=cmd_retrain)
    sub.add_parser("rollback", parents=[common], help="return to the previous version").set_defaults(func=cmd_rollback)
    sub.add_parser("list", parents=[common], help="the stored versions").set_defaults(func=cmd_list)
