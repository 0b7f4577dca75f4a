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
        # feature -> (packed weight row, {category index: weight}) in one lookup
        self._rows: dict[str, tuple[int, dict[int, float]]] = {}
        for f, row in self.cat_w.items():
            sparse = {index[c]: float(w) for c, w in row.items()}
            slots = [_OFFSET] * n
            for i, w in sparse.items():
                slots[i] += round(w * _SCALE)
            packed = int.from_bytes(struct.pack(f"<{n}Q", *slots), "little")
            self._rows[f] = (packed, sparse)
        self._unpack = struct.Struct(f"<{n}Q")

    @classmethod
    def load(cls, path: str | Path | None = None) -> Model:
        p = Path(path) if path else MODEL_FILE
        if not p.exists():
            raise FileNotFoundError(f"no trained model at {p}; run `complaints train`")
        return cls(json.loads(p.read_text(encoding="utf-8")))

    def scores(self, feats: dict[str, float]) -> tuple[list[float], list[tuple[str, float, dict[int, float]]]]:
        """Raw linear scores per category, and the matched features (feature, value, sparse row)."""
        rows = self._rows
        hits = [(f, x, row) for f, x in feats.items() if (row := rows.get(f)) is not None]
        scores = list(self._bias)
        if not hits:
            return scores, []
        nbytes = self._unpack.size
        # a text's feature values take two or three distinct values (plain, request clause, keyword)
        for x in {x for _f, x, _r in hits}:
            packed = [r[0] for _f, xx, r in hits if xx == x]
            base = len(packed) * _OFFSET
            factor = x / _SCALE
            slots = self._unpack.unpack(sum(packed).to_bytes(nbytes, "little"))
            for i, v in enumerate(slots):
                if v != base:
                    scores[i] += (v - base) * factor
        return scores, [(f, x, r[1]) for f, x, r in hits]

    def classify(self, feats: dict[str, float], top_evidence: int = 6) -> Scored:
        scores, hits = self.scores(feats)
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
        contrib = [(-(w * x), f) for f, x, sparse in hits if (w := sparse.get(bi, 0.0)) > 0]
        contrib.sort()
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
