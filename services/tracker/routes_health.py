"""Liveness of every component (GET /healthz) and Prometheus metrics (GET /metrics)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text

from services.platform import metrics as m
from services.platform.heartbeat import STALE_AFTER_S, process_gone

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(description="ok / degraded")
    checks: dict[str, dict[str, Any]] = Field(
        description="broker, database, redis, worker, tracker: ok 与耗时 ms，或 error；worker / tracker 含 instances")
    degraded: list[str] | None = Field(default=None, description="不可用的组件（仅 degraded 时）")


def _db_ok(request: Request) -> None:
    with request.app.state.sessions() as s:
        s.execute(text("SELECT 1"))


async def _check(coro: Any) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        detail = await asyncio.wait_for(coro, 2.0)
        out: dict[str, Any] = {"ok": True, "ms": round((time.perf_counter() - start) * 1000, 1)}
        if isinstance(detail, dict):
            out.update(detail)
        return out
    except Exception as exc:
        return {"ok": False, "error": str(exc) or type(exc).__name__}


NAMES = {"worker": "路由进程（worker）", "tracker": "跟踪进程（tracker）"}


class ComponentDown(RuntimeError):
    """No live heartbeat of a component: the error says which, and when it was last seen."""


async def _workers(request: Request, kind: str) -> dict[str, Any]:
    """The live instances of ``kind`` by their heartbeats (services/platform/heartbeat.py).

    Dead: the last beat is older than STALE_AFTER_S, or the beat's process ran on this host and is gone."""
    redis = request.app.state.redis
    prefix = request.app.state.settings.redis_prefix
    names = [k.decode() if isinstance(k, bytes) else k async for k in redis.scan_iter(f"{prefix}{kind}:*")]
    alive: dict[str, dict[str, str]] = {}
    down: dict[str, float] = {}
    now = time.time()
    for name in names:
        beat = {k.decode(): v.decode() for k, v in (await redis.hgetall(name)).items()}
        if not beat:
            continue
        age = now - float(beat.get("at", 0) or 0)
        pid = int(beat.get("pid", 0) or 0)
        if age < STALE_AFTER_S and not process_gone(beat.get("host"), pid):
            alive[name.removeprefix(prefix)] = beat
        else:
            down[name.removeprefix(prefix)] = round(age, 1)
    if not alive:
        seen = f"，最近一次心跳在 {min(down.values()):.1f} 秒前" if down else "，没有心跳记录"
        raise ComponentDown(f"{NAMES.get(kind, kind)}未运行{seen} (no live {kind} heartbeat)")
    out: dict[str, Any] = {"instances": alive}
    if down:
        out["down"] = down  # instances that died lately (another one carries on)
    return out


@router.get("/healthz", response_model_exclude_unset=True,
            responses={503: {"model": Health, "description": "有组件不可用（degraded 列出）"}})
async def healthz(request: Request, response: Response) -> Health:
    state = request.app.state

    async def broker() -> dict[str, Any]:
        if not state.publisher.connected:
            raise RuntimeError("producer not connected")
        return {"bootstrap": state.settings.kafka_bootstrap}

    checks = dict(zip(
        ("broker", "database", "redis", "worker", "tracker"),
        await asyncio.gather(
            _check(broker()),
            _check(asyncio.to_thread(_db_ok, request)),
            _check(state.redis.ping()),
            _check(_workers(request, "worker")),
            _check(_workers(request, "tracker")),
        ), strict=True,
    ))
    degraded = [name for name, c in checks.items() if not c["ok"]]
    if not degraded:
        return Health(status="ok", checks=checks)
    response.status_code = 503
    return Health(status="degraded", checks=checks, degraded=degraded)  # which components, by name


@router.get("/metrics", response_class=PlainTextResponse,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
async def metrics(request: Request) -> Response:
    """This process's metrics plus the worker's and tracker's figures from their Redis heartbeats."""
    for kind in ("worker", "tracker"):
        try:
            alive = (await _workers(request, kind))["instances"]
        except Exception:
            continue
        for beat in alive.values():
            if kind == "worker":
                m.DEAD_LETTERED.set(float(beat.get("dead_lettered", 0)))
                m.ROUTED_BY_WORKER.set(float(beat.get("routed", 0)))
            for field, value in beat.items():
                if field.startswith("lag:"):
                    m.CONSUMER_LAG.labels(field[4:]).set(float(value))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
