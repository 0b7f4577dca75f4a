"""Liveness of every component (GET /healthz) and Prometheus metrics (GET /metrics)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from services.platform import metrics as m

router = APIRouter(tags=["health"])


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


async def _workers(request: Request, kind: str) -> dict[str, Any]:
    redis = request.app.state.redis
    prefix = request.app.state.settings.redis_prefix
    names = [k.decode() if isinstance(k, bytes) else k async for k in redis.scan_iter(f"{prefix}{kind}:*")]
    alive = {}
    for name in names:
        beat = await redis.hgetall(name)
        at = float(beat.get(b"at", 0) or 0)
        if time.time() - at < 15:
            alive[name.removeprefix(prefix)] = {k.decode(): v.decode() for k, v in beat.items()}
    if not alive:
        raise RuntimeError(f"no live {kind} heartbeat")
    return {"instances": alive}


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
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
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ok" if ok else "degraded", "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics")
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
