"""Category and urgency models: linear weight tables over char n-grams and cue features.

The artefact (``services/core/model/weights.json``) is plain JSON::

    {"schema": 1, "version": "<sha256 of data + settings>", "categories": [...],
     "category": {"bias": {code: w}, "weights": {feature: {code: w}}},
     "urgent":   {"bias": w, "weights": {feature: w}}, "settings": {...}, "trained_on": {...}}

Scores are softmax probabilities (category) and a sigmoid probability (urgent); the
evidence is the features that pushed the winner up most.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.core.text import CUE_PREFIX

SCHEMA = 1
MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_FILE = MODEL_DIR / "weights.json"


def urgent_features(feats: dict[str, float], cue_groups: list[str] | Any, group: str) -> dict[str, float]:
    """Urgency sees the text features plus each cue conjoined with the category group."""
    out = dict(feats)
    out["grp:" + group] = 1.0
    for cue in cue_groups:
        out[f"{CUE_PREFIX}{cue}|{group}"] = 1.0
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
        self.categories: list[str] = list(data["categories"])
        self.cat_bias: dict[str, float] = data["category"]["bias"]
        self.cat_w: dict[str, dict[str, float]] = data["category"]["weights"]
        self.urg_bias: float = float(data["urgent"]["bias"])
        self.urg_w: dict[str, float] = data["urgent"]["weights"]
        index = {c: i for i, c in enumerate(self.categories)}
        self._bias = [float(self.cat_bias[c]) for c in self.categories]
        self._rows: dict[str, tuple[tuple[int, float], ...]] = {
            f: tuple((index[c], float(w)) for c, w in row.items()) for f, row in self.cat_w.items()
        }

    @classmethod
    def load(cls, path: str | Path | None = None) -> Model:
        p = Path(path) if path else MODEL_FILE
        if not p.exists():
            raise FileNotFoundError(f"no trained model at {p}; run `complaints train`")
        return cls(json.loads(p.read_text(encoding="utf-8")))

    def classify(self, feats: dict[str, float], top_evidence: int = 6) -> Scored:
        scores = list(self._bias)
        rows = self._rows
        hits = []
        for f, x in feats.items():
            row = rows.get(f)
            if row is not None:
                hits.append((f, x, row))
                for i, w in row:
                    scores[i] += w * x
        peak = max(scores)
        exps = [math.exp(sc - peak) for sc in scores]
        total = sum(exps)
        ranked = sorted(((c, e / total) for c, e in zip(self.categories, exps, strict=True)),
                        key=lambda cs: (-cs[1], cs[0]))
        best = ranked[0][0]
        bi = self.categories.index(best)
        contrib = [(f, w * x) for f, x, row in hits for i, w in row if i == bi and w > 0]
        contrib.sort(key=lambda fv: (-fv[1], fv[0]))
        evidence = [(f, round(v, 4), best) for f, v in contrib[:top_evidence]]
        return Scored(ranked, evidence)

    def urgency(self, feats: dict[str, float], top_evidence: int = 4) -> tuple[float, list[tuple[str, float]]]:
        s = self.urg_bias
        w = self.urg_w
        contrib = []
        for f, x in feats.items():
            wf = w.get(f)
            if wf:
                s += wf * x
                if wf > 0:
                    contrib.append((f, wf * x))
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, s))))
        contrib.sort(key=lambda fv: (-fv[1], fv[0]))
        return p, contrib[:top_evidence]
