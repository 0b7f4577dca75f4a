"""Bad input: what the intake refuses and what the router sends to the command centre, and why.

Pure (no I/O after the conversion table is read once); shared by every intake path and by
:meth:`services.core.engine.Engine.decide`.

*Refused at intake* (:func:`refusal`): a text that is empty or only whitespace (including the
full-width space and invisible format characters), and a text longer than the city's
``max_text_chars`` (``city.yaml``).  The refusal carries a machine-readable code and a Chinese
message that names the field.

*Accepted, but held for the command centre* (:func:`screen`): a text that a person must read
before anyone is sent.  Each finding is an :class:`Issue` with a stable code and a Chinese
label; the engine routes such a case by ``routing.yaml``'s ``confidence: low`` rule (the command
centre in Rugao) with ``bad input: <code> (<label>)`` first among its review reasons:

- ``no_words``: emoji, symbols, punctuation or digits only;
- ``not_chinese``: no Chinese characters, or fewer than words of another script (English,
  pinyin, Japanese kana, Korean …);
- ``address_list``: a pasted list of places (three or more segments that are place names or
  addresses, and little else);
- ``not_complaint``: a greeting or thanks only, one or two characters repeated, or a text that
  is mostly digits, links and symbols.

*Traditional characters* are converted to simplified before anything else looks at the text
(:func:`simplify`), so a complaint written in traditional characters is classified and located
like any other.  The table (``model/traditional.tsv``: ``simplified<TAB>traditional characters``)
is data in the repository, generated once from OpenCC's ``t2s`` character conversion (Apache-2.0
data) by::

    pip install 'complaints-12319[tools]'
    python -m services.core.quality

so nothing needs OpenCC at run time.  Only characters outside GB2312 are converted (GB2312 is the
simplified set: a simplified text is never changed), plus the few traditional forms that GB2312
also holds and a simplified text does not use (``EXTRA``).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from itertools import islice
from pathlib import Path

TABLE_FILE = Path(__file__).resolve().parent / "model" / "traditional.tsv"

# Traditional forms inside GB2312 that a simplified text does not use (後面, 於是, 什麼 …), and
# variants OpenCC leaves alone but a reader means as the simplified character (如臯 -> 如皋).
EXTRA = {"後": "后", "於": "于", "麽": "么", "夥": "伙", "徵": "征", "摺": "折", "捱": "挨",
         "菸": "烟", "醣": "糖", "麴": "曲", "榘": "矩", "臯": "皋"}

FIELD_NAMES = {"text": "投诉内容", "description": "投诉内容（description）"}


# --- refused at intake ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why an intake refuses a text: ``code`` for machines, ``message`` (Chinese) for people."""

    code: str            # text_blank | text_too_long
    field: str
    message: str
    length: int
    limit: int


# Zs (spaces, incl. U+3000), Cc (controls), Cf (zero-width and other format characters), Zl/Zp
_BLANK_CATEGORIES = frozenset({"Zs", "Cc", "Cf", "Zl", "Zp"})


def is_blank(text: str) -> bool:
    """Nothing but whitespace and invisible characters."""
    return all(c.isspace() or unicodedata.category(c) in _BLANK_CATEGORIES for c in text)


def refusal(text: str | None, *, max_chars: int, field: str = "text", label: str | None = None) -> Refusal | None:
    """The reason to refuse ``text`` at intake, or None.  Length counts the text without the
    whitespace around it (what is stored)."""
    name = label or FIELD_NAMES.get(field, field)
    value = (text or "").strip()
    if is_blank(value):
        return Refusal("text_blank", field, f"{name}不能为空，请说明发生了什么、在什么地方", 0, max_chars)
    if len(value) > max_chars:
        return Refusal("text_too_long", field,
                       f"{name}过长：{len(value)} 个字，最多 {max_chars} 个字，请删去与问题无关的内容后再提交",
                       len(value), max_chars)
    return None


# --- traditional -> simplified ---------------------------------------------------------------------


@cache
def table(path: Path = TABLE_FILE) -> dict[int, str]:
    """``str.translate`` table: traditional character -> simplified character."""
    out: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            simplified, traditional = line.split("\t")
            out.update(dict.fromkeys(map(ord, traditional), simplified))
    out.update({ord(t): s for t, s in EXTRA.items()})
    return out


@cache
def _any_traditional() -> re.Pattern[str]:
    return re.compile("[" + "".join(sorted(map(chr, table()))) + "]")


def simplify(text: str) -> str:
    """The text with traditional characters written simplified (everything else unchanged)."""
    return text.translate(table()) if _any_traditional().search(text) else text


def generate(path: Path = TABLE_FILE) -> int:
    """Write the table from OpenCC (development tool; not needed at run time)."""
    import opencc  # type: ignore[import-not-found,unused-ignore]

    convert = opencc.OpenCC("t2s").convert
    groups: dict[str, list[str]] = {}
    for cp in list(range(0x3400, 0x4DC0)) + list(range(0x4E00, 0xA000)) + list(range(0xF900, 0xFB00)):
        ch = chr(cp)
        s = convert(ch)
        if s == ch or len(s) != 1:
            continue
        try:
            ch.encode("gb2312")
            continue  # a character of the simplified set: left alone (EXTRA names the exceptions)
        except UnicodeEncodeError:
            pass
        groups.setdefault(s, []).append(ch)
    path.write_text("".join(f"{s}\t{''.join(ts)}\n" for s, ts in sorted(groups.items())), encoding="utf-8")
    return sum(map(len, groups.values()))


# --- held for the command centre -------------------------------------------------------------------


class Issue(StrEnum):
    NO_WORDS = "no_words"
    NOT_CHINESE = "not_chinese"
    ADDRESS_LIST = "address_list"
    NOT_COMPLAINT = "not_complaint"


LABELS = {
    Issue.NO_WORDS: "只有表情、符号或数字，没有文字内容",
    Issue.NOT_CHINESE: "不是中文（英文、拼音或其他语言），需人工阅读",
    Issue.ADDRESS_LIST: "内容是一串地名或地址，没有说明问题",
    Issue.NOT_COMPLAINT: "内容不像投诉（问候、重复字符或大多是数字、链接、符号）",
}
REASON_PREFIX = "bad input: "


def reason(issue: Issue) -> str:
    """The review reason shown to the command centre: a stable code and its Chinese label."""
    return f"{REASON_PREFIX}{issue.value} ({LABELS[issue]})"


@dataclass(frozen=True)
class Screening:
    text: str                  # the text to analyse (traditional characters converted)
    converted: int             # how many characters were converted
    issues: tuple[Issue, ...]

    @property
    def reasons(self) -> list[str]:
        return [reason(i) for i in self.issues]


_HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_RUN = re.compile(f"[{_HAN_RANGES}]+")
_LETTER = re.compile(r"[^\W\d_]")                        # any script's letters
_LATIN_WORD = re.compile(r"[a-zA-Z\u00c0-\u024f]+")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af\u1100-\u11ff]")
_OTHER_WORD = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0e00-\u0e7f]+")  # Greek, Cyrillic, Hebrew, Arabic, Thai
_URL = re.compile(r"(?:https?://|www\.)[!-~]+", re.I)
_SPACE = re.compile(r"\s+")
_SEGMENT_TEXT = re.compile(r"[^\s,，、;；。.!！?？|/／·]+")  # the segments of a list
_TRAILING_NUMBER = re.compile(r"[\d\-#]+$")
# how place names and addresses end (administrative units, roads, estates, house numbers)
ADDRESS_ENDINGS = ("省", "市", "县", "区", "镇", "乡", "街道", "办事处", "村", "社区", "居委会", "居", "组", "队",
                   "路", "街", "巷", "弄", "道", "桥", "号", "栋", "幢", "楼", "室", "单元", "层", "小区", "花园",
                   "苑", "园", "庄", "府", "城", "湾", "新村", "家园", "公寓", "广场", "大厦", "中心", "场", "站")
_GREETINGS = frozenset({
    "你好", "您好", "在吗", "在么", "在不在", "有人吗", "有人在吗", "谢谢", "谢谢你", "谢谢你们", "感谢", "多谢",
    "好的", "收到", "嗯", "哦", "喂", "哈喽", "早上好", "晚上好", "下午好", "新年好", "再见", "拜拜", "好",
    "你好在吗", "您好在吗", "你好有人吗", "您好有人吗", "ok", "hi", "hello", "hey", "thanks", "thankyou",
})
_NOT_WORD = re.compile(r"[\W_]+")

PlaceFinder = Callable[[str], Sequence[tuple[int, int]]]


def screen(text: str, places: PlaceFinder | None = None) -> Screening:
    """Convert traditional characters and find what makes the text bad input.

    ``places`` (optional) gives the (start, end) spans of the place names the city's gazetteer
    finds in a text: it is asked only when the text may be a list.  Fast (a few microseconds for
    a plain complaint): the regular expressions run over the non-Chinese residue of the text."""
    simplified = simplify(text)
    converted = sum(a != b for a, b in zip(text, simplified, strict=True)) if simplified != text else 0
    return Screening(simplified, converted, tuple(issues(simplified, places)))


def issues(text: str, places: PlaceFinder | None = None) -> list[Issue]:
    """What is wrong with the text.  A last line that is an address (the hotline's and Open311's
    address field, which the router appends) does not make bad input good: then the text before
    it is judged as well."""
    found = _issues(text, places)
    if found:
        return found
    head, newline, last = text.rstrip().rpartition("\n")
    if newline and _is_place(last.strip(), places):
        return _issues(head, places) if not is_blank(head) else [Issue.NO_WORDS]
    return []


def _is_place(line: str, places: PlaceFinder | None) -> bool:
    """An address, a place name, or a list of them."""
    if not line or len(line) > 100:
        return False
    if _is_address(line.replace(" ", "")) or is_address_list(line, places):
        return True
    return places is not None and sum(e - s for s, e in places(line)) >= 0.6 * len(line)


def _issues(text: str, places: PlaceFinder | None = None) -> list[Issue]:
    residue = _HAN_RUN.sub("", text)           # everything that is not a Chinese character
    han = len(text) - len(residue)
    bare = _URL.sub(" ", residue)
    letters = len(_LETTER.findall(bare)) if _LETTER.search(bare) else 0
    if han == 0 and letters == 0:
        return [Issue.NO_WORDS] if not _URL.search(residue) else [Issue.NOT_COMPLAINT]
    if letters:
        foreign = len(_LATIN_WORD.findall(bare)) + len(_KANA_HANGUL.findall(bare)) + len(_OTHER_WORD.findall(bare))
        if han == 0 or han < foreign:
            return [Issue.NOT_CHINESE]
    visible = han + len(_SPACE.sub("", residue))
    if _not_complaint(text, visible, han + letters):
        return [Issue.NOT_COMPLAINT]
    if is_address_list(text, places):
        return [Issue.ADDRESS_LIST]
    return []


def _not_complaint(text: str, visible: int, words: int) -> bool:
    if visible <= 24:
        bare = _NOT_WORD.sub("", text.lower())
        if bare in _GREETINGS:
            return True
        if len(bare) >= 4 and len(set(bare)) <= 2:              # 哈哈哈哈, 啊啊啊啊啊
            return True
    else:
        dense = _SPACE.sub("", text)
        head = dense[:4]
        if dense.count(head) * len(head) >= 0.8 * len(dense):  # one phrase pasted over and over
            return True
    return visible >= 12 and words < 0.3 * visible               # mostly digits, links, symbols


def _is_address(segment: str) -> bool:
    return _TRAILING_NUMBER.sub("", segment).endswith(ADDRESS_ENDINGS) and len(segment) <= 30


def is_address_list(text: str, places: PlaceFinder | None = None) -> bool:
    """Three or more segments (between separators: new line, space, comma, 、 …) that are place
    names or addresses, and little else: at least 70 % of the segments and 75 % of their
    characters.  A segment is an address when it ends like one (镇, 村, 社区, 路, 号, 小区 …) or
    when the city's gazetteer (``places``) finds place names covering most of it.  Stops at the
    first quarter of the text that is not places (a complaint costs a segment or two)."""
    if sum(1 for _ in islice(_SEGMENT_TEXT.finditer(text), 3)) < 3:
        return False
    budget = 0.25 * len(text)
    total = other = segments = other_segments = 0
    for m in _SEGMENT_TEXT.finditer(text):
        seg = m.group()
        n = len(seg)
        segments += 1
        total += n
        if _is_address(seg) or (places is not None and sum(e - s for s, e in places(seg)) >= 0.6 * n):
            continue
        other += n
        other_segments += 1
        if other > budget:
            return False
    return segments >= 3 and other <= 0.25 * total and other_segments <= 0.3 * segments


if __name__ == "__main__":
    n = generate()
    print(f"{n} characters -> {TABLE_FILE}", file=sys.stderr)
