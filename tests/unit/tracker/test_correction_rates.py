"""The correction rate: a case counts on the day (city time) it was routed, under the router's category."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.tracker.corrections import Corrected, Routed, rates

TZ = ZoneInfo("Asia/Shanghai")


def test_cohort_by_routing_day_in_city_time() -> None:
    late = datetime(2026, 11, 26, 16, 30, tzinfo=UTC)    # 00:30 on the 27th in Rugao
    early = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)     # 09:00 on the 26th
    routed = [Routed("a", late, "GARBAGE", "v2"), Routed("b", early, "GARBAGE", "v1"),
              Routed("c", early, "GARBAGE", "v1"), Routed("d", early, None, None)]
    corrected = [Corrected("a", "GARBAGE"), Corrected("b", "SANITATION_FACILITY"), Corrected("b", "GARBAGE")]
    out = rates(routed, corrected, TZ)
    assert out["days"] == [
        {"date": "2026-11-26", "category": "(none)", "routed": 1, "corrected": 0, "reclassified": 0, "rate": 0.0},
        {"date": "2026-11-26", "category": "GARBAGE", "routed": 2, "corrected": 1, "reclassified": 1, "rate": 0.5},
        {"date": "2026-11-27", "category": "GARBAGE", "routed": 1, "corrected": 1, "reclassified": 0, "rate": 1.0},
    ]
    assert {v["model_version"]: v["corrected"] for v in out["model_versions"]} == {"(unknown)": 0, "v1": 1, "v2": 1}
    assert out["total"] == {"routed": 4, "corrected": 2, "reclassified": 1, "rate": 0.5}
    assert rates([], [], TZ)["total"] == {"routed": 0, "corrected": 0, "reclassified": 0, "rate": None}
