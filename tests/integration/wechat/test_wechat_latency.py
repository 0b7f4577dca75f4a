"""Reply latency over a few hundred safe-mode pushes through a real uvicorn server."""

from __future__ import annotations

import asyncio
import socket
import statistics
import time

import httpx
import uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis
from wechat_harness import AES_KEY, APPID, TOKEN, image_xml, location_xml, make_push, open_reply, text_xml

from services.intake.wechat import WeChatSettings, build_router
from services.intake.wechat.fakes import InMemoryIntakePort


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def test_reply_latency_p50_p99(redis: Redis, prefix: str) -> None:
    settings = WeChatSettings(token=TOKEN, encoding_aes_key=AES_KEY, appid=APPID, key_prefix=prefix)  # type: ignore[arg-type]
    port = InMemoryIntakePort()
    app = FastAPI()
    app.include_router(build_router(settings, lambda: port, lambda: redis))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{server.config.port}"
    seq: list[float] = []
    conc: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:

            async def one(plain: str, out: list[float]) -> httpx.Response:
                push = make_push(plain, "safe", ts=int(time.time()))
                t0 = time.perf_counter()
                resp = await client.post("/wechat/callback", params=push.query, content=push.body)
                out.append(time.perf_counter() - t0)
                return resp

            # sequential: 100 citizens x (text -> location -> photo)
            for i in range(100):
                oid = f"oLat{i}"
                for plain in (text_xml(f"第{i}号问题：路灯不亮", openid=oid), location_xml(openid=oid), image_xml(f"m{i}", openid=oid)):
                    resp = await one(plain, seq)
                    assert resp.status_code == 200 and "RG" in open_reply(resp, "safe")["Content"]
            # concurrent: 200 pushes from 50 citizens, 20 in flight
            sem = asyncio.Semaphore(20)

            async def bounded(i: int) -> None:
                async with sem:
                    resp = await one(text_xml(f"并发问题{i}", openid=f"oConc{i % 50}"), conc)
                    assert resp.status_code == 200

            await asyncio.gather(*(bounded(i) for i in range(200)))
    finally:
        server.should_exit = True
        await serving
    assert port.create_calls == 100 + 50
    for name, s in (("sequential", seq), ("concurrent(20)", conc)):
        print(
            f"\nwechat reply latency {name}: n={len(s)} p50={_pct(s, 50) * 1000:.1f} ms "
            f"p99={_pct(s, 99) * 1000:.1f} ms max={max(s) * 1000:.1f} ms mean={statistics.mean(s) * 1000:.1f} ms"
        )
    assert _pct(seq, 99) < 1.0 and _pct(conc, 99) < 2.0  # WeChat gives up at 5 s
