"""Duplicate scoring (services/core/duplicates.py, similarity.py): pure, on the real Rugao gazetteer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.core.config import CityConfig, ConfigError, DuplicatePolicy
from services.core.duplicates import NO_PLACE_MIN_TEXT, Call, Open, Where, distance_m, rank, score, span
from services.core.gazetteer import Gazetteer
from services.core.loader import load_city
from services.core.similarity import Profiler, cosine, written_roads

NOISE = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着"
REWORDED = "白蒲镇唐堡村那个工地晚上十一点多还在打桩，吵得睡不着觉"
VENDING = "白蒲镇唐堡村有人在路边占道摆摊卖西瓜"
BBQ = "如城街道海阳路上的烧烤店油烟直排，熏得楼上没法开窗"
BBQ_AGAIN = "海阳路烧烤店油烟很大，直接排放，楼上住户窗都不敢开"
MANHOLE = "如城街道海阳路上窨井盖坏了，有个大洞"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
POLICY = DuplicatePolicy()
TANGBAO = Where("320682105", "白蒲镇", "唐堡村委会")


@pytest.fixture(scope="module")
def prof(city: CityConfig) -> Profiler:
    return Profiler(Gazetteer(city))


def case(prof: Profiler, text: str, *, where: Where = TANGBAO, category: str = "NOISE_CONSTRUCTION",
         hours: float = 2, ticket: str = "RG20261204000001") -> Open:
    return Open(ticket, prof.profile(text), where, category, NOW - timedelta(hours=hours))


def call(prof: Profiler, text: str, *, where: Where = TANGBAO, category: str = "NOISE_CONSTRUCTION",
         top: tuple[str, ...] = ("NOISE_CONSTRUCTION", "NOISE_SOCIAL")) -> Call:
    return Call(prof.profile(text), where, category, top)


def test_a_reworded_report_reads_alike_and_another_matter_does_not(prof: Profiler) -> None:
    assert cosine(prof.profile(NOISE), prof.profile(NOISE)) == pytest.approx(1.0)
    assert cosine(prof.profile(NOISE), prof.profile(REWORDED)) >= 0.8
    # place names are compared as places, not as words: another matter at the same place is far apart
    assert cosine(prof.profile(NOISE), prof.profile(VENDING)) < 0.1
    assert cosine(prof.profile(BBQ), prof.profile(MANHOLE)) < 0.2
    assert cosine(prof.profile(BBQ), prof.profile(BBQ_AGAIN)) > 0.45


def test_roads_are_read_from_the_text() -> None:
    roads, rest = written_roads("如城街道海阳路上的烧烤店，马路边")
    assert "海阳路" in roads and "马路" not in roads and not any(r.endswith("街") for r in roads)
    assert "海阳路" not in rest


def test_same_village_any_category_scores_high_with_a_reason(prof: Profiler) -> None:
    m = score(call(prof, REWORDED), case(prof, NOISE), NOW, POLICY)
    assert m is not None and m.score >= 0.85 and m.place_label == "同村"
    # the classifier read the other case differently: still a candidate, a bit lower
    other = score(call(prof, REWORDED), case(prof, NOISE, category="NOISE_SOCIAL"), NOW, POLICY)
    assert other is not None and 0.55 <= other.score < m.score
    assert rank(call(prof, REWORDED), [case(prof, NOISE)], NOW, POLICY)[0].reason.startswith("同村·文字相似 0.")


def test_not_duplicates(prof: Profiler) -> None:
    # another matter at the same place, another village of the same town, another town
    assert score(call(prof, NOISE), case(prof, VENDING, category="STREET_VENDING"), NOW, POLICY) is None
    assert score(call(prof, NOISE), case(prof, NOISE, where=Where("320682105", "白蒲镇", "林梓居委会")),
                 NOW, POLICY) is None
    assert score(call(prof, NOISE), case(prof, NOISE, where=Where("320682001", "如城街道", None)), NOW, POLICY) is None
    bbq = Where("320682001", "如城街道", None)
    assert score(call(prof, BBQ, where=bbq, category="CATERING_FUMES"),
                 case(prof, MANHOLE, where=bbq, category="MUNICIPAL_FACILITY"), NOW, POLICY) is None


def test_the_same_road_and_distance(prof: Profiler) -> None:
    town = Where("320682001", "如城街道", None)
    m = score(call(prof, BBQ_AGAIN, where=town, category="CATERING_FUMES", top=("CATERING_FUMES",)),
              case(prof, BBQ, where=town, category="CATERING_FUMES"), NOW, POLICY)
    assert m is not None and m.place_label == "同路段（海阳路）"
    here, near, far = (32.3900, 120.5600), (32.3910, 120.5605), (32.4500, 120.5600)
    assert 100 < distance_m(here, near) < 130 and distance_m(here, far) > 6000
    c = call(prof, NOISE, where=Where("320682105", "白蒲镇", None, here))
    m = score(c, case(prof, REWORDED, where=Where(None, None, None, near)), NOW, POLICY)
    assert m is not None and m.place_label == "相距 121 米" and m.distance_m == pytest.approx(121, abs=1)
    # far apart by coordinates: another place whatever the village says
    assert score(c, case(prof, REWORDED, where=Where("320682105", "白蒲镇", "唐堡村委会", far)), NOW, POLICY) is None


def test_newer_counts_more_and_no_place_needs_close_text(prof: Profiler) -> None:
    new = score(call(prof, REWORDED), case(prof, NOISE, hours=1), NOW, POLICY)
    old = score(call(prof, REWORDED), case(prof, NOISE, hours=70), NOW, POLICY)
    assert new is not None and old is not None and new.score > old.score
    nowhere = Where()
    assert score(call(prof, "工地晚上打桩", where=nowhere), case(prof, "工地白天运土，尘土飞扬", where=nowhere),
                 NOW, POLICY) is None
    assert score(call(prof, "工地晚上十一点还在打桩吵得睡不着", where=nowhere), case(prof, NOISE), NOW, POLICY) is not None


def test_several_at_one_place_are_counted(prof: Profiler) -> None:
    cases = [case(prof, NOISE, hours=0.5, ticket="RG20261204000001"),
             case(prof, REWORDED, hours=1.5, ticket="RG20261204000002"),
             case(prof, "唐堡村工地晚上十一点还在打桩，吵得睡不着", hours=0.2, ticket="RG20261204000003"),
             case(prof, VENDING, category="STREET_VENDING", ticket="RG20261204000004")]
    found = rank(call(prof, REWORDED), cases, NOW, POLICY)
    assert {m.case.ticket_no for m in found} == {"RG20261204000001", "RG20261204000002", "RG20261204000003"}
    assert all(m.reason.startswith("同一地点 2 小时内 3 起·文字相似 ") for m in found)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert span(0.3) == "20 分钟内" and span(5.2) == "6 小时内" and span(3.01) == "3 小时内" and span(50) == "3 天内"


def test_the_policy_comes_from_city_yaml(city: CityConfig, city_copy: Path) -> None:
    assert city.duplicates.window_hours == 72 and city.duplicates.radius_m == 300
    yaml = city_copy / "city.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("window_hours: 72", "window_hours: 24"), encoding="utf-8")
    assert load_city("rugao", city_copy.parent).duplicates.window_hours == 24
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("window_hours: 24", "window_hours: -1"), encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicates"):
        load_city("rugao", city_copy.parent)


def test_generic_road_words_are_no_road() -> None:
    for text in ("纸箱对着马路堆着", "人只能走马路", "家门口的大马路上", "老街上有人摆摊"):
        roads, _ = written_roads(text)
        assert not roads, (text, roads)
    assert written_roads("福寿路与海阳路路口")[0] >= {"福寿路", "海阳路"}


def test_an_unknown_place_needs_close_text(prof: Profiler) -> None:
    nowhere = Where()
    mud = "搬经镇兴夏社区路上全是泥巴，都是拉土车掉下来的，车子开过去溅一身"
    other = "开发区戴庄村这边路上全是渣土车掉下来的泥吐每天都这样希望管一下"
    c = call(prof, mud, where=Where("320682116", "搬经镇", "兴夏居委会"), category="MUCK_TRANSPORT",
             top=("MUCK_TRANSPORT",))
    assert 0.4 < cosine(prof.profile(mud), prof.profile(other)) < NO_PLACE_MIN_TEXT
    assert score(c, case(prof, other, where=nowhere, category="MUCK_TRANSPORT"), NOW, POLICY) is None
    m = score(c, case(prof, mud, where=nowhere, category="MUCK_TRANSPORT"), NOW, POLICY)
    assert m is not None and m.place_label == "地点待核实"
