"""Text similarity of two complaints, for duplicate detection (pure, no I/O).

A re-worded report of the same thing keeps its content characters and most of their pairs,
but not the filler (有个 / 那个 / 还在 / 来电反映 …) and not always the way the place is named.
So a text is normalised (NFKC, lower case, letters / digits / CJK only), the place names the
gazetteer finds are cut out (the place is compared on its own, by village, road or distance),
filler is dropped, and two texts are compared by the cosine of their character unigram and
bigram counts.  Same text: 1.0; a re-worded call about the same site: about 0.8 and more;
another matter at the same place: below 0.3.

Roads and estates are compared by name: the names of ``places.yaml`` the gazetteer finds,
and names written as ``<2-4 characters>路 / 大道 / 街 / 巷 / 小区 / 花园 …``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from services.core.gazetteer import PLACE, Gazetteer
from services.core.text import normalise

_KEEP = re.compile(r"\w+", re.UNICODE)
# phrases and characters that say nothing about the matter (dropped before comparing)
FILLER_PHRASES = ("市民来电称", "来电反映", "来电称", "来电", "反映", "投诉", "举报", "要求", "希望", "麻烦",
                  "请你们", "你们", "我们", "现在", "一下", "这边", "那边", "那里", "这里", "附近", "一直")
FILLER_CHARS = frozenset("的了个那这呢吧啊呀吗嘛还都也就又在有是很多得")
_FILLER = re.compile("|".join(sorted(map(re.escape, FILLER_PHRASES), key=len, reverse=True)))
# a road or estate as people write it: the name is the 2-4 characters before the suffix
_ROAD = re.compile(r"(大道|大街|路|街|巷|弄|小区|花园|新村|公寓|广场|市场)")
_NOT_NAME = FILLER_CHARS | frozenset("上下里边口旁前后头村镇区道委居乡社号栋幢单元楼层去来到从往向沿和与及或"
                                     "着走对把被给让停放堆摆占满条段")
GENERIC_ROADS = frozenset({"马路", "公路", "道路", "小路", "大路", "村路", "土路", "水泥路", "老街", "新街", "大街",
                           "小街", "小巷", "菜市场", "农贸市场", "老小区", "新小区"})
_CUT = " "


@dataclass(frozen=True)
class Profile:
    """What the comparison needs of one text (computed once per text, see :class:`Profiler`)."""

    counts: dict[str, int]   # character unigram and bigram counts of the content
    norm: float              # Euclidean norm of ``counts``
    roads: frozenset[str]    # road / estate names in the text (and every shorter form of a written one)


def content(text: str, gazetteer: Gazetteer | None = None) -> str:
    """The matter of the text: normalised, place names cut (as a space), filler dropped."""
    norm = normalise(text)
    return _content(gazetteer.mask(norm, gazetteer.find(norm), _CUT) if gazetteer is not None else norm)


def _content(masked: str) -> str:
    chunks = [_FILLER.sub("", "".join(_KEEP.findall(part))).replace("_", "") for part in masked.split(_CUT)]
    return _CUT.join(kept for chunk in chunks if (kept := "".join(c for c in chunk if c not in FILLER_CHARS)))


def grams(text: str) -> Counter[str]:
    """Character unigrams and bigrams of each chunk (bigrams never span a cut place name)."""
    out: Counter[str] = Counter()
    for chunk in text.split(_CUT):
        out.update(chunk)
        out.update(chunk[i:i + 2] for i in range(len(chunk) - 1))
    return out


def written_roads(text: str) -> tuple[set[str], str]:
    """Road / estate names written in a text (every 2-4 character form of each) and the text with
    them cut out (the longest form), so a road is compared as a place, not as words."""
    out: set[str] = set()
    parts, pos = [], 0
    for m in _ROAD.finditer(text):
        start, suffix = m.start(), m.group(1)
        if suffix == "街" and text[m.end():m.end() + 1] == "道":
            continue  # 街道: a sub-district, not a street
        i = start
        while i > 0 and start - i < 4 and _is_name_char(text[i - 1]):
            i -= 1
        name = text[i:start]
        forms: set[str] = set()
        for k in range(1, len(name) + 1):
            form = name[-k:] + suffix
            if form in GENERIC_ROADS:  # 走马路, 对着马路: a generic word with words before it, no name
                forms.clear()
                break
            if k >= 2:
                forms.add(form)
        if forms and i >= pos:
            out |= forms
            parts.append(text[pos:i])
            pos = m.end()
    parts.append(text[pos:])
    return out, _CUT.join(parts)


def _is_name_char(ch: str) -> bool:
    return ("\u4e00" <= ch <= "\u9fff" or ch.isdigit()) and ch not in _NOT_NAME


def profile(text: str, gazetteer: Gazetteer | None = None) -> Profile:
    norm = normalise(text)
    mentions = gazetteer.find(norm) if gazetteer is not None else []
    named = {m.surface for m in mentions if any(t.kind == PLACE for t in m.targets)}
    masked = gazetteer.mask(norm, mentions, _CUT) if gazetteer is not None else norm
    roads, rest = written_roads(masked)
    counts = grams(_content(rest))
    return Profile(dict(counts), math.sqrt(sum(v * v for v in counts.values())), frozenset(named | roads))


def cosine(a: Profile, b: Profile) -> float:
    if not a.norm or not b.norm:
        return 0.0
    x, y = a.counts, b.counts
    dot = sum(x[k] * y[k] for k in x.keys() & y.keys())  # the shared grams only (a set operation in C)
    return min(1.0, dot / (a.norm * b.norm))


def common_road(a: Profile, b: Profile) -> str | None:
    """The longest road / estate name both texts name, or None."""
    both = a.roads & b.roads
    return max(both, key=lambda r: (len(r), r)) if both else None


class Profiler:
    """Profiles of texts against one gazetteer, cached (a case's text never changes).  Thread-safe.
    About 5 KB for a call of 40 characters; ``maxsize`` should hold the cases of one window."""

    def __init__(self, gazetteer: Gazetteer | None, maxsize: int = 2048) -> None:
        self.gazetteer = gazetteer
        self.profile = lru_cache(maxsize=maxsize)(self._profile)

    def _profile(self, text: str) -> Profile:
        return profile(text, self.gazetteer)


def excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
