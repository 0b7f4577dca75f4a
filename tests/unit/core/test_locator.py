"""Place resolution: full names, short names, old names, aliases, ambiguity, labels."""

from __future__ import annotations

import pytest

from services.core.locator import Locator


@pytest.fixture(scope="module")
def locator(city) -> Locator:  # type: ignore[no-untyped-def]
    return Locator(city)


@pytest.mark.parametrize(
    ("text", "territory", "village"),
    [
        ("下原镇老坝村委会门口有人摆摊", "320682107", "老坝村委会"),          # full village name + town
        ("老坝村这边有人在马路上摆摊", "320682107", "老坝村委会"),            # village + 村 suffix only
        ("老坝那边桥头天天有人摆摊卖鱼", "320682107", "老坝村委会"),          # bare short name + place marker
        ("搬经镇加力社区门口垃圾没人收", "320682116", "加力居委会"),          # 居委会 -> 社区
        ("十里敦社区的广场舞太吵", "320682400", "十里墩居委会"),              # older name from the changes file
        ("塘堡村路边有块广告牌", "320682105", "唐堡村委会"),                  # older name (renamed 2022)
        ("城南街道这边小区有人天天打麻将", "320682400", None),                # routing alias
        ("城北街道的小区物业不管事", "320682401", None),                      # routing alias
        ("如皋港这边新开的大排档油烟大", "320682111", None),                  # alias
        ("如城宁海路那边那个工地在打桩", "320682001", None),                  # town short name
        ("城北街道张八里那边树枝伸进窗户", "320682401", "张八里居委会"),      # bare 3-char short name with town
        ("如皋市种猪场场区里有人烧塑料", "320682406", None),                  # farm: located, no squad
    ],
)
def test_located(locator: Locator, text: str, territory: str, village: str | None) -> None:
    loc = locator.locate(text)
    assert (loc.territory, loc.village) == (territory, village), loc.evidence
    assert loc.confidence > 0.5
    assert loc.evidence, "evidence must say which name matched"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("陆桥那边刚刚过去一辆渣土车", "ambiguous"),               # 陆桥: 如城街道 and 经济开发区
        ("中心社区那条街一个垃圾桶都没有", "ambiguous"),           # 中心居委会 in two towns
        ("我在白蒲镇上班，住在丁堰镇，楼下饭店油烟大", "several"),  # work in A, live in B
        ("小区门口天天有人摆摊", "no place"),                      # nothing
        ("城南那边有人烧垃圾", "no place"),                        # unsafe short name alone (城南居委会)
        ("比如城管能不能管一管广场舞", "no place"),                # 比如城… is not 如城
    ],
)
def test_unknown(locator: Locator, text: str, reason: str) -> None:
    loc = locator.locate(text)
    assert loc.territory is None and loc.village is None, loc.evidence
    assert reason in (loc.reason or "")


def test_ambiguous_name_resolved_by_town(locator: Locator) -> None:
    loc = locator.locate("如城街道陆桥社区有人占道经营")
    assert (loc.territory, loc.village) == ("320682001", "陆桥居委会")
    loc = locator.locate("搬经镇中心社区路灯不亮")
    assert (loc.territory, loc.village) == ("320682116", "中心居委会")


def test_unsafe_short_name_with_town_context(locator: Locator) -> None:
    loc = locator.locate("如城街道城南那边有人烧垃圾")
    assert loc.territory == "320682001"


def test_wechat_location_label(locator: Locator) -> None:
    loc = locator.locate("路上的井盖被人偷了", label="江苏省南通市如皋市白蒲镇林梓居委会附近")
    assert (loc.territory, loc.village) == ("320682105", "林梓居委会")
    assert any("location label" in e for e in loc.evidence)
    # a label embedded in the text works the same way
    loc = locator.locate("📍江苏省南通市如皋市九华镇郑甸居委会\n新建的那个学校工地又干到十二点")
    assert (loc.territory, loc.village) == ("320682108", "郑甸居委会")


def test_text_wins_over_disagreeing_label(locator: Locator) -> None:
    loc = locator.locate("白蒲镇林梓社区有人摆摊", label="江苏省南通市如皋市丁堰镇")
    assert loc.territory == "320682105"
    assert loc.confidence < 0.7
    assert any("text wins" in e for e in loc.evidence)


def test_label_breaks_a_tie(locator: Locator) -> None:
    loc = locator.locate("陆桥那边有人摆摊", label="江苏省南通市如皋市如城街道")
    assert loc.territory == "320682001"
