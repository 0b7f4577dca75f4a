"""Service logging: request URLs of outbound HTTP calls (WeChat's carry the access token) stay out of the logs."""

from __future__ import annotations

import json
import logging

import pytest

from services.platform.logs import Dependency, setup


def test_outbound_request_urls_are_not_logged(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup("text", "INFO", "tracker")
        logging.getLogger("httpx").info("HTTP Request: POST https://api.weixin.qq.com/cgi-bin/message/custom/send"
                                        "?access_token=SECRET-TOKEN \"HTTP/1.1 200 OK\"")
        logging.getLogger("services.tracker.notifier").info("notified 1 citizen")
        logging.getLogger("httpx").warning("retrying after a timeout")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "SECRET-TOKEN" not in err
    assert "notified 1 citizen" in err and "retrying after a timeout" in err


def test_migrations_log_what_they_apply_not_their_plumbing(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup("text", "INFO", "api")
        logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate.schemas")
        migration = logging.getLogger("alembic.runtime.migration")
        migration.info("Context impl SQLiteImpl.")
        migration.info("Will assume non-transactional DDL.")
        migration.info("Running upgrade 0005 -> 0006, corrections")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "Running upgrade 0005 -> 0006" in err
    assert "setup plugin" not in err and "Context impl" not in err and "Will assume" not in err


def test_faust_and_aiokafka_life_cycle_lines_are_below_info_their_warnings_stay(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup("json", "INFO", "worker")
        logging.getLogger("mode.services").info("[^--Producer]: Starting...")
        logging.getLogger("faust.worker").info("[^Worker]: Ready")
        logging.getLogger("faust.transport.tunedkafka").info("[^--TunedConsumer]: Starting...")
        logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group 'complaints-router'")
        logging.getLogger("faust.app.base").warning("Timer heartbeat woke up too late")
        logging.getLogger("services.router.app").info("router worker started")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(r["level"], r["logger"], r["msg"]) for r in lines] == [
        ("warning", "faust.app.base", "Timer heartbeat woke up too late"),
        ("info", "services.router.app", "router worker started"),
    ]


def test_the_lines_of_the_router_transport_subclasses_are_faust_lines() -> None:
    from services.router.transport import TunedConsumer, TunedConsumerThread

    assert TunedConsumer.logger.name.startswith("faust.") and TunedConsumerThread.logger.name.startswith("faust.")


def test_a_dependency_failing_on_every_tick_logs_degraded_once_and_recovered_once(
        caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.dependency")
    redis = Dependency(logger, "heartbeat (Redis)")
    with caplog.at_level(logging.DEBUG, logger="test.dependency"):
        redis.ok()  # healthy: nothing to say
        for _ in range(5):
            redis.failed(ConnectionError("Connection refused"))
        redis.ok()
        redis.ok()
        redis.failed(TimeoutError("timed out"))
    records = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert records[0] == ("WARNING", "degraded: heartbeat (Redis) failed: ConnectionError: Connection refused")
    assert [level for level, _ in records[1:5]] == ["DEBUG"] * 4
    assert records[5][0] == "INFO" and records[5][1].startswith("recovered: heartbeat (Redis) works again after ")
    assert records[5][1].endswith("(5 failure(s))")
    assert records[6] == ("WARNING", "degraded: heartbeat (Redis) failed: TimeoutError: timed out")
    assert len(records) == 7
