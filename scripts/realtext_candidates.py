"""Candidates side by side on the real-text set (docs/realtext-benchmark.md).

    .venv/bin/pip install -e '.[tools]'          # scikit-learn, for the baseline only
    .venv/bin/complaints realtext join --source ...
    .venv/bin/python scripts/realtext_candidates.py [--json]

Rows: the shipped engine, and a plain character 1-3-gram TF-IDF (sublinear) + logistic regression
baseline trained on the same shippable data (development set + data/training).  Neither ever sees
a real post in training.  The baseline's dispatch decision uses the engine's rule: the top
category's decision (dispatch / answer / forward) must hold ``unit_confidence_below`` of the
probability, else the command centre.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.core.engine import Engine  # noqa: E402
from services.core.evaluation import decision_of  # noqa: E402
from services.core.text import normalise  # noqa: E402
from services.core.training import read_jsonl  # noqa: E402
from services.corecli import eval_realtext, training_examples  # noqa: E402
from services.ops.realtext import DEFAULT_OUT  # noqa: E402


def baseline(engine: Engine, texts: list[str]) -> tuple[list[str], list[str], float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    city = engine.city
    dev, extra = training_examples()
    train = dev + extra
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    x = vec.fit_transform([normalise(e.text) for e in train])
    model = LogisticRegression(C=10, max_iter=3000).fit(x, [e.category for e in train])
    start = time.process_time()
    probs = model.predict_proba(vec.transform([normalise(t) for t in texts]))
    per_s = len(texts) / max(time.process_time() - start, 1e-9)
    classes = list(model.classes_)
    at = city.thresholds.unit_confidence_below
    cats, decisions = [], []
    for row in probs:
        best = classes[int(row.argmax())]
        mass: dict[str, float] = {}
        for c, p in zip(classes, row, strict=True):
            mass[decision_of(city, c)] = mass.get(decision_of(city, c), 0.0) + float(p)
        d = decision_of(city, best)
        cats.append(best)
        decisions.append(d if mass[d] >= at else "review")
    return cats, decisions, per_s


def figures(engine: Engine, records: list[dict[str, Any]], cats: list[str], decisions: list[str]) -> dict[str, float]:
    city = engine.city
    gold = [decision_of(city, str(r["category"])) for r in records]
    city_idx = [i for i, g in enumerate(gold) if g == "dispatch"]
    long_idx = [i for i in city_idx if len(str(records[i]["text"])) >= 400]
    other_idx = [i for i, g in enumerate(gold) if g != "dispatch"]
    n = len(records)
    return {
        "category_accuracy": round(sum(c == r["category"] for c, r in zip(cats, records, strict=True)) / n, 4),
        "decision_accuracy": round(sum(g == d for g, d in zip(gold, decisions, strict=True)) / n, 4),
        "city_not_dispatched": round(sum(decisions[i] != "dispatch" for i in city_idx) / len(city_idx), 4),
        "city_not_dispatched_400": round(sum(decisions[i] != "dispatch" for i in long_idx) / max(len(long_idx), 1), 4),
        "other_dispatched": round(sum(decisions[i] == "dispatch" for i in other_idx) / len(other_idx), 4),
        "command_centre_rate": round(sum(d == "review" for d in decisions) / n, 4),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=str(DEFAULT_OUT))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    path = Path(args.file)
    if not path.is_file():
        print(f"{path}: no such file (run `complaints realtext join` first)", file=sys.stderr)
        return 2
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    engine = Engine.load()
    shipped = eval_realtext(engine, read_jsonl(path), records)
    keys = ("category_accuracy", "decision_accuracy", "city_not_dispatched", "city_not_dispatched_400",
            "other_dispatched", "command_centre_rate")
    cats, decisions, per_s = baseline(engine, [str(r["text"]) for r in records])
    rows = {"shipped engine " + str(shipped["model"]): {k: shipped[k] for k in keys},
            "char 1-3-gram TF-IDF + logistic regression": {**figures(engine, records, cats, decisions),
                                                          "texts_per_s": round(per_s)}}
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for name, row in rows.items():
        print(name)
        for k, v in row.items():
            print(f"  {k:24s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
