"""Argument handling of the `complaints` command: every bad argument is one line on stderr and exit 2.

``Parser`` replaces argparse's usage-plus-error output by one line; the ``*_arg`` helpers are
argparse ``type=`` checks; :func:`explain` turns what a command raised into one line and an exit
code (2: a bad argument or setting, 1: something the command needed was not there), so a person
never gets a traceback for a mistake of theirs.
"""

from __future__ import annotations

import argparse
from typing import NoReturn
from urllib.parse import urlsplit

EXIT_USAGE = 2
EXIT_FAILED = 1
# modules whose exceptions mean "a service this command needs is not there or refused"
_SERVICE_ERRORS = ("sqlalchemy", "psycopg", "redis", "kafka", "aiokafka", "httpx", "httpcore", "alembic")


class UsageError(Exception):
    """A bad argument or setting, found after parsing (e.g. a unit the city does not have)."""


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (``complaints user: error: ...``) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number / 不是整数") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1 / 须大于 0")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number / 不是数字") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0 / 须为不小于 0 的数")
    return value


def http_url(text: str) -> str:
    """``http(s)://host[:port][/prefix]``; the trailing slash is dropped."""
    parts = urlsplit(text.strip())
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL such as http://127.0.0.1:8000 / 不是有效的网址")
    return text.strip().rstrip("/")


def non_blank(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty / 不能为空")
    return text.strip()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _settings_problem(exc: Exception) -> str | None:
    """A pydantic ValidationError of the settings -> 'COMPLAINTS_X=...: why; ...', else None."""
    errors = getattr(exc, "errors", None)
    if type(exc).__name__ != "ValidationError" or not callable(errors):
        return None
    parts = []
    for err in errors():
        field = "_".join(str(p) for p in err.get("loc", ()))
        shown = f"={err['input']!r}" if isinstance(err.get("input"), str | int | float) else ""
        parts.append(f"COMPLAINTS_{field.upper()}{shown}: {err.get('msg', 'invalid')}")
    return "bad setting / 配置有误: " + "; ".join(parts)


def explain(exc: Exception) -> tuple[int, str] | None:
    """(exit code, one line) for an exception a person can act on; None: a bug (keep the traceback)."""
    if isinstance(exc, UsageError):
        return EXIT_USAGE, str(exc)
    problem = _settings_problem(exc)
    if problem:
        return EXIT_USAGE, problem
    if type(exc).__name__ == "ConfigError":  # services.core.config: the city configuration
        return EXIT_USAGE, f"city configuration / 城市配置: {_first_line(exc)}"
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError):
        name = exc.filename if exc.filename else _first_line(exc)
        return EXIT_USAGE, f"no such file / 文件不存在: {name}"
    if isinstance(exc, ConnectionError | TimeoutError | OSError | RuntimeError) or \
            type(exc).__module__.split(".")[0] in _SERVICE_ERRORS:
        return EXIT_FAILED, f"failed / 失败: {type(exc).__name__}: {_first_line(exc)}"
    return None
