"""Classifier output shape and evidence, deterministic training, honest CV quality."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.core.classifier import Model
from services.core.evaluation import METRIC_KEYS, cross_validate, folds, metrics
from services.core.training import Settings, train
from services.corecli import training_examples

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_top_two_scores_and_evidence(engine) -> None:  # type: ignore[no-untyped-def]
    d = engine.decide("楼下饭店的油烟直排，没有装净化器，我家窗户都不敢开", NOW)
    assert d.category == "CATERING_FUMES"
    assert len(d.candidates) >= 2
    assert all(0.0 <= s <= 1.0 for _c, s in d.candidates)
    assert d.candidates[0][1] >= d.candidates[1][1]
    assert d.evidence and all(cat == "CATERING_FUMES" and w > 0 for _t, w, cat in d.evidence)
    assert any("油烟" in term or term == "kw:CATERING_FUMES" for term, _w, _c in d.evidence)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("凌晨一点了隔壁工地还在打桩，床都在震", "NOISE_CONSTRUCTION"),
        ("我想问一下自家门口搭雨棚要到哪里审批", "CONSULTATION"),
        ("老板拖欠我们三个月工资不发，人也找不到了", "OUT_OF_SCOPE"),
        ("地下室原来是人防工程，现在被改成了棋牌室在营业", "CIVIL_AIR_DEFENSE"),
        ("楼道里一股很浓的煤气味，好像哪家漏气了", "GAS_SAFETY"),
    ],
)
def test_unseen_paraphrases(engine, text: str, category: str) -> None:  # type: ignore[no-untyped-def]
    assert engine.decide(text, NOW).category == category


def test_urgent_flag_has_evidence(engine) -> None:  # type: ignore[no-untyped-def]
    d = engine.decide("马路中间的井盖没了，现在一个大黑洞，晚上根本看不见，赶紧来人", NOW)
    assert d.urgent and d.urgent_evidence
    calm = engine.decide("这条路的路灯坏了一个多月了，麻烦修一下", NOW)
    assert not calm.urgent and calm.urgent_evidence == []


def test_decision_routes_and_flags_unknown_place(engine) -> None:  # type: ignore[no-untyped-def]
    d = engine.decide("下原镇老坝村这边有人在马路上摆摊卖西瓜，车子都过不去", NOW)
    assert (d.territory, d.territory_name, d.village, d.unit) == ("320682107", "下原镇", "老坝村委会", "SQ_XIAYUAN")
    assert d.rule.endswith("-> territorial_unit")
    nowhere = engine.decide("小区门口天天有人摆摊卖水果，把路都堵了", NOW)
    assert nowhere.territory is None and nowhere.unit == "COMMAND_CENTER" and nowhere.review
    assert any("place unknown" in r for r in nowhere.review_reasons)


def test_overrides(engine) -> None:  # type: ignore[no-untyped-def]
    d = engine.decide("有人摆摊", NOW, category_override="GAS_SAFETY", territory_override="320682105")
    assert (d.category, d.territory, d.unit) == ("GAS_SAFETY", "320682105", "CITY_GAS")
    with pytest.raises(ValueError, match="unknown category"):
        engine.decide("x", NOW, category_override="NOPE")


def test_training_is_deterministic(city) -> None:  # type: ignore[no-untyped-def]
    dev, extra = training_examples()
    sample = dev[::4] + extra[::4]
    s = Settings(epochs=4)
    first, second = train(city, sample, s), train(city, sample, s)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["version"] == second["version"]
    assert Model(first).classify({"油烟": 1.0}).ranked[0][0] in city.categories


_TRAIN_SAMPLE = """
import hashlib, json
from services.core.loader import load_city
from services.core.training import Settings, train
from services.corecli import training_examples
dev, extra = training_examples()
model = train(load_city("rugao"), dev[::6] + extra[::6], Settings(epochs=3, urgent_epochs=3))
print(hashlib.sha256(json.dumps(model, sort_keys=True).encode()).hexdigest())
"""


def test_training_does_not_depend_on_hash_seed() -> None:
    """Sets of n-grams iterate in a hash-seeded order; the weights must not depend on it."""
    import os
    import subprocess
    import sys

    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", _TRAIN_SAMPLE], env=env, capture_output=True, text=True,
                             check=True, timeout=240)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_engine_featurises_like_the_model(city) -> None:  # type: ignore[no-untyped-def]
    """A model trained with the homophone-folded grams makes the engine add them (and only then)."""
    from services.core.engine import Engine

    dev, extra = training_examples()
    sample = dev[::3] + extra[::3]
    folded = Engine(city, Model(train(city, sample, Settings(epochs=4, urgent_epochs=2, homophones=True))))
    plain = Engine(city, Model(train(city, sample, Settings(epochs=4, urgent_epochs=2, homophones=False))))
    assert folded.model.homophones and folded.analyzer.fold is not None
    assert not plain.model.homophones and plain.analyzer.fold is None
    text = "楼下那家酒巴每天晚上音乐放到两三点"   # 酒巴 = 酒吧 as speech recognition writes it
    assert "酒吧".translate(folded.analyzer.fold) in folded.analyzer.analyse(text).features
    assert folded.decide(text, NOW).category in city.categories


def test_folds_are_disjoint_and_cover(city) -> None:  # type: ignore[no-untyped-def]
    dev, _extra = training_examples()
    fs = folds(dev, 5)
    flat = [i for f in fs for i in f]
    assert sorted(flat) == list(range(len(dev)))
    assert all(abs(len(f) - len(dev) / 5) <= 5 for f in fs)


@pytest.fixture(scope="module")
def cv_metrics(city):  # type: ignore[no-untyped-def]
    dev, extra = training_examples()
    return metrics(cross_validate(city, dev, 5, extra, temperature=Model.load().temperature), city.command_centre)


def test_cv_metrics_reach_targets(cv_metrics) -> None:  # type: ignore[no-untyped-def]
    m = cv_metrics
    assert tuple(m) == METRIC_KEYS
    assert m["n"] == 480
    # thresholds a little below the measured 5-fold figures (docs/classifier.md, model 12fb4452):
    # 0.9521 / 0.9521 / 1.0 / 0.9521 / 0.0063 / 0.1375 / recall 0.9216 / precision 0.8393
    assert m["category_accuracy"] >= 0.94
    assert m["macro_f1"] >= 0.94
    assert m["territory_accuracy"] >= 0.98
    assert m["unit_accuracy"] >= 0.945
    assert m["wrong_unit_rate"] <= 0.015
    assert m["command_centre_rate"] <= 0.15
    assert m["urgent_recall"] >= 0.90
    assert m["urgent_precision"] >= 0.82


def test_packed_scores_equal_the_weight_table(engine) -> None:  # type: ignore[no-untyped-def]
    """The packed-integer scorer gives the same scores as summing the JSON weight table."""
    model = engine.model
    a = engine.analyzer.analyse("请问楼下饭店的油烟直排，凌晨还有人在门口烧烤，主要是油烟问题，希望处理")
    scores, _hits = model.scores(a.features)
    for i, code in enumerate(model.categories):
        expected = model.cat_bias[code] + sum(model.cat_w.get(f, {}).get(code, 0.0) * x
                                              for f, x in a.features.items())
        assert abs(scores[i] - expected) < 1e-4


def _toy_model(city, weights: dict[str, dict[str, float]]) -> Model:  # type: ignore[no-untyped-def]
    cats = sorted(city.categories)
    return Model({"schema": 1, "version": "toy", "categories": cats,
                  "category": {"bias": {c: 0.0 for c in cats}, "weights": weights},
                  "urgent": {"bias": -5.0, "weights": {}}})


def test_unsure_between_squad_and_forward_goes_to_command_centre(city) -> None:  # type: ignore[no-untyped-def]
    from services.core.engine import Engine

    # "甲" leans to OUT_OF_SCOPE but most of the mass is on two squad categories: the unit is unsure
    toy = _toy_model(city, {"甲": {"OUT_OF_SCOPE": 30.0, "NOISE_SOCIAL": 29.6, "NOISE_COMMERCIAL": 29.6}})
    eng = Engine(city, toy)
    d = eng.decide("下原镇老坝村甲", NOW)
    assert d.category == "OUT_OF_SCOPE"
    assert d.unit == "COMMAND_CENTER" and d.review
    assert any("unit unsure" in r for r in d.review_reasons)
    # two squad categories splitting the mass are one unit: routed to the squad of the place
    toy = _toy_model(city, {"乙": {"NOISE_SOCIAL": 30.0, "NOISE_COMMERCIAL": 29.9}})
    d = Engine(city, toy).decide("下原镇老坝村乙", NOW)
    assert d.unit == "SQ_XIAYUAN"
