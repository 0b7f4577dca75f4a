"""What the router would reach on real writing after operators corrected N real posts.

The shipped model never sees a real post (the corpus has no licence): its figures on the
real-text set are held-out by construction (``complaints eval var/realtext/realtext.jsonl``).
The correction loop (docs/corrections.md) will, in service, add a city's own corrected
complaints to the training data.  This measurement simulates that loop on the real-text set,
cross-validated: for each of K stratified folds, a throw-away model is trained on the shippable
data (development set + written examples) plus N posts of the *other* folds as if an operator had
corrected them, and decides the held-out fold; the figures are pooled over the folds::

    complaints realtext curve [--sizes 0,150,all] [--folds 5] [--json]

The measurement models live in memory only: nothing is written, nothing is shipped.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from services.core.classifier import Model
from services.core.engine import Engine
from services.core.evaluation import Outcome, folds, realtext_metrics, run_placed, squad_territory
from services.core.loader import load_city
from services.core.training import Example, read_jsonl, train
from services.ops.realtext import DEFAULT_OUT


def parse_sizes(text: str) -> list[int | None]:
    """``0,150,all`` -> [0, 150, None] (None: every post of the other folds)."""
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if part == "all":
            out.append(None)
        elif part.isdigit():
            out.append(int(part))
        else:
            raise ValueError(f"--sizes: {part!r} is not a number or 'all'")
    if not out:
        raise ValueError("--sizes: give at least one size")
    return out


def curve(city_name: str, posts: list[Example], records: list[dict[str, Any]], shippable: list[Example],
          sizes: list[int | None], k: int = 5, seed: int = 11) -> list[dict[str, Any]]:
    """One row of real-text figures per size N (pooled over the K held-out folds)."""
    city = load_city(city_name)
    temperature = Model.load().temperature
    secondary = [str(r["secondary"]) if r.get("secondary") else None for r in records]
    parts = folds(posts, k)
    rows: list[dict[str, Any]] = []
    base: Model | None = None
    for size in sizes:
        start = time.perf_counter()
        outcomes: list[Outcome | None] = [None] * len(posts)
        for test_idx in parts:
            held = set(test_idx)
            pool = [posts[i] for i in range(len(posts)) if i not in held]
            random.Random(seed).shuffle(pool)
            learned = pool if size is None else pool[:size]
            if learned:
                model = Model(train(city, shippable + learned))
            else:  # no corrections yet: one model serves every fold
                base = base or Model(train(city, shippable))
                model = base
            model.temperature = temperature
            engine = Engine(city, model)
            territory = squad_territory(engine)
            for i, o in zip(test_idx, run_placed(engine, [posts[i] for i in test_idx], territory), strict=True):
                outcomes[i] = o
        done = [o for o in outcomes if o is not None]
        n_learned = len(posts) - len(parts[0]) if size is None else size
        rows.append({"corrections": n_learned, **realtext_metrics(city, done, secondary),
                     "seconds": round(time.perf_counter() - start, 1)})
    return rows


def cmd_curve(args: argparse.Namespace) -> int:
    from services.corecli import _realtext_records, training_examples

    path = Path(args.file)
    if not path.is_file():
        print(f"complaints realtext curve: {path}: no such file (run `complaints realtext join` first)",
              file=sys.stderr)
        return 2
    try:
        sizes = parse_sizes(args.sizes)
        city = load_city(args.city)
        posts = read_jsonl(path, known=city.categories)
        records = _realtext_records(path)
    except (ValueError, KeyError) as exc:
        print(f"complaints realtext curve: {exc}", file=sys.stderr)
        return 2
    if records is None or len(records) != len(posts):
        print(f"complaints realtext curve: {path} is not a joined real-text file", file=sys.stderr)
        return 2
    if args.folds < 2:
        print("complaints realtext curve: --folds needs K >= 2", file=sys.stderr)
        return 2
    dev, extra = training_examples()
    rows = curve(args.city, posts, records, dev + extra, sizes, args.folds)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    keys = [k for k in rows[0] if k != "corrections"]
    print(f"{path}: {args.folds}-fold, throw-away models trained on shippable data + N corrected real posts")
    print("corrections".ljust(24) + "".join(str(r["corrections"]).rjust(10) for r in rows))
    for key in keys:
        print(key.ljust(24) + "".join(str(r[key]).rjust(10) for r in rows))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("curve", help="real-text figures after N simulated corrections (cross-validated)")
    p.add_argument("--file", default=str(DEFAULT_OUT))
    p.add_argument("--sizes", default="0,150,all", help="numbers of corrected posts, e.g. 0,150,all")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--city", default="rugao")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_curve)
