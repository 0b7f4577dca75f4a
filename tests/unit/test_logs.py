"""Service logging: request URLs of outbound HTTP calls (WeChat's carry the access token) stay out of the logs."""

from __future__ import annotations

import logging

import pytest

from services.platform.logs import setup


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
