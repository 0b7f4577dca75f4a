"""What a citizen reads: stages and timeline in plain words, Beijing time, nothing internal (pure)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.config import CityConfig
from services.core.engine import Engine
from services.tracker.citizen_progress import HistoryRow, beijing, headline, stages, status_url, timeline
from tests.conftest import REPO

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)  # 08:30 in Beijing
PAGES = REPO / "services" / "tracker" / "pages" / "static"


@pytest.fixture(scope="module")
def city() -> CityConfig:
    return Engine.load("rugao").city


def rows(*items: tuple[str, dict[str, object]]) -> list[HistoryRow]:
    return [HistoryRow(kind, T0 + timedelta(minutes=i), data) for i, (kind, data) in enumerate(items)]


def test_times_are_beijing_minutes() -> None:
    assert beijing(T0, TZ) == "2026-11-26 08:30" and beijing(None, TZ) is None


def test_stages_follow_the_status() -> None:
    unit = "白蒲镇城管执法中队"
    assert stages("received", unit) == [{"label": "已受理", "state": "current"},
                                        {"label": "正在安排承办单位", "state": "todo"},
                                        {"label": "处置中", "state": "todo"}, {"label": "已办结", "state": "todo"}]
    assert [s["state"] for s in stages("in_progress", unit)] == ["done", "done", "current", "todo"]
    assert [s["state"] for s in stages("closed", unit)] == ["done"] * 4
    assert stages("awaiting_decision", unit)[1] == {"label": "正在安排承办单位", "state": "current"}
    assert [s["label"] for s in stages("forwarded", unit)] == ["已受理", "已转交12345政务服务热线"]
    centre = "市城管指挥中心"
    assert headline("dispatched", unit, centre=centre) == "已派至白蒲镇城管执法中队，等待处理"
    assert headline("resolved", unit, can_rate=True, centre=centre) == "已办结，欢迎您对处理结果进行评价"
    assert headline("closed", unit, centre=centre) == headline("resolved", unit, centre=centre) == "已办结"
    assert headline("awaiting_decision", unit, centre="区指挥中心") == "正在由区指挥中心协调承办单位"


def test_the_timeline_tells_the_citizens_moments_and_leaves_internal_ones_out(city: CityConfig) -> None:
    history = rows(
        ("received", {"phone": "13812345678"}),
        ("dispatched", {"unit": "SQ_RUCHENG", "rule": "rule 10", "review_reasons": ["x"]}),
        ("returned", {"reason": "不属于本中队辖区（内部）", "unit": "SQ_BAIPU", "then": "reroute"}),
        ("linked_call", {"phone": "13600009999", "name": "李先生", "text": "我也要反映"}),
        ("accepted", {"case": {"unit": "SQ_BAIPU"}}),
        ("extension_requested", {"hours": 24, "reason": "内部原因"}),
        ("extension_approved", {"hours": 24}),
        ("supervised", {"note": "督办意见", "unit": "SQ_BAIPU"}),
        ("supplemented", {"text": "补充", "attachments": [{"kind": "image"}, {"kind": "image"}]}),
        ("resolved", {"result": "已劝离", "photos": []}),
        ("rated", {"rating": "满意", "comment": "好"}),
    )
    lines = timeline(history, city, TZ)
    assert [x["text"] for x in lines] == [
        "您的诉求已受理", "已派至如城街道城管执法中队", "已改派至白蒲镇城管执法中队", "承办单位已签收",
        "因处置需要，办理时限已延长", "您补充了文字说明、2张照片", "已办结：承办单位已处理并反馈结果", "您已评价：满意"]
    assert lines[0]["at"] == "2026-11-26 08:30" and all(re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$", x["at"])
                                                           for x in lines)
    told = str(lines)
    for secret in ("1381234", "13600009999", "李先生", "内部", "督办", "rule", "SQ_", "好"):
        assert secret not in told, secret


def test_a_case_parked_at_the_command_centre_and_an_escalated_return_read_plainly(city: CityConfig) -> None:
    lines = timeline(rows(("dispatched", {"unit": "COMMAND_CENTER"}),
                          ("returned", {"unit": "COMMAND_CENTER", "then": "escalate", "reason": "x"}),
                          ("decided", {"unit": "CITY_GAS", "final": True})), city, TZ)
    assert [x["text"] for x in lines] == ["已转市城管指挥中心安排承办单位", "正在由市城管指挥中心协调承办单位",
                                          "已改派至市城管局燃气安全执法中队"]


def test_the_link_of_a_ticket() -> None:
    assert status_url("https://a.example/12319/", "RG20261126000123") == \
        "https://a.example/12319/citizen?t=RG20261126000123"


def test_the_citizen_stylesheet_asks_for_the_bundled_font_of_the_pages() -> None:
    face = re.compile(r'url\("/static/fonts/rugao-sans-sc\.woff2\?v=([0-9a-f]+)"\)')
    ours = face.search((PAGES / "citizen.css").read_text(encoding="utf-8"))
    theirs = face.search((PAGES / "style.css").read_text(encoding="utf-8"))
    assert ours and theirs and ours.group(1) == theirs.group(1)
