"""Deterministic training of the weight tables, in pure Python.

Category: multinomial logistic regression trained by SGD over shuffled examples (fixed seed),
with sparse updates (a class's weights move only when its gradient is non-negligible) and L2
shrinkage folded into each update.  Urgency: binary logistic regression over the same
features plus cue × category-group conjunctions.  Weights below ``prune`` are dropped from
the exported table.  Same data + same settings -> byte-identical JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from services.core.analysis import Analyzer
from services.core.classifier import SCHEMA, urgent_features
from services.core.config import CityConfig
from services.core.text import CUE_PREFIX, KW_PREFIX


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    urgent: bool
    territory: str | None = None
    village: str | None = None
    unit: str | None = None
    id: str = ""
    location_label: str | None = None   # WeChat location label, when the complaint came with one


@dataclass(frozen=True)
class Settings:
    seed: int = 12319
    epochs: int = 20
    lr: float = 3.0
    l2: float = 1e-5
    min_grad: float = 0.01
    urgent_epochs: int = 12
    urgent_lr: float = 0.8
    urgent_pos_weight: float = 3.0
    prune: float = 0.1
    min_df: int = 2


def read_jsonl(path: str | Path, known: Iterable[str] | None = None) -> list[Example]:
    """Labelled complaints in the development-set format; unknown fields are ignored."""
    out = []
    allowed = set(known) if known is not None else None
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        cat = str(raw["category"])
        if allowed is not None and cat not in allowed:
            raise ValueError(f"{path}:{n}: unknown category {cat}")
        out.append(Example(str(raw["text"]), cat, bool(raw.get("urgent", False)), raw.get("territory"),
                           raw.get("village"), raw.get("unit"), str(raw.get("id", f"{Path(path).stem}-{n}")),
                           raw.get("location_label")))
    return out


def _softmax_sgd(xs: Sequence[dict[str, float]], ys: Sequence[str], labels: list[str],
                 s: Settings) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    rng = random.Random(s.seed)
    bias = {c: 0.0 for c in labels}
    weights: dict[str, dict[str, float]] = {}
    order = list(range(len(xs)))
    step = 0
    for epoch in range(s.epochs):
        rng.shuffle(order)
        lr = s.lr / (1.0 + epoch * 0.5)
        for i in order:
            step += 1
            x, y = xs[i], ys[i]
            scores = dict(bias)
            for f, v in x.items():
                row = weights.get(f)
                if row:
                    for c, w in row.items():
                        scores[c] += w * v
            peak = max(scores.values())
            exps = {c: math.exp(sc - peak) for c, sc in scores.items()}
            total = sum(exps.values())
            shrink = 1.0 - lr * s.l2
            for c, e in exps.items():
                g = e / total - (1.0 if c == y else 0.0)
                if abs(g) < s.min_grad:
                    continue
                bias[c] -= lr * g * 0.1
                for f, v in x.items():
                    row = weights.setdefault(f, {})
                    row[c] = row.get(c, 0.0) * shrink - lr * g * v
    return bias, weights


def _logistic_sgd(xs: Sequence[dict[str, float]], ys: Sequence[bool], s: Settings) -> tuple[float, dict[str, float]]:
    rng = random.Random(s.seed + 1)
    bias = 0.0
    weights: dict[str, float] = {}
    order = list(range(len(xs)))
    for epoch in range(s.urgent_epochs):
        rng.shuffle(order)
        lr = s.urgent_lr / (1.0 + epoch * 0.5)
        for i in order:
            x, y = xs[i], ys[i]
            z = bias + sum(weights.get(f, 0.0) * v for f, v in x.items())
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g = (p - (1.0 if y else 0.0)) * (s.urgent_pos_weight if y else 1.0)
            if abs(g) < 1e-4:
                continue
            bias -= lr * g * 0.1
            for f, v in x.items():
                weights[f] = weights.get(f, 0.0) * (1.0 - lr * s.l2) - lr * g * v
    return bias, weights


def _r(x: float) -> float:
    return round(x, 5)


def train(city: CityConfig, examples: Sequence[Example], settings: Settings | None = None,
          analyzer: Analyzer | None = None) -> dict[str, Any]:
    """Train both models and return the JSON-ready weight table."""
    s = settings or Settings()
    an = analyzer or Analyzer(city)
    labels = sorted(city.categories)
    unknown = {e.category for e in examples} - set(labels)
    if unknown:
        raise ValueError(f"training data has unknown categories: {sorted(unknown)}")
    analysed = [an.analyse(e.text) for e in examples]
    df = Counter(f for a in analysed for f in a.features)
    keep = {f for f, n in df.items() if n >= s.min_df or f.startswith((CUE_PREFIX, KW_PREFIX))}
    xs = [{f: v for f, v in a.features.items() if f in keep} for a in analysed]
    bias, weights = _softmax_sgd(xs, [e.category for e in examples], labels, s)
    uxs = [urgent_features(x, list(a.cues), city.categories[e.category].group)
           for x, a, e in zip(xs, analysed, examples, strict=True)]
    ubias, uweights = _logistic_sgd(uxs, [e.urgent for e in examples], s)
    cat_table = {}
    for f in sorted(weights):
        row = {c: _r(w) for c, w in sorted(weights[f].items()) if abs(w) >= s.prune}
        if row:
            cat_table[f] = row
    urg_table = {f: _r(w) for f, w in sorted(uweights.items()) if abs(w) >= s.prune}
    digest = hashlib.sha256()
    for e in examples:
        digest.update(f"{e.text}\t{e.category}\t{e.urgent}\n".encode())
    digest.update(json.dumps(asdict(s), sort_keys=True).encode())
    digest.update(json.dumps([city.cues, city.keywords, city.keyword_weight, city.clause_boost],
                             sort_keys=True, ensure_ascii=False).encode())
    return {
        "schema": SCHEMA,
        "version": digest.hexdigest()[:16],
        "kind": "char 1-3-gram + cue features; softmax regression (category), logistic regression (urgent)",
        "city": city.code,
        "settings": asdict(s),
        "trained_on": {"examples": len(examples), "urgent": sum(e.urgent for e in examples)},
        "categories": labels,
        "category": {"bias": {c: _r(b) for c, b in sorted(bias.items())}, "weights": cat_table},
        "urgent": {"bias": _r(ubias), "weights": urg_table},
    }


def dump(model: dict[str, Any], path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n",
                          encoding="utf-8")
