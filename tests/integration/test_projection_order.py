"""A routing decision that arrives before its complaint (two topics, no order between them) still
creates the case, from the intake log; the late ComplaintReceived then changes nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from services.core.dispatch import decide, routed_event
from services.core.engine import Engine
from services.core.events import Channel, ComplaintReceived
from services.intake.store import IntakeStore
from services.platform.db import make_engine, make_sessionmaker
from services.platform.migrate import upgrade
from services.platform.topics import COMPLAINTS_RECEIVED, COMPLAINTS_ROUTED
from services.tracker.models import Case, CaseEventRow
from services.tracker.projection import apply_routed
from services.tracker.worker import apply_batch


def test_routed_before_received_uses_the_intake_log(database_url: str) -> None:
    upgrade(database_url)
    sessions = make_sessionmaker(make_engine(database_url))
    received = ComplaintReceived(event_id="recv-c1", complaint_id="c1", ticket_no="RG20261126000042", city="rugao",
                                 channel=Channel.HOTLINE, text="如城街道花园社区门口有人占道摆摊卖水果",
                                 phone="13812345678", received_at=datetime.now(UTC))
    IntakeStore(sessions).insert(complaint_id="c1", ticket_no=received.ticket_no, channel="hotline",
                                 idempotency_key=None, payload=received.model_dump_json(), created_at=received.received_at)
    engine = Engine.load()
    routed = routed_event(received, decide(engine, received), router="stream")
    assert routed.complaint is None and routed.received_at == received.received_at
    with sessions.begin() as s:
        changes = apply_batch(s, [(COMPLAINTS_ROUTED, routed.model_dump_json().encode())], engine)
    assert [c["type"] for c in changes] == ["dispatched"]
    with sessions.begin() as s:
        assert apply_batch(s, [(COMPLAINTS_RECEIVED, received.model_dump_json().encode())], engine) == []
    with sessions() as s:
        case = s.get(Case, "c1")
        assert case is not None and case.status == "dispatched" and case.unit == "SQ_RUCHENG"
        assert [e.type for e in s.query(CaseEventRow).order_by(CaseEventRow.id)] == ["received", "dispatched"]


def test_stream_and_reconciler_deciding_at_once_dispatch_a_case_once(pg_url: str) -> None:
    """Found by the PostgreSQL chaos run: the stream's decision and the reconciler's, applied in two
    concurrent transactions that both read "received", recorded two dispatches."""
    upgrade(pg_url)
    sessions = make_sessionmaker(make_engine(pg_url))
    received = ComplaintReceived(event_id="recv-c2", complaint_id="c2", ticket_no="RG20261126000043", city="rugao",
                                 channel=Channel.HOTLINE, text="如城街道花园社区门口有人占道摆摊卖水果",
                                 phone="13812345678", received_at=datetime.now(UTC))
    with sessions.begin() as s:
        apply_batch(s, [(COMPLAINTS_RECEIVED, received.model_dump_json().encode())])
    engine = Engine.load()
    by_stream = routed_event(received, decide(engine, received), router="stream")
    by_reconciler = routed_event(received, decide(engine, received), router="reconciler")
    assert by_stream.event_id != by_reconciler.event_id

    first = sessions()
    first.begin()
    assert apply_routed(first, by_stream)  # not committed yet: the row is locked
    outcome: list[bool] = []

    def second() -> None:
        with sessions.begin() as s:
            case = s.get(Case, "c2")
            assert case is not None and case.status == "received"  # the committed state it reads
            outcome.append(apply_routed(s, by_reconciler))

    t = threading.Thread(target=second)
    t.start()
    t.join(1.0)
    assert t.is_alive()  # waits for the first transaction instead of deciding too
    first.commit()
    first.close()
    t.join(10)
    assert outcome == [False]
    with sessions() as s:
        types = [e.type for e in s.query(CaseEventRow).filter_by(complaint_id="c2").order_by(CaseEventRow.id)]
        assert types == ["received", "dispatched"]
        case = s.get(Case, "c2")
        assert case is not None and case.routed_by == "stream" and case.version == 2
