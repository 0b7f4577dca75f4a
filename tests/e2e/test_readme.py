"""The README's shell blocks work as pasted against a running system: *Try it* prints a ticket and then
its routed case, the Open311 example files a complaint, and `complaints demo --url` feeds another address."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

from tests.conftest import ADMIN_TOKEN, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```\n(.*?)^```", README, flags=re.S | re.M)


def block(containing: str) -> str:
    found = [b for b in BLOCKS if containing in b]
    assert len(found) == 1, f"one README block with {containing!r}, found {len(found)}"
    return found[0]


def paste(script: str, stack: Any) -> subprocess.CompletedProcess[str]:
    """Run a README block as a person would in the repository folder, against the test's stack."""
    script = script.replace("http://127.0.0.1:8000", stack.base_url)
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=REPO, env=stack.env,
                          capture_output=True, text=True, timeout=120)


def test_try_it_prints_the_ticket_then_the_routed_case(stack_factory: Any, sqlite_url: str) -> None:
    stack = stack_factory(sqlite_url)
    result = paste(block("TICKET=$(curl"), stack)
    assert result.returncode == 0, result.stderr
    first, case_line = result.stdout.strip().splitlines()
    ticket = re.fullmatch(r"ticket: (RG\d{14})", first)
    assert ticket, result.stdout
    case = json.loads(case_line)
    assert case["ticket_no"] == ticket.group(1)
    assert case["status"] == "dispatched", case
    assert case["category"] == "NOISE_CONSTRUCTION" and case["unit"] == "SQ_BAIPU"
    assert case["received_at"].endswith("+08:00") and case["resolve_by"].endswith("+08:00")

    open311 = paste('TOKEN=' + ADMIN_TOKEN + '\n' + block("/open311/v2/requests.json"), stack)
    assert open311.returncode == 0, open311.stderr
    filed, listed = (json.loads(line) for line in open311.stdout.strip().splitlines())
    request_id = filed[0]["service_request_id"]
    assert re.fullmatch(r"RG\d{14}", request_id)
    assert isinstance(listed, list)

    demo = subprocess.run([sys.executable, "-m", "services.cli", "demo", "--url", stack.base_url, "--n", "2",
                           "--rate", "0", "--token", ADMIN_TOKEN], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in stack.env.items() if k not in ("COMPLAINTS_API_PORT",)})
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "filed 2 of 2 complaints" in demo.stdout
