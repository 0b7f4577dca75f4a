"""Category and urgency models: linear weight tables over char n-grams and cue features.

The artefact (``services/core/model/weights.json``) is plain JSON::

    {"schema": 1, "version": "<sha256 of data + settings>", "categories": [...],
     "category": {"bias": {code: w}, "weights": {feature: {code: w}}},
     "urgent":   {"bias": w, "weights": {feature: w}}, "features": {"homophones": bool},
     "settings": {...}, "trained_on": {...}}

Scores are softmax probabilities (category) and a sigmoid probability (urgent); the
evidence is the features that pushed the winner up most.

Speed: at load time every feature's weight row (one weight per category, plus the urgency
model's weight) is packed into a single Python integer, one signed 64-bit fixed-point slot
per model output.  A text's features come as two or three groups that share one value
(:class:`~services.core.text.Features`); scoring a group is a C-level key-set intersection
with the weight table, one C-level ``sum`` of the packed rows and one ``struct.unpack``,
however many categories and features there are.  The urgency model's category-dependent
features (category group, cue x group) are looked up in small per-group tables.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from services.core.text import CUE_PREFIX, Features

SCHEMA = 1
MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_FILE = MODEL_DIR / "weights.json"

_SCALE = float(1 << 32)     # fixed-point resolution of a packed weight (weights are rounded to 1e-5)
_HALF = 1 << 63             # a slot holds value + _HALF while decoding: |sum of weights| < 2**31
_GROUP_PREFIX = "grp:"

Hit = tuple[str, float, dict[int, float]]


def urgent_extra(cue_groups: Iterable[str], group: str) -> dict[str, float]:
    """The urgency model's own features: the category group and each cue conjoined with it."""
    out = {_GROUP_PREFIX + group: 1.0}
    for cue in cue_groups:
        out[f"{CUE_PREFIX}{cue}|{group}"] = 1.0
    return out


def urgent_features(feats: dict[str, float], cue_groups: Iterable[str], group: str) -> dict[str, float]:
    """Urgency sees the text features plus each cue conjoined with the category group."""
    out = dict(feats)
    out.update(urgent_extra(cue_groups, group))
    return out


def _as_groups(feats: Mapping[str, float]) -> Features:
    by_value: dict[float, set[str]] = {}
    for f, x in feats.items():
        by_value.setdefault(x, set()).add(f)
    return Features(tuple((x, frozenset(fs)) for x, fs in by_value.items()))


@dataclass(frozen=True)
class Scored:
    ranked: list[tuple[str, float]]
    evidence: list[tuple[str, float, str]]


class Model:
    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"model schema {data.get('schema')!r} is not {SCHEMA}; run `complaints train`")
        self.data = data
        self.version: str = data["version"]
        self.categories: list[str] = sorted(data["categories"])
        self.cat_bias: dict[str, float] = data["category"]["bias"]
        self.cat_w: dict[str, dict[str, float]] = data["category"]["weights"]
        self.urg_bias: float = float(data["urgent"]["bias"])
        self.urg_w: dict[str, float] = {f: float(w) for f, w in data["urgent"]["weights"].items()}
        # how the model's texts were featurised (the analyser must do the same)
        feats = data.get("features", {})
        self.homophones: bool = bool(feats.get("homophones", False))
        self.term_frequency: bool = bool(feats.get("term_frequency", False))
        self.lead_boost: float = float(feats.get("lead_boost", 1.0))
        # softmax temperature fitted on held-out folds (services/core/evaluation.py fit_temperature)
        self.temperature: float = float(data.get("calibration", {}).get("temperature", 1.0))
        index = {c: i for i, c in enumerate(self.categories)}
        n = self._n = len(self.categories)
        self._bias = [float(self.cat_bias[c]) for c in self.categories]
        # feature -> packed row: one slot per category plus a last slot for the urgency weight
        fmt = self._fmt = struct.Struct(f"<{n + 1}Q")
        self._nbytes = fmt.size
        self._decode = int.from_bytes(fmt.pack(*([_HALF] * (n + 1))), "little")
        self._sparse: dict[str, dict[int, float]] = {}
        self._rows: dict[str, int] = {}
        for f in sorted(set(self.cat_w) | set(self.urg_w)):
            sparse = {index[c]: float(w) for c, w in self.cat_w.get(f, {}).items()}
            slots = [_HALF] * (n + 1)
            for i, w in sparse.items():
                slots[i] += round(w * _SCALE)
            slots[n] += round(self.urg_w.get(f, 0.0) * _SCALE)
            self._rows[f] = int.from_bytes(fmt.pack(*slots), "little") - self._decode
            self._sparse[f] = sparse
        # per category, the features with a positive weight ranked by (-weight, name): the
        # evidence of a winner is the best-ranked matched features (sorting small ints is cheap)
        positive: list[list[tuple[float, str]]] = [[] for _ in range(n)]
        for f, sparse in self._sparse.items():
            for i, w in sparse.items():
                if w > 0:
                    positive[i].append((-w, f))
        self._by_rank: list[list[tuple[str, float]]] = []
        self._rank: list[dict[str, int]] = []
        for items in positive:
            items.sort()
            self._by_rank.append([(f, -v) for v, f in items])
            self._rank.append({f: r for r, (_v, f) in enumerate(items)})
        self._urg_positive = {f: w for f, w in self.urg_w.items() if w > 0}
        # category group -> (weight of the group feature, {cue: weight of cue x group})
        self._urg_group: dict[str, tuple[float, dict[str, float]]] = {}
        for f, w in self.urg_w.items():
            if f.startswith(_GROUP_PREFIX):
                g = f[len(_GROUP_PREFIX):]
                self._urg_group[g] = (w, self._urg_group.get(g, (0.0, {}))[1])
            elif f.startswith(CUE_PREFIX) and "|" in f:
                cue, g = f[len(CUE_PREFIX):].split("|", 1)
                self._urg_group.setdefault(g, (0.0, {}))[1][cue] = w

    @classmethod
    def load(cls, path: str | Path | None = None) -> Model:
        p = Path(path) if path else MODEL_FILE
        if not p.exists():
            raise FileNotFoundError(f"no trained model at {p}; run `complaints train`")
        return cls(json.loads(p.read_text(encoding="utf-8")))

    # ---- scoring ---------------------------------------------------------------------------
    def _hits(self, feats: Features) -> list[tuple[float, AbstractSet[str]]]:
        """Per value group, the features the model knows (a set intersection in C: most grams of
        a long text are not in the model)."""
        known = self._rows.keys()
        return [(x, known & names) for x, names in feats.groups]

    def _score(self, feats: Features, hits: list[tuple[float, AbstractSet[str]]] | None = None) -> list[float]:
        """Category scores (bias included) followed by the urgency score of the text features."""
        row = self._rows.__getitem__
        out = self._bias + [self.urg_bias]
        for x, names in self._hits(feats) if hits is None else hits:
            # one big-int sum of the packed rows of the group's known features
            total = sum(map(row, names)) + self._decode
            k = x / _SCALE
            slots = self._fmt.unpack(total.to_bytes(self._nbytes, "little"))
            out = [o + (v - _HALF) * k for o, v in zip(out, slots, strict=True)]
        return out

    def scores(self, feats: Mapping[str, float] | Features) -> tuple[list[float], list[Hit]]:
        """Raw linear scores per category, and the matched features (feature, value, sparse row)."""
        groups = feats if isinstance(feats, Features) else _as_groups(feats)
        sparse = self._sparse
        hits = [(f, x, sparse[f]) for x, names in groups.groups for f in sorted(sparse.keys() & names)]
        return self._score(groups)[:-1], hits

    def classify(self, feats: Mapping[str, float] | Features, top_evidence: int = 6) -> Scored:
        groups = feats if isinstance(feats, Features) else _as_groups(feats)
        return self._classify(self._score(groups), groups, top_evidence)

    def _classify(self, sums: list[float], feats: Features, top_evidence: int,
                  hits: list[tuple[float, AbstractSet[str]]] | None = None) -> Scored:
        scores = sums[:-1]
        if self.temperature != 1.0:
            t = self.temperature
            scores = [sc / t for sc in scores]
        peak = max(scores)
        exps = [math.exp(sc - peak) for sc in scores]
        total = sum(exps)
        probs = [e / total for e in exps]
        # categories are sorted by code, so a stable sort on -p breaks ties by code
        neg = [-p for p in probs]
        order = sorted(range(self._n), key=neg.__getitem__)
        cats = self.categories
        ranked = [(cats[i], probs[i]) for i in order]
        best = cats[order[0]]
        # the winner's strongest matched features within each value group, then overall
        rank, by_rank = self._rank[order[0]], self._by_rank[order[0]]
        contrib: list[tuple[float, str]] = []
        for x, names in feats.groups if hits is None else hits:
            top = sorted(map(rank.__getitem__, rank.keys() & names))[:top_evidence]
            contrib.extend((-w * x, f) for f, w in map(by_rank.__getitem__, top))
        contrib.sort()
        return Scored(ranked, [(f, round(-v, 4), best) for v, f in contrib[:top_evidence]])

    def urgency(self, feats: Mapping[str, float] | Features, top_evidence: int = 4,
                extra: Mapping[str, float] | None = None) -> tuple[float, list[tuple[str, float]]]:
        """Urgent probability of ``feats`` (plus ``extra`` features, e.g. the cue x group
        conjunctions of :func:`urgent_extra`)."""
        groups = feats if isinstance(feats, Features) else _as_groups(feats)
        u = Urgency(self, groups, self._score(groups)[-1])
        extra = extra or {}
        s = u.base + sum(self.urg_w.get(f, 0.0) * x for f, x in extra.items())
        contrib = u.text_evidence()
        contrib.extend((f, self.urg_w[f] * x) for f, x in extra.items() if self.urg_w.get(f, 0.0) > 0)
        contrib.sort(key=lambda fv: (-fv[1], fv[0]))
        return _sigmoid(s), contrib[:top_evidence]

    def decide(self, feats: Features | Mapping[str, float], top_evidence: int = 6) -> tuple[Scored, Urgency]:
        """``classify`` and the text part of ``urgency`` from one pass over the features; the
        urgency's category-dependent features are added by :class:`Urgency` once the category
        group is known."""
        groups = feats if isinstance(feats, Features) else _as_groups(feats)
        hits = self._hits(groups)
        sums = self._score(groups, hits)
        return self._classify(sums, groups, top_evidence, hits), Urgency(self, groups, sums[-1])


def _sigmoid(s: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, s))))


class Urgency:
    """The urgency model's score for one text, completed with the category-dependent features
    (the category group and each cue group conjoined with it)."""

    def __init__(self, model: Model, feats: Features, base: float) -> None:
        self._model = model
        self._feats = feats
        self.base = base

    def probability_for(self, cues: Iterable[str], group: str) -> float:
        gw, cue_w = self._model._urg_group.get(group, (0.0, {}))
        return _sigmoid(self.base + gw + sum(map(cue_w.get, cues, repeat(0.0))))

    def text_evidence(self) -> list[tuple[str, float]]:
        positive = self._model._urg_positive
        return [(f, positive[f] * x) for x, names in self._feats.groups for f in positive.keys() & names]

    def evidence_for(self, cues: Iterable[str], group: str, top: int = 4) -> list[tuple[str, float]]:
        """The features that raised the urgency most (text n-grams, cue x group, group)."""
        gw, cue_w = self._model._urg_group.get(group, (0.0, {}))
        contrib = self.text_evidence()
        if gw > 0:
            contrib.append((_GROUP_PREFIX + group, gw))
        contrib.extend((f"{CUE_PREFIX}{c}|{group}", cue_w[c]) for c in cues if cue_w.get(c, 0.0) > 0)
        contrib.sort(key=lambda fv: (-fv[1], fv[0]))
        return contrib[:top]

    # the dict interface of earlier versions (``extra`` = :func:`urgent_extra`)
    def probability(self, extra: Mapping[str, float]) -> float:
        w = self._model.urg_w
        return _sigmoid(self.base + sum(w.get(f, 0.0) * x for f, x in extra.items()))

    def evidence(self, extra: Mapping[str, float], top: int = 4) -> list[tuple[str, float]]:
        w = self._model.urg_w
        contrib = self.text_evidence()
        contrib.extend((f, w[f] * x) for f, x in extra.items() if w.get(f, 0.0) > 0)
        contrib.sort(key=lambda fv: (-fv[1], fv[0]))
        return contrib[:top]
