"""Text similarity for duplicate detection: Jaccard of character bigrams (pure, no I/O)."""

from __future__ import annotations

import re
import unicodedata

_KEEP = re.compile(r"[\w]+", re.UNICODE)


def normalise(text: str) -> str:
    """NFKC, lower case, only letters/digits/CJK (punctuation and spaces dropped)."""
    return "".join(_KEEP.findall(unicodedata.normalize("NFKC", text).lower())).replace("_", "")


def bigrams(text: str) -> frozenset[str]:
    s = normalise(text)
    if len(s) < 2:
        return frozenset({s}) if s else frozenset()
    return frozenset(s[i:i + 2] for i in range(len(s) - 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
