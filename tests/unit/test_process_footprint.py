"""What each service process imports: the embedded stack's RSS is the sum of its processes, and a
module a process never uses still costs it memory (alembic ~10 MB, kafka-python ~6 MB, FastAPI ~9 MB,
the bench/chaos tools ~45 MB).  Each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from services.platform.memory import release_free_memory, release_periodically

# What a service's `cmd_*` imports before it runs (see services/cli.py).
ENTRY_MODULES = {
    "api": ["uvicorn", "services.platform.migrate", "services.tracker.app"],
    "tracker": ["services.platform.migrate", "services.tracker.worker"],
    "worker": ["services.router.app"],
}
TOOLS = ["services.ops.bench", "services.ops.chaos", "services.ops.demo", "services.corecli"]
NOT_NEEDED = {
    "api": ["alembic", "kafka", "faust", "psutil", *TOOLS],
    "tracker": ["alembic", "kafka", "fastapi", "faust", "uvicorn", "psutil", *TOOLS],
    "worker": ["alembic", "kafka", "fastapi", "sqlalchemy", "uvicorn", "psutil", *TOOLS],
}


def _loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("command", sorted(ENTRY_MODULES))
def test_a_service_process_imports_only_what_it_uses(command: str) -> None:
    imports = "\n".join(f"import {m}" for m in ENTRY_MODULES[command])
    loaded = _loaded_after(f"from services import cli\ncli.build_parser(extensions=False)\n{imports}")
    assert sorted(m for m in NOT_NEEDED[command] if m in loaded) == []


def test_service_subcommands_do_not_load_the_tools() -> None:
    loaded = _loaded_after(
        "from services import cli\n"
        "cli.COMMANDS['tracker'] = ('stub', lambda args: 0)\n"
        "assert cli.main(['tracker']) == 0\n"
    )
    assert sorted(m for m in TOOLS if m in loaded) == []


def test_tool_subcommands_are_still_registered() -> None:
    from services import cli

    help_text = cli.build_parser().format_help()
    assert "bench" in help_text and "chaos" in help_text


def test_release_free_memory_is_safe_to_call() -> None:
    assert release_free_memory() in (True, False)


async def test_release_periodically_disabled_returns_at_once() -> None:
    await release_periodically(0)
