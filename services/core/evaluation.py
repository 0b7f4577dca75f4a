"""Quality measurement: metrics of classify + locate + route against labelled complaints, and
honest K-fold cross-validation (each fold's model never sees that fold's items; extra
training data may be in every fold)."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.core.classifier import Model
from services.core.config import CityConfig
from services.core.engine import Decision, Engine
from services.core.training import Example, Settings, train

METRIC_KEYS = ("n", "category_accuracy", "macro_f1", "territory_accuracy", "unit_accuracy", "wrong_unit_rate",
               "command_centre_rate", "urgent_precision", "urgent_recall")
_T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Outcome:
    example: Example
    decision: Decision


def metrics(outcomes: Sequence[Outcome], command_centre: str) -> dict[str, Any]:
    n = len(outcomes)
    if n == 0:
        return {k: 0 for k in METRIC_KEYS}
    cat_ok = sum(o.decision.category == o.example.category for o in outcomes)
    terr_ok = sum(o.decision.territory == o.example.territory for o in outcomes)
    labelled_units = [o for o in outcomes if o.example.unit]
    unit_ok = sum(o.decision.unit == o.example.unit for o in labelled_units)
    wrong = sum(o.decision.unit != o.example.unit and o.decision.unit != command_centre for o in labelled_units)
    cc = sum(o.decision.unit == command_centre for o in outcomes)
    tp = sum(o.decision.urgent and o.example.urgent for o in outcomes)
    fp = sum(o.decision.urgent and not o.example.urgent for o in outcomes)
    fn = sum(not o.decision.urgent and o.example.urgent for o in outcomes)
    nu = len(labelled_units) or 1
    return {
        "n": n,
        "category_accuracy": round(cat_ok / n, 4),
        "macro_f1": round(macro_f1([o.example.category for o in outcomes], [o.decision.category for o in outcomes]), 4),
        "territory_accuracy": round(terr_ok / n, 4),
        "unit_accuracy": round(unit_ok / nu, 4),
        "wrong_unit_rate": round(wrong / nu, 4),
        "command_centre_rate": round(cc / n, 4),
        "urgent_precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "urgent_recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
    }


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    labels = sorted(set(gold) | set(pred))
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def confusions(outcomes: Sequence[Outcome], top: int = 10) -> list[tuple[str, str, int]]:
    pairs = Counter((o.example.category, o.decision.category) for o in outcomes
                    if o.example.category != o.decision.category)
    return [(g, p, k) for (g, p), k in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


def run(engine: Engine, examples: Sequence[Example]) -> list[Outcome]:
    return [Outcome(e, engine.decide(e.text, _T0, location_label=e.location_label)) for e in examples]


def folds(examples: Sequence[Example], k: int, seed: int = 7, shuffle: int | None = None) -> list[list[int]]:
    """Stratified by category, deterministic: fold i gets every k-th item of each category (in
    file order, or, with ``shuffle``, in an order shuffled by ``random.Random(shuffle)`` -- another
    partition, to see how much a CV figure owes to the split)."""
    by_cat: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_cat.setdefault(e.category, []).append(i)
    out: list[list[int]] = [[] for _ in range(k)]
    offset = seed % k if shuffle is None else 0
    rng = random.Random(shuffle)
    for cat in sorted(by_cat):
        items = by_cat[cat][:]
        if shuffle is not None:
            rng.shuffle(items)
        for j, idx in enumerate(items):
            out[(j + offset) % k].append(idx)
        offset = (offset + len(items)) % k
    return [sorted(f) for f in out]


def fold_models(city: CityConfig, examples: Sequence[Example], k: int, extra: Sequence[Example] = (),
                settings: Settings | None = None, shuffle: int | None = None) -> Iterator[tuple[list[int], Model]]:
    """Each fold's held-out indices with a model trained on the other folds plus ``extra``."""
    for test_idx in folds(examples, k, shuffle=shuffle):
        held = set(test_idx)
        yield test_idx, Model(train(city, [e for i, e in enumerate(examples) if i not in held] + list(extra),
                                    settings))


def cross_validate(city: CityConfig, examples: Sequence[Example], k: int, extra: Sequence[Example] = (),
                   settings: Settings | None = None, shuffle: int | None = None,
                   temperature: float = 1.0) -> list[Outcome]:
    """K-fold CV: each fold is decided by a model trained on the other folds plus ``extra``
    (``shuffle``: the seed of another stratified partition, see :func:`folds`)."""
    if k < 2:
        raise ValueError("--cv needs K >= 2")
    outcomes: list[Outcome | None] = [None] * len(examples)
    for test_idx, model in fold_models(city, examples, k, extra, settings, shuffle):
        model.temperature = temperature  # the shipped model's calibration (fitted on these folds' outputs)
        engine = Engine(city, model)
        for i in test_idx:
            e = examples[i]
            outcomes[i] = Outcome(e, engine.decide(e.text, _T0, location_label=e.location_label))
    return [o for o in outcomes if o is not None]


# ---- real writing (the real-text development set, docs/realtext-labelling.md) ---------------------

REALTEXT_KEYS = ("n", "category_accuracy", "category_or_secondary", "decision_accuracy", "city_not_dispatched",
                 "city_not_dispatched_400", "city_handed_away", "other_dispatched", "command_centre_rate", "urgent_precision",
                 "urgent_recall", "n_city", "n_city_400", "n_other")
_DECISION = {"squad": "dispatch", "city_unit": "dispatch", "answer": "answer", "forward": "forward"}


def decision_of(city: CityConfig, category: str) -> str:
    """What the hotline does with a matter of this category: dispatch / answer / forward."""
    return _DECISION[city.categories[category].handler]


def predicted_decision(city: CityConfig, d: Decision) -> str:
    """dispatch / answer / forward, or ``review`` when the router left it to the command centre."""
    if d.unit == city.command_centre:
        return "review"
    return decision_of(city, d.category)


def realtext_metrics(city: CityConfig, outcomes: Sequence[Outcome], secondary: Sequence[str | None],
                     long_from: int = 400) -> dict[str, Any]:
    """Figures on real posts: category, the dispatch decision (city case / answer / hand over),
    city complaints not dispatched (all, and of posts of ``long_from``+ characters), other
    matters dispatched to a unit, the share left to the command centre, urgency."""
    n = len(outcomes)
    if n == 0:
        return {k: 0 for k in REALTEXT_KEYS}
    gold = [decision_of(city, o.example.category) for o in outcomes]
    pred = [predicted_decision(city, o.decision) for o in outcomes]
    city_idx = [i for i, g in enumerate(gold) if g == "dispatch"]
    long_idx = [i for i in city_idx if len(outcomes[i].example.text) >= long_from]
    other_idx = [i for i, g in enumerate(gold) if g != "dispatch"]
    cat_ok = sum(o.decision.category == o.example.category for o in outcomes)
    cat2_ok = sum(o.decision.category in (o.example.category, s) for o, s in zip(outcomes, secondary, strict=True))
    tp = sum(o.decision.urgent and o.example.urgent for o in outcomes)
    fp = sum(o.decision.urgent and not o.example.urgent for o in outcomes)
    fn = sum(not o.decision.urgent and o.example.urgent for o in outcomes)

    def share(idx: list[int], cond: Any) -> float:
        return round(sum(1 for i in idx if cond(i)) / len(idx), 4) if idx else 0.0

    return {
        "n": n,
        "category_accuracy": round(cat_ok / n, 4),
        "category_or_secondary": round(cat2_ok / n, 4),
        "decision_accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / n, 4),
        "city_not_dispatched": share(city_idx, lambda i: pred[i] != "dispatch"),
        "city_not_dispatched_400": share(long_idx, lambda i: pred[i] != "dispatch"),
        "city_handed_away": share(city_idx, lambda i: pred[i] in ("forward", "answer")),
        "other_dispatched": share(other_idx, lambda i: pred[i] == "dispatch"),
        "command_centre_rate": round(sum(p == "review" for p in pred) / n, 4),
        "urgent_precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "urgent_recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "n_city": len(city_idx),
        "n_city_400": len(long_idx),
        "n_other": len(other_idx),
    }


def run_placed(engine: Engine, examples: Sequence[Example], territory: str) -> list[Outcome]:
    """Decide every example as if it had been located in ``territory`` (real posts from another
    city: the figures measure the classifier and the dispatch decision, not the locator)."""
    return [Outcome(e, engine.decide(e.text, _T0, territory_override=territory)) for e in examples]


def squad_territory(engine: Engine) -> str:
    """The first territory (by code) whose squad takes a squad matter: where real posts from
    another city are 'located' for measuring."""
    probe = next(c for c, cat in engine.city.categories.items() if cat.handler == "squad")
    for code in sorted(engine.city.territories):
        d = engine.decide("测试", _T0, category_override=probe, territory_override=code)
        if d.unit != engine.city.command_centre:
            return code
    raise ValueError("no territory with a squad in this city")


def held_out_scores(city: CityConfig, examples: Sequence[Example], k: int, extra: Sequence[Example] = (),
                    settings: Settings | None = None) -> list[tuple[list[float], int]]:
    """K-fold: every example's raw category scores from a model that never saw it, with the index
    of its label (categories sorted by code, as in the model)."""
    labels = sorted(city.categories)
    index = {c: i for i, c in enumerate(labels)}
    out: list[tuple[list[float], int]] = []
    for test_idx, model in fold_models(city, examples, k, extra, settings):
        analyzer = Engine(city, model).analyzer
        for i in test_idx:
            sums, _hits = model.scores(analyzer.analyse(examples[i].text).groups)
            out.append((sums, index[examples[i].category]))
    return out


def fit_temperature(scored: Sequence[tuple[list[float], int]], grid: Sequence[float] | None = None) -> float:
    """The softmax temperature that minimises the negative log-likelihood of held-out labels
    (temperature scaling, Guo et al. 2017): > 1 when the model is over-confident, < 1 when under."""
    candidates = grid or [round(0.3 + 0.05 * i, 2) for i in range(55)]

    def nll(t: float) -> float:
        total = 0.0
        for sums, y in scored:
            z = [s / t for s in sums]
            peak = max(z)
            total -= z[y] - peak - math.log(sum(math.exp(v - peak) for v in z))
        return total / max(len(scored), 1)

    return min(candidates, key=lambda t: (nll(t), abs(t - 1.0)))
