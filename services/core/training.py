"""Deterministic training of the weight tables, in pure Python.

Category: multinomial logistic regression trained by SGD over shuffled examples (fixed seed),
each feature's weights for all classes packed into one integer (one exact integer addition
per feature and update), L2 weight decay as a global scale, class gradients below
``min_grad`` dropped (a sparse table).  Urgency: binary logistic regression over the same
features plus cue × category-group conjunctions.  Weights below ``prune`` are dropped from
the exported table.  Same data + same settings -> byte-identical JSON, whatever the
process's hash seed (feature groups are sorted before any float is summed).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from services.core.analysis import Analyzer
from services.core.classifier import SCHEMA, urgent_features
from services.core.config import CityConfig
from services.core.homophones import table as homophone_table
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
    min_grad: float = 0.001     # class gradients below this are dropped (0.01 before: see docs/classifier.md)
    urgent_epochs: int = 12
    urgent_lr: float = 0.8
    urgent_pos_weight: float = 3.0
    prune: float = 0.1
    min_df: int = 2
    max_df: float = 0.5         # features in more than half the texts are dropped (stop grams: 我, 的, ，)
    augment: int = 0            # copies of each city-matter example with narrative context around it
    prior_tau: float = 0.5      # share of the training data's class frequencies taken out of the biases
    homophones: bool = False    # add the syllable-folded 2-grams (services/core/homophones.py)


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


class _Packed:
    """Weight rows of ``n`` classes packed into one Python integer per feature: one signed
    fixed-point slot of 64 bits per class.  Adding two packed rows adds every class's weight
    at once (exact integer arithmetic, so training stays bit-for-bit deterministic)."""

    SCALE = float(1 << 30)
    HALF = 1 << 63

    def __init__(self, n: int) -> None:
        self.n = n
        self.fmt = struct.Struct(f"<{n}Q")
        self.bias = int.from_bytes(self.fmt.pack(*([self.HALF] * n)), "little")

    def unpack(self, total: int) -> list[int]:
        """Slot values (fixed point) of a sum of packed rows."""
        half = self.HALF
        return [q - half for q in self.fmt.unpack((total + self.bias).to_bytes(self.fmt.size, "little"))]

    def pack(self, values: Iterable[float]) -> int:
        half = self.HALF
        return int.from_bytes(self.fmt.pack(*[round(v) + half for v in values]), "little") - self.bias


def _grouped(x: dict[str, float]) -> list[tuple[float, tuple[str, ...]]]:
    """A feature vector as (value, features) groups: a text's features take 2-4 distinct values."""
    groups: dict[float, list[str]] = {}
    for f, v in x.items():
        groups.setdefault(v, []).append(f)
    # sorted: float sums must not depend on the (hash-seeded) order of a set of strings
    return [(v, tuple(sorted(groups[v]))) for v in sorted(groups)]


def _softmax_sgd(xs: Sequence[dict[str, float]], ys: Sequence[str], labels: list[str],
                 s: Settings) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Multinomial logistic regression by SGD with L2 weight decay.

    Every feature's weights for all classes are one packed integer (:class:`_Packed`), so
    scoring an example is one C-level sum over its features and an update is one integer
    addition per feature.  The L2 decay of all weights is a global scale factor (the stored
    weights are ``w / scale``).  Class gradients below ``min_grad`` are dropped, which keeps
    the exported table sparse."""
    rng = random.Random(s.seed)
    n = len(labels)
    pk = _Packed(n)
    index = {c: i for i, c in enumerate(labels)}
    groups = [_grouped(x) for x in xs]
    yi = [index[y] for y in ys]
    rows = dict.fromkeys((f for x in xs for f in x), 0)
    get = rows.__getitem__
    bias = [0.0] * n
    scale = 1.0
    order = list(range(len(xs)))
    for epoch in range(s.epochs):
        rng.shuffle(order)
        lr = s.lr / (1.0 + epoch * 0.5)
        shrink = 1.0 - lr * s.l2
        for i in order:
            gr = groups[i]
            scores = bias[:]
            for v, fs in gr:
                k = v * scale / pk.SCALE
                scores = [sc + q * k for sc, q in zip(scores, pk.unpack(sum(map(get, fs))), strict=True)]
            peak = max(scores)
            exps = [math.exp(sc - peak) for sc in scores]
            total = sum(exps)
            grads = [e / total for e in exps]
            grads[yi[i]] -= 1.0
            grads = [g if abs(g) >= s.min_grad else 0.0 for g in grads]
            bias = [b - lr * g * 0.1 for b, g in zip(bias, grads, strict=True)]
            scale *= shrink
            step = -lr * pk.SCALE / scale
            for v, fs in gr:
                delta = pk.pack([g * step * v for g in grads])
                for f in fs:
                    rows[f] += delta
    k = scale / pk.SCALE
    weights: dict[str, dict[str, float]] = {}
    for f, r in rows.items():
        row = {labels[c]: q * k for c, q in enumerate(pk.unpack(r)) if q}
        if row:
            weights[f] = row
    return {c: bias[i] for i, c in enumerate(labels)}, weights


def _logistic_sgd(xs: Sequence[dict[str, float]], ys: Sequence[bool], s: Settings) -> tuple[float, dict[str, float]]:
    """Binary logistic regression by SGD (positive examples weigh ``urgent_pos_weight``)."""
    rng = random.Random(s.seed + 1)
    bias = 0.0
    groups = [_grouped(x) for x in xs]
    weights = dict.fromkeys((f for x in xs for f in x), 0.0)
    get = weights.__getitem__
    order = list(range(len(xs)))
    for epoch in range(s.urgent_epochs):
        rng.shuffle(order)
        lr = s.urgent_lr / (1.0 + epoch * 0.5)
        shrink = 1.0 - lr * s.l2
        for i in order:
            gr, y = groups[i], ys[i]
            z = bias + sum(v * sum(map(get, fs)) for v, fs in gr)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g = (p - (1.0 if y else 0.0)) * (s.urgent_pos_weight if y else 1.0)
            if abs(g) < 1e-4:
                continue
            bias -= lr * g * 0.1
            for v, fs in gr:
                step = lr * g * v
                for f in fs:
                    weights[f] = weights[f] * shrink - step
    return bias, weights


def _r(x: float) -> float:
    return round(x, 5)


def prior_adjusted(bias: dict[str, float], counts: Counter[str], tau: float) -> dict[str, float]:
    """Logit adjustment (Menon et al. 2021): ``tau`` * log(class frequency) taken out of each bias.
    How many examples of a class we wrote is an artefact of the training data, not of the
    hotline: OUT_OF_SCOPE, a third of the examples, otherwise starts every long post ahead."""
    total = sum(counts.values())
    if tau == 0.0 or total == 0:
        return bias
    return {c: b - tau * math.log(counts[c] / total) if counts.get(c) else b for c, b in bias.items()}


def augmented(city: CityConfig, examples: Sequence[Example], s: Settings) -> list[Example]:
    """``s.augment`` copies of every city-matter example (handler squad / city_unit) with one or
    two sentences of the city's narrative context (lexicon ``context``) before it and one or two
    after: greetings, history, other departments named on the way, appeals.  The label stays:
    naming the property company or the police is context, not a veto.  Deterministic (seeded)."""
    before, after = city.context_before, city.context_after
    if s.augment <= 0 or not (before or after):
        return []
    rng = random.Random(s.seed + 7)
    out = []
    for e in examples:
        if city.categories[e.category].handler not in ("squad", "city_unit"):
            continue
        for k in range(s.augment):
            pre = "".join(rng.sample(before, min(len(before), rng.randint(1, 2)))) if before else ""
            post = "".join(rng.sample(after, min(len(after), rng.randint(1, 2)))) if after else ""
            body = e.text if e.text.endswith(("。", "！", "？", "!", "?")) else e.text + "。"
            out.append(replace(e, text=pre + body + post, id=f"{e.id}~ctx{k}"))
    return out


def train(city: CityConfig, examples: Sequence[Example], settings: Settings | None = None,
          analyzer: Analyzer | None = None) -> dict[str, Any]:
    """Train both models and return the JSON-ready weight table."""
    s = settings or Settings()
    an = analyzer or Analyzer(city, homophones=s.homophones)
    labels = sorted(city.categories)
    unknown = {e.category for e in examples} - set(labels)
    if unknown:
        raise ValueError(f"training data has unknown categories: {sorted(unknown)}")
    examples = list(examples) + augmented(city, examples, s)
    analysed = [an.analyse(e.text) for e in examples]
    df = Counter(f for a in analysed for f in a.features)
    most = s.max_df * len(analysed)
    keep = {f for f, n in df.items()
            if f.startswith((CUE_PREFIX, KW_PREFIX)) or s.min_df <= n <= most}
    xs = [{f: v for f, v in a.features.items() if f in keep} for a in analysed]
    bias, weights = _softmax_sgd(xs, [e.category for e in examples], labels, s)
    bias = prior_adjusted(bias, Counter(e.category for e in examples), s.prior_tau)
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
    if s.homophones:
        digest.update(json.dumps(sorted(homophone_table().items())).encode())
    digest.update(json.dumps([city.cues, city.keywords, city.keyword_weight, city.clause_boost, city.term_frequency,
                               city.lead_boost],
                             sort_keys=True, ensure_ascii=False).encode())
    return {
        "schema": SCHEMA,
        "version": digest.hexdigest()[:16],
        "kind": "char 1-3-gram (+ syllable-folded 2-gram) + cue features; softmax regression (category), "
                "logistic regression (urgent)",
        "features": {"homophones": s.homophones, "term_frequency": an.term_frequency, "lead_boost": an.lead_boost},
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
