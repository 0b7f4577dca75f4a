"""`complaints bench` part (b0): a Faust agent that only copies records, with the router's settings.

It shows what Faust itself costs per record on this broker, between the raw aiokafka loop (a)
and the real router (b).  Run as ``python -m services.ops.bench_faust SOURCE SINK`` with the
usual ``COMPLAINTS_*`` environment; the bench starts and stops it.
"""

from __future__ import annotations

import sys
from typing import Any

import faust

from services.platform.settings import RouterSettings
from services.router.app import faust_app, faust_worker, use_uvloop


def passthrough(settings: RouterSettings, source: str, sink: str) -> faust.App:
    app = faust_app(settings)
    src = app.topic(source, value_type=bytes, key_type=bytes, internal=False)
    dst = app.topic(sink, value_type=bytes, key_type=bytes, internal=False)

    @app.agent(src)
    async def copy(stream: Any) -> None:
        async for events in stream.take_events(settings.batch_max, within=settings.batch_within_s):
            for event in events:
                await dst.send(key=event.key, value=event.value)

    return app


def main(argv: list[str]) -> None:
    source, sink = argv
    settings = RouterSettings(router_group=f"bench-passthrough-{source}")
    use_uvloop()
    faust_worker(passthrough(settings, source, sink), settings).execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])
