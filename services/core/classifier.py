"""Category and urgency models: linear weight tables over char n-grams and cue features.

The artefact (``services/core/model/weights.json``) is plain JSON::

    {"schema": 1, "version": "<sha256 of data + settings>", "categories": [...],
     "category": {"bias": {code: w}, "weights": {feature: {code: w}}},
     "urgent":   {"bias": w, "weights": {feature: w}}, "settings": {...}, "trained_on": {...}}

Scores are softmax probabilities (category) and a sigmoid probability (urgent); the
evidence is the features that pushed the winner up most.

Speed: at load time every feature's weight row (one weight per category) is packed into a
single Python integer, one 64-bit fixed-point slot per category (offset so every slot is
non-negative).  Scoring a text is then one big-integer addition per matched feature (C
speed, independent of the number of categories) and one unpack per distinct feature value,
instead of a Python loop over every (feature, category) weight.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.core.text import CUE_PREFIX

SCHEMA = 1
MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_FILE = MODEL_DIR / "weights.json"

_SCALE = float(1 << 24)     # fixed-point resolution of a packed weight (weights are rounded to 1e-5)
_OFFSET = 1 << 36           # added to every slot so sums stay non-negative (|w| < 4096)
_SLOT_BITS = 64             # room for 2**27 summed rows per slot


def urgent_extra(cue_groups: list[str] | Any, group: str) -> dict[str, float]:
    """The urgency model's own features: the category group and each cue conjoined with it."""
    out = {"grp:" + group: 1.0}
    for cue in cue_groups:
        out[f"{CUE_PREFIX}{cue}|{group}"] = 1.0
    return out


def urgent_features(feats: dict[str, float], cue_groups: list[str] | Any, group: str) -> dict[str, float]:
    """Urgency sees the text features plus each cue conjoined with the category group."""
    out = dict(feats)
    out.update(urgent_extra(cue_groups, group))
    return out


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
        index = {c: i for i, c in enumerate(self.categories)}
        n = len(self.categories)
        self._bias = [float(self.cat_bias[c]) for c in self.categories]
        # feature -> (packed row, {category index: weight}, urgent weight).  The packed row
        # holds one slot per category plus a last slot for the urgency model's weight, so one
        # dict lookup and one big-integer addition per feature serve both models.
        self._n = n
        self._rows: dict[str, tuple[int, dict[int, float], float]] = {}
        fmt = struct.Struct(f"<{n + 1}Q")
        for f in sorted(set(self.cat_w) | set(self.urg_w)):
            sparse = {index[c]: float(w) for c, w in self.cat_w.get(f, {}).items()}
            uw = self.urg_w.get(f, 0.0)
            slots = [_OFFSET] * (n + 1)
            for i, w in sparse.items():
                slots[i] += round(w * _SCALE)
            slots[n] += round(uw * _SCALE)
            self._rows[f] = (int.from_bytes(fmt.pack(*slots), "little"), sparse, uw)
        self._unpack = fmt
        # category index -> {feature: positive weight}: the evidence candidates, found by a
        # C-level key-set intersection instead of a lookup per feature
        self._positive: list[dict[str, float]] = [{} for _ in range(n)]
        for f, (_packed, sparse, _uw) in self._rows.items():
            for i, w in sparse.items():
                if w > 0:
                    self._positive[i][f] = w

    @classmethod
    def load(cls, path: str | Path | None = None) -> Model:
        p = Path(path) if path else MODEL_FILE
        if not p.exists():
            raise FileNotFoundError(f"no trained model at {p}; run `complaints train`")
        return cls(json.loads(p.read_text(encoding="utf-8")))

    def _hits(self, feats: dict[str, float]) -> list[tuple[str, float, tuple[int, dict[int, float], float]]]:
        rows = self._rows
        return [(f, x, row) for f, x in feats.items() if (row := rows.get(f)) is not None]

    def _sums(self, hits: list[tuple[str, float, tuple[int, dict[int, float], float]]]) -> list[float]:
        """Category scores (without bias) followed by the urgency score of the text features."""
        out = [0.0] * (self._n + 1)
        nbytes = self._unpack.size
        # a text's feature values take two or three distinct values (plain, request clause, keyword)
        for x in {x for _f, x, _r in hits}:
            packed = [r[0] for _f, xx, r in hits if xx == x]
            base = len(packed) * _OFFSET
            factor = x / _SCALE
            slots = self._unpack.unpack(sum(packed).to_bytes(nbytes, "little"))
            out = [o + (v - base) * factor for o, v in zip(out, slots, strict=True)]
        return out

    def scores(self, feats: dict[str, float],
               hits: list[tuple[str, float, tuple[int, dict[int, float], float]]] | None = None,
               ) -> tuple[list[float], list[tuple[str, float, dict[int, float]]]]:
        """Raw linear scores per category, and the matched features (feature, value, sparse row)."""
        if hits is None:
            hits = self._hits(feats)
        sums = self._sums(hits)
        scores = [b + v for b, v in zip(self._bias, sums, strict=False)]
        return scores, [(f, x, r[1]) for f, x, r in hits]

    def classify(self, feats: dict[str, float], top_evidence: int = 6) -> Scored:
        hits = self._hits(feats)
        return self._classify(self._sums(hits), hits, top_evidence)

    def _classify(self, sums: list[float], hits: list[tuple[str, float, tuple[int, dict[int, float], float]]],
                  top_evidence: int) -> Scored:
        scores = [b + v for b, v in zip(self._bias, sums, strict=False)]
        peak = max(scores)
        exps = [math.exp(sc - peak) for sc in scores]
        total = sum(exps)
        probs = [e / total for e in exps]
        # categories are sorted by code, so a stable sort on -p breaks ties by code
        neg = [-p for p in probs]
        order = sorted(range(len(probs)), key=neg.__getitem__)
        cats = self.categories
        ranked = [(cats[i], probs[i]) for i in order]
        bi = order[0]
        best = cats[bi]
        positive = self._positive[bi]
        xs = {f: x for f, x, _r in hits}
        contrib = sorted((-(positive[f] * xs[f]), f) for f in positive.keys() & xs.keys())
        evidence = [(f, round(-v, 4), best) for v, f in contrib[:top_evidence]]
        return Scored(ranked, evidence)

    def urgency(self, feats: dict[str, float], top_evidence: int = 4,
                extra: dict[str, float] | None = None) -> tuple[float, list[tuple[str, float]]]:
        """Urgent probability of ``feats`` (plus ``extra`` features, e.g. the cue x group
        conjunctions of :func:`urgent_features`, without copying ``feats``)."""
        s = self.urg_bias
        w = self.urg_w
        contrib = []
        items = list(feats.items())
        if extra:
            items.extend(extra.items())
        for f, x in items:
            wf = w.get(f)
            if wf:
                s += wf * x
                if wf > 0:
                    contrib.append((f, wf * x))
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, s))))
        contrib.sort(key=lambda fv: (-fv[1], fv[0]))
        return p, contrib[:top_evidence]

    def decide(self, feats: dict[str, float], top_evidence: int = 6) -> tuple[Scored, Urgency]:
        """``classify`` and the text part of ``urgency`` from one lookup per feature; the
        urgency's cue x group features are added by :class:`Urgency` once the group is known."""
        hits = self._hits(feats)
        sums = self._sums(hits)
        return self._classify(sums, hits, top_evidence), Urgency(self, hits, self.urg_bias + sums[-1])


class Urgency:
    """The urgency model's score for one text, completed with the category-dependent features."""

    def __init__(self, model: Model, hits: list[tuple[str, float, tuple[int, dict[int, float], float]]],
                 base: float) -> None:
        self._w = model.urg_w
        self._hits = hits
        self._base = base

    def probability(self, extra: dict[str, float]) -> float:
        s = self._base
        w = self._w
        for f, x in extra.items():
            s += w.get(f, 0.0) * x
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, s))))

    def evidence(self, extra: dict[str, float], top: int = 4) -> list[tuple[str, float]]:
        contrib = [(f, r[2] * x) for f, x, r in self._hits if r[2] > 0]
        contrib.extend((f, self._w[f] * x) for f, x in extra.items() if self._w.get(f, 0.0) > 0)
        contrib.sort(key=lambda fv: (-fv[1], fv[0]))
        return contrib[:top]
