"""The reconciler leaves alone what the tracker has not read yet, and repairs it once it has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.core.engine import Engine
from services.core.events import Channel, ComplaintReceived
from services.platform.db import make_engine, make_sessionmaker
from services.platform.migrate import upgrade
from services.resources import cities_root
from services.tracker.models import Case
from services.tracker.projection import apply_received
from services.tracker.reconcile import reconcile


def test_a_case_whose_decision_may_still_be_unread_waits_for_the_tracker(database_url: str) -> None:
    upgrade(database_url)
    sessions = make_sessionmaker(make_engine(database_url))
    engine = Engine.load("rugao", str(cities_root()))
    now = datetime.now(UTC)
    received = ComplaintReceived(event_id="recv-c1", complaint_id="c1", ticket_no="RG20261127700001", city="rugao",
                                 channel=Channel.HOTLINE, text="如城街道工地晚上十一点还在打桩，噪音很大",
                                 phone="13812345678", received_at=now - timedelta(minutes=5))
    with sessions.begin() as s:
        apply_received(s, received)
    # the tracker is behind: it has applied the streams only up to 10 minutes ago
    with sessions.begin() as s:
        assert reconcile(s, engine, 60, applied_until=now - timedelta(minutes=10)) == {"created": 0, "routed": 0}
    # it caught up (or its progress is unknown): the case really was never routed
    with sessions.begin() as s:
        assert reconcile(s, engine, 60, applied_until=now) == {"created": 0, "routed": 1}
    with sessions() as s:
        case = s.scalars(select(Case).where(Case.complaint_id == "c1")).one()
        assert (case.status, case.routed_by) == ("dispatched", "reconciler")
