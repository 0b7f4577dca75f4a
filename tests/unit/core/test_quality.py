"""Bad input: refusals at intake, the screening that holds a case for the command centre, and
the engine's hook (traditional characters converted, bad input routed to COMMAND_CENTER)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.core import quality
from services.core.config import CityConfig, ConfigError
from services.core.engine import Engine
from services.core.events import MAX_TEXT_CHARS
from services.core.loader import load_city
from services.core.quality import Issue, is_address_list, refusal, screen, simplify

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]

EMOJI = "😡😡😡👎👎"
ENGLISH = "The street lamp outside my house on Baipu road has been broken for two weeks, please fix it"
ADDRESSES = "如城街道花园社区\n白蒲镇唐堡村\n东陈镇\n丁堰镇林梓社区\n江安镇"
TRADITIONAL = "白蒲鎮唐堡村工地晚上還在打樁，噪音太大，吵得睡不著覺"
SIMPLIFIED = "白蒲镇唐堡村工地晚上还在打桩，噪音太大，吵得睡不著觉"

BAD = [
    ("", Issue.NO_WORDS),
    (EMOJI, Issue.NO_WORDS),
    ("？？？！！！……", Issue.NO_WORDS),
    ("13812345678", Issue.NO_WORDS),
    (ENGLISH, Issue.NOT_CHINESE),
    ("lu deng huai le hen jiu le", Issue.NOT_CHINESE),
    ("駅前の道路が壊れています", Issue.NOT_CHINESE),
    ("길이 망가졌어요", Issue.NOT_CHINESE),
    ("Улица грязная", Issue.NOT_CHINESE),
    (ADDRESSES, Issue.ADDRESS_LIST),
    ("如皋市白蒲镇唐堡村3组12号、如皋市东陈镇双群村5组、如皋市如城街道花园社区8栋302室", Issue.ADDRESS_LIST),
    ("你好，在吗？", Issue.NOT_COMPLAINT),
    ("谢谢", Issue.NOT_COMPLAINT),
    ("哈哈哈哈哈哈", Issue.NOT_COMPLAINT),
    ("投诉" * 40, Issue.NOT_COMPLAINT),
    ("http://t.cn/A6x 123456789 987654321 ###### 路灯", Issue.NOT_COMPLAINT),
    ("http://t.cn/A6xyz", Issue.NOT_COMPLAINT),
]

GOOD = [
    "白蒲镇唐堡村工地晚上还在打桩",
    "如城街道花园社区门口有人占道摆摊卖水果",
    "KTV太吵了，半夜还在唱",
    "我住在如城街道，花园社区，3栋，楼下饭店油烟很大",
    "花园社区、唐堡村、新桥村都有人焚烧秸秆",
    "白蒲镇唐堡村3组12号门口有人烧垃圾，电话13812345678",
    "路灯坏了😡",
    "测试",
    SIMPLIFIED,
]


# --- refused at intake ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\u3000\u3000", "\u200b\u200b", " \u200d\ufeff ", None])
def test_blank_is_refused_with_a_chinese_message(text: str | None) -> None:
    r = refusal(text, max_chars=4000)
    assert r is not None and r.code == "text_blank" and r.field == "text"
    assert "投诉内容" in r.message and "不能为空" in r.message


def test_too_long_is_refused_and_the_message_says_the_limit() -> None:
    r = refusal("字" * 20_000, max_chars=4000)
    assert r is not None and r.code == "text_too_long"
    assert (r.length, r.limit) == (20_000, 4000)
    assert "20000" in r.message and "4000" in r.message and "过长" in r.message


def test_length_at_the_limit_counts_without_surrounding_whitespace() -> None:
    assert refusal("字" * 4000, max_chars=4000) is None
    assert refusal("  " + "字" * 4000 + "\n", max_chars=4000) is None
    assert refusal("字" * 4001, max_chars=4000) is not None


def test_the_field_is_named() -> None:
    r = refusal(" ", max_chars=10, field="description")
    assert r is not None and r.field == "description" and "description" in r.message


@pytest.mark.parametrize("text", [EMOJI, ENGLISH, ADDRESSES, TRADITIONAL, "字"])
def test_bad_but_not_empty_text_is_not_refused(text: str) -> None:
    assert refusal(text, max_chars=4000) is None


# --- screening ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "issue"), BAD)
def test_bad_input_is_found(text: str, issue: Issue) -> None:
    s = screen(text)
    assert s.issues == (issue,)
    assert s.reasons == [quality.reason(issue)]
    assert s.reasons[0].startswith(f"bad input: {issue.value} (") and quality.LABELS[issue] in s.reasons[0]


@pytest.mark.parametrize("text", GOOD)
def test_good_input_passes(text: str) -> None:
    assert screen(text).issues == ()


def test_short_place_names_make_a_list_with_the_gazetteer(engine: Engine) -> None:
    text = "如城 白蒲 东陈 丁堰 林梓"
    assert not is_address_list(text)               # no endings that say "place"
    assert is_address_list(text, lambda t: [(m.start, m.end) for m in engine.analyzer.gazetteer.find(t)])
    assert not is_address_list("如城 白蒲 东陈 工地打桩", lambda t: [(m.start, m.end) for m in engine.analyzer.gazetteer.find(t)])


def test_the_gazetteer_is_asked_only_for_a_possible_list() -> None:
    asked: list[str] = []

    def places(t: str) -> list[tuple[int, int]]:
        asked.append(t)
        return []

    screen("白蒲镇唐堡村工地晚上还在打桩", places)
    assert asked == []
    screen("如城 白蒲 东陈 丁堰", places)
    assert asked == ["白蒲", "东陈"]   # segment by segment (如城 ends like a place), until a quarter is not


def test_traditional_is_converted() -> None:
    s = screen(TRADITIONAL)
    assert s.text == SIMPLIFIED and s.converted == 4 and s.issues == ()
    assert simplify("後面的餐館油煙很大，麵包店") == "后面的餐馆油烟很大，面包店"
    assert simplify("如臯市") == "如皋市"


def test_simplified_text_is_never_changed() -> None:
    """No character of the simplified set (GB2312) is converted, except the listed traditional forms."""
    table = quality.table()
    for cp, simplified in table.items():
        ch = chr(cp)
        assert len(simplified) == 1 and simplified != ch
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        assert ch in quality.EXTRA, ch
    assert len(table) > 3000
    assert quality.TABLE_FILE.exists()


def test_no_shipped_example_is_bad_input() -> None:
    """Every example of the development, held-out and training sets is a real complaint text:
    the screening holds none of them (the figures of `complaints eval` are not touched)."""
    files = sorted((REPO / "data").glob("*/*.jsonl"))
    texts = [json.loads(line)["text"] for f in files for line in f.read_text(encoding="utf-8").splitlines()
             if line.strip() and "text" in json.loads(line)]
    assert len(texts) > 1000
    held = [t for t in texts if screen(t).issues]
    assert held == []


# --- the engine's hook ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "issue"), [(t, i) for t, i in BAD if t])
def test_engine_sends_bad_input_to_the_command_centre(engine: Engine, text: str, issue: Issue) -> None:
    d = engine.decide(text, NOW)
    assert d.unit == "COMMAND_CENTER"
    assert d.review is True
    assert d.review_reasons[0] == quality.reason(issue)
    assert "confidence=low" in d.rule


def test_engine_holds_even_with_the_operators_category(engine: Engine) -> None:
    d = engine.decide(EMOJI, NOW, category_override="GARBAGE", territory_override="320682105")
    assert d.category == "GARBAGE" and d.unit == "COMMAND_CENTER"
    assert d.review_reasons[0] == quality.reason(Issue.NO_WORDS)


def test_engine_empty_text_does_not_crash(engine: Engine) -> None:
    for text in ("", "   ", "\u200b"):
        d = engine.decide(text, NOW)
        assert d.unit == "COMMAND_CENTER" and d.review_reasons[0] == quality.reason(Issue.NO_WORDS)


def test_engine_long_text_is_decided(engine: Engine) -> None:
    text = ("白蒲镇唐堡村工地晚上还在打桩，吵得睡不着。" * 2000)[:20_000]
    d = engine.decide(text, NOW)
    assert d.category and d.unit


def test_engine_classifies_traditional_like_simplified(engine: Engine) -> None:
    trad, simp = engine.decide(TRADITIONAL, NOW), engine.decide(SIMPLIFIED, NOW)
    assert trad == simp
    assert trad.category == "NOISE_CONSTRUCTION" and trad.territory_name == "白蒲镇"
    assert trad.unit != "COMMAND_CENTER" and not any(r.startswith("bad input") for r in trad.review_reasons)


@pytest.mark.parametrize("text", GOOD)
def test_engine_leaves_good_input_alone(engine: Engine, text: str) -> None:
    d = engine.decide(text, NOW)
    assert not any(r.startswith(quality.REASON_PREFIX) for r in d.review_reasons)


# --- the configured limit ---------------------------------------------------------------------------------


def test_city_limit_is_configured(city: CityConfig) -> None:
    assert city.max_text_chars == 4000 <= MAX_TEXT_CHARS


@pytest.mark.parametrize("value", ["lots", 50, MAX_TEXT_CHARS + 1])
def test_city_limit_is_validated(city_copy: Path, value: object) -> None:
    path = city_copy / "city.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("max_text_chars: 4000", f"max_text_chars: {value}"),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="max_text_chars"):
        load_city("rugao", str(city_copy.parent))


@pytest.mark.parametrize(("text", "issue"), [
    ("😡😡😡\n如城街道花园社区", Issue.NO_WORDS),
    ("Help me please\n如城街道花园社区", Issue.NOT_CHINESE),
    ("你好\n白蒲镇唐堡村3组12号", Issue.NOT_COMPLAINT),
    ("  \n如皋市 白蒲镇 唐堡村", Issue.ADDRESS_LIST),
    ("😡\n如皋市白蒲镇唐堡村3组12号", Issue.NO_WORDS),
])
def test_an_appended_address_does_not_make_bad_input_good(text: str, issue: Issue) -> None:
    """The router appends the hotline's / Open311's address field to the text as a last line."""
    assert screen(text).issues == (issue,)


@pytest.mark.parametrize("text", ["有人在路边焚烧垃圾\n如城街道花园社区", "路灯坏了\n白蒲镇唐堡村3组12号",
                                  "饭店油烟很大，\n晚上更严重"])
def test_a_complaint_with_its_address_passes(text: str) -> None:
    assert screen(text).issues == ()
