"""One pass over a complaint text shared by training and inference: normalise, find place
names, mask them, featurise."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from services.core.config import CityConfig
from services.core.gazetteer import Gazetteer, Mention
from services.core.homophones import table as homophone_table
from services.core.text import PLACE_MASK, CueMatcher, Features, clauses, featurise_groups, normalise


@dataclass(frozen=True)
class Analysed:
    normalised: str
    mentions: list[Mention]
    groups: Features                   # the feature vector as (value, names) groups
    cues: dict[str, list[str]]
    keywords: dict[str, list[str]]
    lead: Features | None = None       # the first clause's own features (a long text's title or summary)

    @cached_property
    def features(self) -> dict[str, float]:
        """The feature vector as ``{feature: value}``."""
        return self.groups.as_dict()


class Analyzer:
    def __init__(self, city: CityConfig, gazetteer: Gazetteer | None = None, *, homophones: bool = False,
                 term_frequency: bool | None = None, lead_boost: float | None = None) -> None:
        """``term_frequency`` / ``lead_boost``: as the model was trained (default: the city's lexicon)."""
        self.city = city
        self.term_frequency = city.term_frequency if term_frequency is None else term_frequency
        self.lead_boost = city.lead_boost if lead_boost is None else lead_boost
        self.lead_view = city.lead_view
        self.fold = homophone_table() if homophones else None
        self.gazetteer = gazetteer or Gazetteer(city)
        self.cues = CueMatcher(city.cues)
        self.keywords = CueMatcher(city.keywords)
        self.request_phrases = tuple(normalise(p) for p in city.cues.get("request", ()))

    def analyse(self, text: str) -> Analysed:
        norm = normalise(text)
        mentions = self.gazetteer.find(norm)
        masked = self.gazetteer.mask(norm, mentions, PLACE_MASK)
        groups, cues, kws = featurise_groups(masked, self.cues, self.keywords, self.request_phrases,
                                             clause_boost=self.city.clause_boost,
                                             keyword_weight=self.city.keyword_weight, fold=self.fold,
                                             term_frequency=self.term_frequency, lead_boost=self.lead_boost)
        lead = None
        if self.lead_view:
            parts = clauses(masked)
            if len(parts) > 1 and len(parts[0]) >= 4:
                lead = featurise_groups(parts[0], self.cues, self.keywords, (), keyword_weight=self.city.keyword_weight,
                                        fold=self.fold, term_frequency=self.term_frequency)[0]
        return Analysed(norm, mentions, groups, cues, kws, lead)
