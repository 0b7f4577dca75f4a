"""Text normalisation, clause splitting and the feature extractor shared by training and inference.

Features of a text are

- character 1-, 2- and 3-grams of each clause (digits folded to ``0``, whitespace dropped,
  place names already masked by the locator so the model learns the matter, not the town),
- one ``cue:<group>`` feature per lexicon cue group that matches (see ``lexicon.yaml``),

weighted per clause (a clause carrying the request counts ``clause_boost`` times) and
L2-normalised, so long narrative posts and one-liners live on the same scale.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping

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


def ngrams(clause: str) -> set[str]:
    s = _DIGITS.sub("0", clause).replace(" ", "")
    out = set(s)
    out.update(s[i:i + 2] for i in range(len(s) - 1))
    out.update(s[i:i + 3] for i in range(len(s) - 2))
    return out


def featurise(masked: str, cues: CueMatcher, keywords: CueMatcher | None = None,
              request_phrases: tuple[str, ...] = (),
              clause_boost: float = 1.0, keyword_weight: float = 1.0) -> tuple[dict[str, float], dict[str, list[str]], dict[str, list[str]]]:
    """Sparse feature vector of a normalised, place-masked text, plus cue and keyword matches.

    A gram's raw weight is the largest weight of the clauses it occurs in (``clause_boost``
    for a clause carrying the request, else 1); cue groups count 1, category keywords
    ``keyword_weight``; the vector is L2-normalised.  Built with set operations and
    ``dict.fromkeys`` (no per-gram Python arithmetic): this runs for every complaint.
    """
    found = cues.find(masked)
    kws = keywords.find(masked) if keywords is not None else {}
    parts = clauses(masked) or [masked]
    plain: set[str] = set()
    boosted: set[str] = set()
    if clause_boost != 1.0 and len(parts) > 1 and request_phrases:
        for part in parts:
            target = boosted if any(p in part for p in request_phrases) else plain
            target |= ngrams(part)
    else:
        for part in parts:
            plain |= ngrams(part)
    plain.discard(PLACE_MASK)
    boosted.discard(PLACE_MASK)
    if clause_boost >= 1.0:
        plain -= boosted
    else:
        boosted -= plain
    n_kw = len(kws)
    norm = math.sqrt(len(plain) + len(boosted) * clause_boost * clause_boost + len(found)
                     + n_kw * keyword_weight * keyword_weight) or 1.0
    feats = dict.fromkeys(plain, 1.0 / norm)
    if boosted:
        feats.update(dict.fromkeys(boosted, clause_boost / norm))
    for group in found:
        feats[CUE_PREFIX + group] = 1.0 / norm
    for code in kws:
        feats[KW_PREFIX + code] = keyword_weight / norm
    return feats, found, kws
