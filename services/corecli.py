"""CLI subcommands of the domain core: ``train``, ``eval``, ``bench-core``.

Wire with ``services.corecli.register(subparsers)``; each handler takes the parsed
``argparse.Namespace`` and returns an exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from services.core.classifier import MODEL_FILE, Model
from services.core.engine import Engine
from services.core.evaluation import (
    METRIC_KEYS,
    confusions,
    cross_validate,
    fit_temperature,
    held_out_scores,
    metrics,
    realtext_metrics,
    run,
    run_placed,
    squad_territory,
)
from services.core.loader import REPO_ROOT, load_city
from services.core.training import Example, dump, read_jsonl, train

DEV_SET = REPO_ROOT / "data" / "dev" / "complaints_dev.jsonl"
TRAINING_DIR = REPO_ROOT / "data" / "training"


def training_examples(dev: Path = DEV_SET, extra_dir: Path = TRAINING_DIR) -> tuple[list[Example], list[Example]]:
    """(development set, extra examples written for training) from the repository."""
    extra: list[Example] = []
    for path in sorted(extra_dir.glob("*.jsonl")):
        extra.extend(read_jsonl(path))
    return read_jsonl(dev), extra


def cmd_train(args: argparse.Namespace) -> int:
    city = load_city(args.city)
    dev, extra = training_examples()
    start = time.perf_counter()
    model = train(city, dev + extra)
    if args.calibrate:
        # temperature scaling on the development set's held-out folds (each fold's model never saw it)
        t = fit_temperature(held_out_scores(city, dev, 5, extra))
        model["calibration"] = {"temperature": t, "method": "temperature scaling, NLL on 5-fold CV of the "
                                "development set (extra training data in every fold)"}
    out = Path(args.out) if args.out else MODEL_FILE
    dump(model, out)
    cal = f", temperature {model['calibration']['temperature']}" if "calibration" in model else ""
    print(f"trained on {len(dev)} dev + {len(extra)} extra examples in {time.perf_counter() - start:.1f}s{cal}; "
          f"model {model['version']} -> {out}")
    return 0


def _realtext_records(path: Path) -> list[dict[str, object]] | None:
    """The raw records when ``path`` is a joined real-text file (labels carry ``city``), else None."""
    with path.open(encoding="utf-8") as f:
        first = next((line for line in f if line.strip()), "")
    if '"city"' not in first:
        return None
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def eval_realtext(engine: Engine, examples: list[Example], records: list[dict[str, object]]) -> dict[str, object]:
    """Real-text figures, overall and per sample (``random``: the board's real mix)."""
    territory = squad_territory(engine)
    outcomes = run_placed(engine, examples, territory)
    secondary = [str(r["secondary"]) if r.get("secondary") else None for r in records]
    out: dict[str, object] = {"model": engine.model.version, **realtext_metrics(engine.city, outcomes, secondary)}
    for sample in sorted({str(r.get("sample", "")) for r in records} - {""}):
        idx = [i for i, r in enumerate(records) if r.get("sample") == sample]
        out[f"sample:{sample}"] = realtext_metrics(engine.city, [outcomes[i] for i in idx],
                                                   [secondary[i] for i in idx])
    return out


def cmd_eval(args: argparse.Namespace) -> int:
    city = load_city(args.city)
    path = Path(args.file)
    if not path.is_file():
        hint = " (run `complaints realtext join` first)" if "realtext" in str(path) else ""
        print(f"complaints eval: {path}: no such file{hint}", file=sys.stderr)
        return 2
    try:
        examples = read_jsonl(path, known=city.categories)
        records = _realtext_records(path)
    except (ValueError, KeyError) as exc:
        print(f"complaints eval: {path}: {exc}", file=sys.stderr)
        return 2
    if records is not None:
        if args.cv:
            print("complaints eval: real posts are never trained on; --cv applies to the development set only "
                  "(the shipped model has not seen these texts)", file=sys.stderr)
            return 2
        result = eval_realtext(Engine.load(args.city), examples, records)
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
            return 0
        print(f"{path} (real posts, model {result['model']}, never trained on)")
        for key, value in result.items():
            print(f"  {key:24s} {value}")
        return 0
    if args.cv:
        _dev, extra = training_examples()
        outcomes = cross_validate(city, examples, args.cv, extra, shuffle=args.cv_seed,
                                  temperature=Model.load().temperature)
    else:
        outcomes = run(Engine.load(args.city), examples)
    result = metrics(outcomes, city.command_centre)
    if args.json:
        print(json.dumps({k: result[k] for k in METRIC_KEYS}))
        return 0
    how = f"{args.cv}-fold cross-validation" if args.cv else "trained model"
    if args.cv and args.cv_seed is not None:
        how += f", partition seed {args.cv_seed}"
    print(f"{args.file} ({how})")
    for key in METRIC_KEYS:
        print(f"  {key:20s} {result[key]}")
    print("worst confusions (labelled -> predicted: count):")
    for gold, pred, count in confusions(outcomes):
        print(f"  {gold:22s} -> {pred:22s} {count}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    engine = Engine.load(args.city)
    texts = [e.text for e in read_jsonl(args.file or DEV_SET)]
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    for t in texts[:50]:
        engine.decide(t, now)
    done, start, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < args.seconds:
        for t in texts:
            engine.decide(t, now)
        done += len(texts)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    # CPU time is what one core spent; wall time also counts waiting for a busy machine.
    print(json.dumps({"complaints_per_second": round(done / cpu), "wall_clock_per_second": round(done / wall),
                      "texts": len(texts), "decided": done}))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("train", help="rebuild services/core/model/weights.json from data in the repo")
    p.add_argument("--city", default="rugao")
    p.add_argument("--out", default=None, help="write the model here instead")
    p.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="skip the softmax temperature fitted on 5-fold CV (five more trainings)")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("eval", help="measure classify + locate + route on a labelled JSONL file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--cv", type=int, default=0, metavar="K", help="K-fold cross-validation on FILE")
    p.add_argument("--cv-seed", type=int, default=None, metavar="N",
                   help="with --cv: another stratified partition (items shuffled with seed N within each category)")
    p.add_argument("--city", default="rugao")
    p.set_defaults(func=cmd_eval)

    from services.ops import realtext

    realtext.register(subparsers)

    p = subparsers.add_parser("bench-core", help="complaints/s for classify + locate + route on one core")
    p.add_argument("--city", default="rugao")
    p.add_argument("--file", default=None)
    p.add_argument("--seconds", type=float, default=3.0)
    p.set_defaults(func=cmd_bench)

    from services import modelcli  # learning from corrections (issue 15); imports this module
    modelcli.register(subparsers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="complaints")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
