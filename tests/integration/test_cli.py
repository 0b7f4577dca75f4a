"""The `complaints` command: bad arguments are one line and exit 2, never a traceback; `user add` checks
the unit against the city and makes a user whose token the API accepts; `topics --check`; `demo --url`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.cli import main
from services.platform.db import make_engine, make_sessionmaker
from services.tracker.auth import Authenticator, Role

pytestmark = pytest.mark.integration


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", url)
    monkeypatch.delenv("COMPLAINTS_CITY", raising=False)
    monkeypatch.delenv("COMPLAINTS_CONFIG_ROOT", raising=False)
    return url


@pytest.mark.parametrize(("argv", "says"), [
    (["user"], "ACTION"),
    (["user", "add", "--name", "张三", "--role", "squad"], "--role squad needs --unit"),
    (["user", "--name", "张三", "--role", "squad"], "--role squad needs --unit"),  # the form before `user add`
    (["user", "add", "--name", "张三", "--role", "squad", "--unit", "NOPE"], "--unit NOPE: not a unit of rugao"),
    (["user", "add", "--name", "张三", "--role", "operator", "--unit", "SQ_BAIPU"], "--unit is only for --role squad"),
    (["user", "add", "--name", " ", "--role", "admin"], "argument --name: must not be empty"),
    (["user", "add", "--name", "张三", "--role", "boss"], "argument --role: invalid choice"),
    (["demo", "--url", "localhost:8000"], "argument --url"),
    (["demo", "--n", "0"], "argument --n"),
    (["demo", "--rate", "fast"], "argument --rate"),
    (["api", "--port", "x"], "argument --port"),
    (["nosuch"], "invalid choice: 'nosuch'"),
])
def test_a_bad_argument_is_one_line_and_exit_2(argv: list[str], says: str, db: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2, (out, err)
    assert says in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("complaints") and "Traceback" not in err
    if argv[0] == "user":
        assert not Path(db.split("///", 1)[1]).exists()  # refused before the database is touched


def test_a_bad_setting_is_one_line_and_exit_2(db: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COMPLAINTS_TOPIC_PARTITIONS", "many")
    code, _, err = run(["topics", "--check"], capsys)
    assert code == 2 and "COMPLAINTS_TOPIC_PARTITIONS='many'" in err and len(err.splitlines()) == 1
    monkeypatch.delenv("COMPLAINTS_TOPIC_PARTITIONS")
    monkeypatch.setenv("COMPLAINTS_CITY", "atlantis")
    code, _, err = run(["user", "add", "--name", "张三", "--role", "admin"], capsys)
    assert code == 2 and "city 'atlantis'" in err and len(err.splitlines()) == 1


def test_user_add_makes_a_squad_member_of_a_real_unit(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["user", "add", "--name", "白蒲中队王芳", "--role", "squad", "--unit", "SQ_BAIPU",
                          "--token-only"], capsys)
    assert code == 0, err
    token = out.strip()
    assert len(out.splitlines()) == 1 and len(token) >= 20
    principal = Authenticator(make_sessionmaker(make_engine(db)), None).authenticate(token)
    assert principal is not None and principal.role == Role.SQUAD and principal.unit == "SQ_BAIPU"
    # the same name again: refused, one line
    code, _, err = run(["user", "add", "--name", "白蒲中队王芳", "--role", "operator"], capsys)
    assert code == 2 and "exists" in err and len(err.splitlines()) == 1
    code, out, _ = run(["user", "add", "--name", "接线员", "--role", "operator"], capsys)
    assert code == 0 and '"role": "operator"' in out and '"unit": null' in out


def test_an_unreachable_database_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, _, err = run(["migrate"], capsys)
    assert code == 1 and "OperationalError" in err and len(err.splitlines()) == 1


def test_demo_against_an_address_without_the_api_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    from services.platform.embedded import free_port

    result = subprocess.run([sys.executable, "-m", "services.cli", "demo", "--url", f"http://127.0.0.1:{free_port()}",
                             "--token", "t", "--n", "1"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "no API of this system answers there" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
