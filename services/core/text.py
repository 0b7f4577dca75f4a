"""Text normalisation, clause splitting and the feature extractor shared by training and inference.

Features of a text are

- character 1-, 2- and 3-grams of each clause (digits folded to ``0``, whitespace dropped,
  place names already masked by the locator so the model learns the matter, not the town),
- optionally the 2-grams of the clause folded to syllables (:mod:`homophones`), which match
  speech-recognition errors that write the right sound with the wrong characters (they take
  the value of their clause but do not count in the norm),
- one ``cue:<group>`` feature per lexicon cue group that matches (see ``lexicon.yaml``),

weighted per clause (a clause carrying the request counts ``clause_boost`` times) and
L2-normalised, so long narrative posts and one-liners live on the same scale.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from operator import add

import ahocorasick

PLACE_MASK = "□"
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_CLAUSES = re.compile(r"[。！？!?；;\n]+")
CUE_PREFIX = "cue:"
KW_PREFIX = "kw:"


def normalise(text: str) -> str:
    """NFKC (full-width -> half-width), lower case, collapse whitespace."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


class CueMatcher:
    """Aho-Corasick over the lexicon's cue phrases: which groups (and phrases) a text contains."""

    def __init__(self, cues: Mapping[str, Iterable[str]]) -> None:
        self._auto: ahocorasick.Automaton = ahocorasick.Automaton()
        table: dict[str, set[str]] = {}
        for group, phrases in cues.items():
            for phrase in phrases:
                key = normalise(phrase)
                if key:
                    table.setdefault(key, set()).add(group)
        for key, groups in table.items():
            self._auto.add_word(key, (key, tuple(sorted(groups))))
        self._empty = not table
        if not self._empty:
            self._auto.make_automaton()

    def find(self, text: str) -> dict[str, list[str]]:
        """group -> matched phrases (in order of appearance, unique)."""
        out: dict[str, list[str]] = {}
        if self._empty:
            return out
        for _end, (phrase, groups) in self._auto.iter(text):
            for group in groups:
                found = out.setdefault(group, [])
                if phrase not in found:
                    found.append(phrase)
        return out


def clauses(text: str) -> list[str]:
    return [c for c in _CLAUSES.split(text) if c.strip()]


def _grams(clause: str, fold: Mapping[int, str] | None) -> tuple[set[str], set[str]]:
    """(character 1-/2-/3-grams, syllable-folded 2-grams) of a clause; built with ``map`` over
    shifted copies of the string (no per-gram Python code; a trigram is a bigram + a char)."""
    s = _DIGITS.sub("0", clause).replace(" ", "")
    raw = set(s)
    bigrams = list(map(add, s, s[1:]))
    raw.update(bigrams)
    raw.update(map(add, bigrams, s[2:]))
    if fold is None:
        return raw, set()
    f = s.translate(fold)
    return raw, set(map(add, f, f[1:]))


def ngrams(clause: str, fold: Mapping[int, str] | None = None) -> set[str]:
    """Character 1-, 2- and 3-grams of a clause (digits folded to 0, spaces dropped), plus,
    with a homophone ``fold`` table (:mod:`services.core.homophones`), the 2-grams of the
    clause folded to syllables (a two-syllable word heard right but written wrong)."""
    raw, folded = _grams(clause, fold)
    return raw | folded


@dataclass(frozen=True, slots=True)
class Features:
    """The sparse feature vector of one text as (value, feature names) groups: every feature
    of a text takes one of two or three values (plain, request clause, keyword group), so a
    linear model scores a group with one sum of its weight rows."""

    groups: tuple[tuple[float, AbstractSet[str]], ...]

    def as_dict(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for value, names in self.groups:
            out.update(dict.fromkeys(names, value))
        return out


def featurise_groups(masked: str, cues: CueMatcher, keywords: CueMatcher | None = None,
                     request_phrases: tuple[str, ...] = (), clause_boost: float = 1.0,
                     keyword_weight: float = 1.0, fold: Mapping[int, str] | None = None,
                     term_frequency: bool = False, lead_boost: float = 1.0,
                     ) -> tuple[Features, dict[str, list[str]], dict[str, list[str]]]:
    """Features of a normalised, place-masked text, plus the cue and keyword matches.

    A gram's raw weight is the largest weight of the clauses it occurs in (``clause_boost``
    for a clause carrying the request, else 1); cue groups count 1, category keywords
    ``keyword_weight``; the vector is L2-normalised over the character n-grams, cues and
    keywords (the syllable-folded grams of a ``fold`` table take their clause's value on
    top).  Built with set operations only: this runs for every complaint.

    With ``term_frequency`` a gram's value is sublinear in how often the text says it:
    (1 + ln k) for a gram in k clauses, times the largest weight of those clauses (a request
    clause ``clause_boost``, the first clause -- a post's title, a call's summary -- ``lead_boost``):
    a long post that names the noise five times and the property company once is about the
    noise, not a vote of one word each (:func:`_tf_groups`)."""
    if term_frequency:
        return _tf_groups(masked, cues, keywords, request_phrases, clause_boost, keyword_weight, fold, lead_boost)
    found = cues.find(masked)
    kws = keywords.find(masked) if keywords is not None else {}
    parts = clauses(masked) or [masked]
    plain: set[str] = set()
    boosted: set[str] = set()
    plain_f: set[str] = set()
    boosted_f: set[str] = set()
    if clause_boost != 1.0 and len(parts) > 1 and request_phrases:
        for part in parts:
            raw, folded = _grams(part, fold)
            if any(p in part for p in request_phrases):
                boosted |= raw
                boosted_f |= folded
            else:
                plain |= raw
                plain_f |= folded
    elif len(parts) == 1:
        plain, plain_f = _grams(parts[0], fold)
    else:
        for part in parts:
            raw, folded = _grams(part, fold)
            plain |= raw
            plain_f |= folded
    plain.discard(PLACE_MASK)
    boosted.discard(PLACE_MASK)
    if clause_boost >= 1.0:
        plain -= boosted
        plain_f -= boosted_f
    else:
        boosted -= plain
        boosted_f -= plain_f
    # the norm counts the character n-grams only: the folded grams ride along with the value
    # of their clause without diluting the others (a folded gram equal to a character gram
    # is that gram)
    n_kw = len(kws)
    norm = math.sqrt(len(plain) + len(boosted) * clause_boost * clause_boost + len(found)
                     + n_kw * keyword_weight * keyword_weight) or 1.0
    plain |= plain_f
    boosted |= boosted_f
    if found:
        plain.update(map(CUE_PREFIX.__add__, found))
    groups: list[tuple[float, AbstractSet[str]]] = [(1.0 / norm, plain)]
    if boosted:
        groups.append((clause_boost / norm, boosted))
    if kws:
        names = set(map(KW_PREFIX.__add__, kws))
        if keyword_weight == 1.0:
            plain |= names
        else:
            groups.append((keyword_weight / norm, names))
    return Features(tuple(groups)), found, kws


def _tf_groups(masked: str, cues: CueMatcher, keywords: CueMatcher | None, request_phrases: tuple[str, ...],
               clause_boost: float, keyword_weight: float, fold: Mapping[int, str] | None, lead_boost: float,
               ) -> tuple[Features, dict[str, list[str]], dict[str, list[str]]]:
    found = cues.find(masked)
    kws = keywords.find(masked) if keywords is not None else {}
    parts = clauses(masked) or [masked]
    # levels[j]: the grams said in at least j + 1 clauses (set operations in C, not gram by gram)
    levels: list[set[str]] = []
    boosted: dict[float, set[str]] = {}  # clause weight (!= 1) -> grams of the clauses with it
    folded_all: set[str] = set()
    several = len(parts) > 1
    for n, part in enumerate(parts):
        raw, folded = _grams(part, fold)
        folded_all |= folded
        w = 1.0
        if several:
            if n == 0:
                w = lead_boost
            if clause_boost != 1.0 and request_phrases and any(p in part for p in request_phrases):
                w = max(w, clause_boost)
        if w != 1.0:
            boosted.setdefault(w, set()).update(raw)
        for level in levels:
            more = level & raw
            level |= raw
            raw = more
            if not raw:
                break
        if raw:
            levels.append(raw)
    seen: set[str] = levels[0] if levels else set()
    # a gram's value is (1 + ln k) times the largest weight of its clauses
    by_value: dict[float, set[str]] = {}
    taken: set[str] = {PLACE_MASK}
    for w in sorted(boosted, reverse=True):
        mine = boosted[w] - taken
        taken |= mine
        for k in range(len(levels), 0, -1):
            if not mine:
                break
            exact = mine & levels[k - 1]
            if exact:
                mine -= exact
                _add(by_value, k, w, exact)
    for k, level in enumerate(levels, start=1):
        exact = level - levels[k] if k < len(levels) else set(level)
        exact -= taken
        if exact:
            _add(by_value, k, 1.0, exact)
    total = 0.0
    for v, names in by_value.items():
        total += v * v * len(names)
    n_kw = len(kws)
    norm = math.sqrt(total + len(found) + n_kw * keyword_weight * keyword_weight) or 1.0
    plain = by_value.setdefault(1.0, set())
    folded_all -= seen
    plain |= folded_all
    if found:
        plain.update(map(CUE_PREFIX.__add__, found))
    if kws:
        names = set(map(KW_PREFIX.__add__, kws))
        if keyword_weight == 1.0:
            plain |= names
        else:
            by_value.setdefault(keyword_weight, set()).update(names)
    groups = tuple((v / norm, names) for v, names in sorted(by_value.items()) if names)
    return Features(groups), found, kws


def _add(by_value: dict[float, set[str]], k: int, w: float, names: set[str]) -> None:
    by_value.setdefault((1.0 + _LOG[k] if k < len(_LOG) else 1.0 + math.log(k)) * w, set()).update(names)


_LOG = [0.0] + [math.log(k) for k in range(1, 64)]


def featurise(masked: str, cues: CueMatcher, keywords: CueMatcher | None = None,
              request_phrases: tuple[str, ...] = (), clause_boost: float = 1.0, keyword_weight: float = 1.0,
              fold: Mapping[int, str] | None = None, term_frequency: bool = False, lead_boost: float = 1.0,
              ) -> tuple[dict[str, float], dict[str, list[str]], dict[str, list[str]]]:
    """:func:`featurise_groups` as a plain ``{feature: value}`` dict (training, tests)."""
    feats, found, kws = featurise_groups(masked, cues, keywords, request_phrases, clause_boost, keyword_weight,
                                         fold, term_frequency, lead_boost)
    return feats.as_dict(), found, kws
