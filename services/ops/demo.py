"""``complaints demo``: feed a realistic stream of complaints into a running system.

The development texts (``data/dev/complaints_dev.jsonl``) are sent through the hotline
endpoint, interleaved over the towns, at ``--rate`` per second, with made-up callers.
With ``--work`` the squads and the command centre then act on part of them (accept,
resolve with a 70/20/10 service/management/enforcement mix, verify, citizen rating),
so the dashboard's rates and charts have something to show.

    complaints demo --n 60 --rate 2 --url http://127.0.0.1:8000 --token $ADMIN --work
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from services.cliargs import UsageError, http_url, non_negative_float, positive_int
from services.platform.settings import ApiSettings
from services.resources import demo_complaints

DEV_SET = demo_complaints()
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
RESULTS = {"服务": "已现场劝导，当事人当场整改，向来电人反馈", "管理": "已责令限期整改并登记台账，复查已整改",
           "执法": "经调查取证已立案查处，依法作出处罚"}


def interleaved(path: Path, n: int, rng: random.Random) -> list[dict[str, Any]]:
    """``n`` dev complaints, round-robin over towns (unknown place last in each round)."""
    by_town: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            by_town[row.get("territory") or ""].append(row)
    for rows in by_town.values():
        rng.shuffle(rows)
    towns = sorted(by_town, key=lambda t: (t == "", rng.random()))
    out: list[dict[str, Any]] = []
    while len(out) < n and any(by_town.values()):
        for town in towns:
            if by_town[town] and len(out) < n:
                out.append(by_town[town].pop())
    return out


def caller(rng: random.Random) -> dict[str, str]:
    phone = "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
    return {"phone": phone, "name": rng.choice(SURNAMES) + rng.choice(["先生", "女士"])}


def file_all(client: httpx.Client, rows: list[dict[str, Any]], rate: float, rng: random.Random) -> list[dict[str, str]]:
    filed: list[dict[str, str]] = []
    for row in rows:
        who = caller(rng)
        body = {"channel": "hotline", "text": row["text"], **who}
        r = client.post("/api/v1/complaints", json=body, headers={"Idempotency-Key": f"demo-{uuid.uuid4().hex}"})
        if r.status_code == 201:
            ticket = r.json()["ticket_no"]
            filed.append({"ticket": ticket, "phone": who["phone"]})
            print(f"{ticket}  {row['text'][:40]}", flush=True)
        elif r.status_code in (401, 403) and not filed:
            raise UsageError(f"--token refused by the API ({r.status_code}) / 令牌无效或无权提交投诉")
        else:
            print(f"refused ({r.status_code}): {r.text[:200]}", flush=True)
        if rate > 0:
            time.sleep(1.0 / rate)
    return filed


def act(client: httpx.Client, ticket: str, action: str, body: dict[str, Any] | None = None) -> bool:
    r = client.post(f"/api/v1/cases/{ticket}/{action}", json=body or {})
    return r.status_code < 300


def work(client: httpx.Client, filed: list[dict[str, str]], rng: random.Random) -> None:
    """Squads and the command centre act on part of the cases, as a working day would."""
    time.sleep(3)  # let the router dispatch the last ones
    done = {"accepted": 0, "resolved": 0, "closed": 0, "rated": 0}
    for item in filed:
        ticket = item["ticket"]
        if rng.random() > 0.7 or not act(client, ticket, "accept"):
            continue
        done["accepted"] += 1
        if rng.random() > 0.6:
            continue
        mode = rng.choices(["服务", "管理", "执法"], weights=[70, 20, 10])[0]
        if not act(client, ticket, "resolve", {"result": RESULTS[mode], "disposal_mode": mode}):
            continue
        done["resolved"] += 1
        if rng.random() < 0.6 and act(client, ticket, "verify"):
            done["closed"] += 1
            rating = rng.choices(["满意", "基本满意", "不满意"], weights=[75, 18, 7])[0]
            r = client.post(f"/api/v1/public/cases/{ticket}/rating",
                            json={"phone_last4": item["phone"][-4:], "rating": rating})
            done["rated"] += r.status_code < 300
    print("worked: " + ", ".join(f"{k} {v}" for k, v in done.items()))


def cmd_demo(args: argparse.Namespace) -> int:
    settings = ApiSettings()
    token = args.token or (settings.admin_token.get_secret_value() if settings.admin_token else None)
    if not token:
        raise UsageError("no token: pass --token or set COMPLAINTS_ADMIN_TOKEN (printed by `complaints run`) / 缺少令牌")
    url = args.url or f"http://{settings.api_host}:{settings.api_port}"
    rng = random.Random(args.seed)
    rows = interleaved(Path(args.file), args.n, rng)
    if not rows:
        raise UsageError(f"--file {args.file}: no complaints in it / 文件中没有投诉")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        try:
            client.get("/openapi.json").raise_for_status()
        except httpx.HTTPError as exc:
            raise UsageError(f"--url {url}: no API of this system answers there ({type(exc).__name__}) / 无法连接 API") from None
        filed = file_all(client, rows, args.rate, rng)
        print(f"filed {len(filed)} of {len(rows)} complaints")
        if args.work and filed:
            work(client, filed, rng)
    return 0 if filed else 1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help="feed a realistic stream of complaints into the running system")
    p.add_argument("--n", type=positive_int, default=40, help="how many complaints (default 40)")
    p.add_argument("--rate", type=non_negative_float, default=2.0, help="complaints per second (0: as fast as possible)")
    p.add_argument("--url", type=http_url, default=None,
                   help="API base URL, e.g. http://127.0.0.1:8001 (default from COMPLAINTS_API_HOST/PORT)")
    p.add_argument("--token", default=None, help="operator/command/admin token (default COMPLAINTS_ADMIN_TOKEN)")
    p.add_argument("--file", default=str(DEV_SET), help="JSONL of complaints with a `text` field")
    p.add_argument("--work", action="store_true", help="then accept/resolve/verify/rate part of them")
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=cmd_demo)
