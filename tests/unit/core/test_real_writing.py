"""Real writing: handing a case to 12345 needs more certainty than keeping it; the features are
sublinear in repetition and weigh the first clause; the model carries its calibration."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from services.core.classifier import Model
from services.core.config import CityConfig
from services.core.engine import Engine
from services.core.text import CueMatcher, featurise

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
SOCIAL_INSURANCE = "我想问一下灵活就业人员的养老保险每个月要交多少钱，断缴了两年还能不能补缴"


def with_thresholds(city: CityConfig, **kw: float) -> CityConfig:
    return dataclasses.replace(city, thresholds=dataclasses.replace(city.thresholds, **kw))


def test_forwarding_needs_its_own_confidence(city: CityConfig) -> None:
    model = Model.load()
    plain = Engine(with_thresholds(city, forward_confidence_below=0.0, unit_confidence_below=0.0), model)
    d = plain.decide(SOCIAL_INSURANCE, T0)
    assert d.category == "OUT_OF_SCOPE" and d.unit == "FORWARD_12345", d
    strict = Engine(with_thresholds(city, forward_confidence_below=1.0, unit_confidence_below=0.0), model)
    held = strict.decide(SOCIAL_INSURANCE, T0)
    assert held.category == "OUT_OF_SCOPE" and held.unit == "COMMAND_CENTER"
    assert any(r.startswith("unit unsure") for r in held.review_reasons)
    # a squad matter is not held by the forwarding threshold
    noise = strict.decide("白蒲镇唐堡村工地晚上十一点还在打桩，吵得睡不着", T0)
    assert noise.unit != "COMMAND_CENTER", noise


def test_term_frequency_is_sublinear_and_the_first_clause_weighs_more() -> None:
    none = CueMatcher({})
    once, _c, _k = featurise("油烟很大。邻居都受不了", none, term_frequency=True)
    thrice, _c, _k = featurise("油烟很大。油烟还在排。油烟熏到家里", none, term_frequency=True)
    # relative to the other grams of its text, a gram said in three clauses weighs 1 + ln 3 times one said once
    assert abs(thrice["油烟"] / thrice["熏"] - (1 + 1.0986122886681098)) < 1e-9
    assert abs(once["油烟"] / once["邻"] - 1.0) < 1e-9
    lead, _c, _k = featurise("饭店油烟扰民。我们找过物业", none, term_frequency=True, lead_boost=1.5)
    assert abs(lead["油烟"] / lead["物业"] - 1.5) < 1e-9


def test_the_shipped_model_is_calibrated_and_its_probabilities_sum_to_one(engine: Engine) -> None:
    assert engine.model.temperature != 1.0  # fitted by `complaints train` on held-out folds
    a = engine.analyzer.analyse("小区门口的烧烤摊每天晚上烟熏火燎")
    ranked = engine.model.classify(a.groups).ranked
    assert abs(sum(p for _c, p in ranked) - 1.0) < 1e-9
