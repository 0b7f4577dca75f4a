"""The one routing function (services/core/dispatch.py) and that every caller uses it (issue 18)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.core.dispatch import OPERATOR_RULE, SAME_UNIT_RULE, Complaint, decide, routed_event, where
from services.core.engine import Engine
from services.core.events import ComplaintReceived, GeoPoint

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SERVICES = Path(__file__).resolve().parents[3] / "services"
TEXT = "白蒲镇唐堡村工地晚上还在打桩"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load("rugao")


def test_a_plain_complaint_is_decided_by_the_engine(engine: Engine) -> None:
    d = where(engine, Complaint(text=TEXT, received_at=T0))
    assert d == engine.decide(TEXT, T0)
    assert d.category == "NOISE_CONSTRUCTION" and d.unit == "SQ_BAIPU" and d.rule != OPERATOR_RULE


def test_the_address_is_read_below_the_text(engine: Engine) -> None:
    c = Complaint(text="工地晚上还在打桩", received_at=T0, address="白蒲镇唐堡村")
    assert c.full_text == "工地晚上还在打桩\n白蒲镇唐堡村" and where(engine, c).territory == "320682105"


def test_operator_overrides_decide_and_unknown_ones_are_ignored(engine: Engine) -> None:
    d = where(engine, Complaint(text=TEXT, received_at=T0, unit="CITY_GAS", category="GAS_SAFETY"))
    assert (d.unit, d.rule, d.category) == ("CITY_GAS", OPERATOR_RULE, "GAS_SAFETY")
    unknown = where(engine, Complaint(text=TEXT, received_at=T0, unit="NO_UNIT", category="NOPE", territory="1"))
    assert unknown == where(engine, Complaint(text=TEXT, received_at=T0))


def test_a_returned_case_never_goes_back_to_the_unit_that_returned_it(engine: Engine) -> None:
    again = where(engine, Complaint(text=TEXT, received_at=T0, returned_by="SQ_BAIPU"))
    assert (again.unit, again.rule) == (engine.city.command_centre, SAME_UNIT_RULE)
    other = where(engine, Complaint(text=TEXT, received_at=T0, returned_by="SQ_RUCHENG"))
    assert other.unit == "SQ_BAIPU" and other.rule != SAME_UNIT_RULE


def test_a_received_event_routes_with_everything_it_carries(engine: Engine) -> None:
    received = ComplaintReceived(
        event_id="e1", complaint_id="c1", ticket_no="RG2026120100001", city="rugao", channel="hotline",
        text="工地晚上还在打桩", address="白蒲镇唐堡村", received_at=T0,
        location=GeoPoint(lat=32.2, lon=120.6, label="白蒲镇"), category_override="NOISE_CONSTRUCTION")
    c = Complaint.of(received)
    assert (c.address, c.location_label, c.lat, c.lon, c.category) == (
        "白蒲镇唐堡村", "白蒲镇", 32.2, 120.6, "NOISE_CONSTRUCTION")
    d = decide(engine, received)
    assert d == where(engine, c)
    ev = routed_event(received, d, router="test", model_version=engine.model.version)
    assert (ev.unit, ev.category, ev.override) == (d.unit, d.category, {"category": "NOISE_CONSTRUCTION"})


def _engine_decide_calls(tree: ast.AST) -> list[int]:
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == "decide" and not (isinstance(n.func.value, ast.Attribute)
                                                  and n.func.value.attr == "model")]


def test_only_the_core_asks_the_engine_directly() -> None:
    """Router, reconciler, console and tracker route through ``where``; the measuring commands
    (eval, bench) and the tools may call the engine itself."""
    allowed = {"services/corecli.py"}
    direct = []
    for path in sorted(SERVICES.rglob("*.py")):
        rel = path.relative_to(SERVICES.parent).as_posix()
        if rel.startswith(("services/core/", "services/ops/")) or rel in allowed:
            continue
        direct += [f"{rel}:{line}" for line in _engine_decide_calls(ast.parse(path.read_text()))]
    assert not direct, "route through services.core.dispatch.where: " + ", ".join(direct)


def test_the_scan_sees_a_direct_call() -> None:
    assert _engine_decide_calls(ast.parse("d = engine.decide(t, now)\nx = self.model.decide(g)\n")) == [1]
