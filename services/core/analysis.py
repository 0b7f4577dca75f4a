"""One pass over a complaint text shared by training and inference: normalise, find place
names, mask them, featurise."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.config import CityConfig
from services.core.gazetteer import Gazetteer, Mention
from services.core.text import PLACE_MASK, CueMatcher, featurise, normalise


@dataclass(frozen=True)
class Analysed:
    normalised: str
    mentions: list[Mention]
    features: dict[str, float]
    cues: dict[str, list[str]]
    keywords: dict[str, list[str]]


class Analyzer:
    def __init__(self, city: CityConfig, gazetteer: Gazetteer | None = None) -> None:
        self.city = city
        self.gazetteer = gazetteer or Gazetteer(city)
        self.cues = CueMatcher(city.cues)
        self.keywords = CueMatcher(city.keywords)
        self.request_phrases = tuple(normalise(p) for p in city.cues.get("request", ()))

    def analyse(self, text: str) -> Analysed:
        norm = normalise(text)
        mentions = self.gazetteer.find(norm)
        masked = self.gazetteer.mask(norm, mentions, PLACE_MASK)
        feats, cues, kws = featurise(masked, self.cues, self.keywords, self.request_phrases,
                                     clause_boost=self.city.clause_boost,
                                     keyword_weight=self.city.keyword_weight)
        return Analysed(norm, mentions, feats, cues, kws)
