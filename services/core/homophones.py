"""Homophone folding: a complementary view of a text that survives speech-recognition errors.

Voice complaints arrive through speech recognition, which writes a word with the wrong
characters of the same sound (歌厅 -> 个厅, 烧烤 -> 烧考, 公厕 -> 公测, 液化气 -> 液化起).
Folding maps every common character to one private-use character per *syllable* (tone
dropped, and the sound pairs that speakers of the Jianghuai dialects and ASR mix up merged:
zh/ch/sh = z/c/s, -ing/-eng = -in/-en), so 歌厅 and 个厅 share their folded 2-gram
while the plain character n-grams keep the precise spelling.  The table is data in the
repository (``model/homophones.tsv``: ``syllable<TAB>characters``), generated once from the
``pypinyin`` dictionary (most common reading of each GB2312 character) by::

    pip install 'complaints-12319[tools]'
    python -m services.core.homophones

so neither inference nor training needs ``pypinyin``.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache
from pathlib import Path

TABLE_FILE = Path(__file__).resolve().parent / "model" / "homophones.tsv"
_FIRST = 0xE000          # folded syllables are private-use characters: disjoint from real text


def fold_syllable(reading: str) -> str:
    """Toneless syllable with the commonly confused initials and finals merged."""
    s = "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))
    s = re.sub(r"^([zcs])h", r"\1", s)
    return re.sub(r"([ie])ng$", r"\1n", s)


@cache
def table(path: Path = TABLE_FILE) -> dict[int, str]:
    """``str.translate`` table: character -> the private-use character of its folded syllable."""
    out: dict[int, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(sorted(x for x in lines if x.strip())):
        _syllable, chars = line.split("\t")
        folded = chr(_FIRST + i)
        out.update(dict.fromkeys(map(ord, chars), folded))
    return out


def generate(path: Path = TABLE_FILE) -> int:
    """Write the table from pypinyin (development tool; not needed at run time)."""
    from pypinyin.pinyin_dict import pinyin_dict  # type: ignore[import-not-found,unused-ignore]

    groups: dict[str, list[str]] = {}
    for cp in sorted(pinyin_dict):
        ch = chr(cp)
        if not 0x4E00 <= cp <= 0x9FFF:
            continue
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        groups.setdefault(fold_syllable(pinyin_dict[cp].split(",")[0]), []).append(ch)
    path.write_text("".join(f"{s}\t{''.join(cs)}\n" for s, cs in sorted(groups.items())), encoding="utf-8")
    return sum(map(len, groups.values()))


if __name__ == "__main__":
    n = generate()
    print(f"{n} characters -> {TABLE_FILE}", file=sys.stderr)
