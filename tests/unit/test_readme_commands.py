"""Every `complaints ...` command the README names exists, with the options it shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def named_commands() -> set[str]:
    found = set(re.findall(r"(?:bin/|`|exec api )complaints (\w[\w-]*(?: add)?)", README))
    found |= {m.split()[0] for m in re.findall(r"^\| `([a-z][\w-]*)[ `]", README, flags=re.M)}
    # a row naming subcommands: `model retrain\|rollback\|list ...`, `realtext join ...`
    for command, subs in re.findall(r"^\| `([a-z][\w-]*) ([a-z][\w-]*(?:\\\|[a-z][\w-]*)*)[ `]", README, flags=re.M):
        found |= {f"{command} {sub}" for sub in subs.split("\\|")}
    return found


def test_the_readme_names_commands() -> None:
    assert {"run", "user add", "demo", "topics", "migrate", "model retrain", "model rollback", "model list",
            "realtext join"} <= named_commands()


@pytest.mark.parametrize("command", sorted(named_commands()))
def test_each_command_the_readme_names_exists(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*command.split(), "--help"])
    assert exit_.value.code == 0, capsys.readouterr().err


@pytest.mark.parametrize(("command", "options"), [
    ("user add", ["--name", "--role", "--unit", "--token-only"]),
    ("demo", ["--n", "--rate", "--url", "--token", "--work"]),
    ("topics", ["--check"]),
    ("model retrain", ["--json", "--dry-run"]),
    ("realtext join", ["--source", "--out"]),
])
def test_the_options_the_readme_shows_exist(command: str, options: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command.split(), "--help"])
    shown = capsys.readouterr().out
    for option in options:
        assert option in shown and option in README
