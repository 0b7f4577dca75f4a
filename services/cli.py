"""The `complaints` command: one entry point, one bootstrap per service."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from services.platform import logs
from services.platform.settings import (
    ApiSettings,
    CommonSettings,
    RouterSettings,
    StackSettings,
    TrackerSettings,
)


def cmd_run(_: argparse.Namespace) -> int:
    from services.platform.stack import run

    settings = StackSettings()
    logs.setup("text", settings.log_level, "run")
    return run(settings)


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from services.platform.migrate import upgrade
    from services.tracker.app import create_app

    settings = ApiSettings()
    logs.setup(settings.log_format, settings.log_level, "api")
    if settings.migrate_on_start:
        upgrade(settings.database_url)
    app = create_app(settings)
    uvicorn.run(app, host=settings.api_host, port=args.port or settings.api_port, log_config=None,
                access_log=False, timeout_graceful_shutdown=5)
    return 0


def cmd_worker(_: argparse.Namespace) -> int:
    from services.router.app import run

    settings = RouterSettings()
    logs.setup(settings.log_format, settings.log_level, "worker")
    run(settings)
    return 0


def cmd_tracker(_: argparse.Namespace) -> int:
    import uvloop

    from services.platform.migrate import upgrade
    from services.tracker.worker import TrackerWorker

    settings = TrackerSettings()
    logs.setup(settings.log_format, settings.log_level, "tracker")
    if settings.migrate_on_start:
        upgrade(settings.database_url)
    worker = TrackerWorker(settings)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run()

    uvloop.run(main())
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from services.platform.kafka import check_topics, ensure_topics
    from services.platform.topics import TOPIC_PLAN

    settings = CommonSettings()
    if args.check:
        problems = check_topics(settings.kafka_bootstrap, settings.topic_partitions)
        for spec in TOPIC_PLAN:
            print(f"{spec.name:<22} {problems[spec.name] or 'ok'}")
        bad = [name for name, problem in problems.items() if problem]
        if bad:
            print(f"topics not as planned: {', '.join(bad)} (run `complaints topics` to create missing ones)",
                  file=sys.stderr)
            return 1
        return 0
    created = ensure_topics(settings.kafka_bootstrap, settings.topic_partitions, settings.topic_replication)
    for spec in TOPIC_PLAN:
        print(f"{spec.name:<22} {'created' if spec.name in created else 'exists':<8} key={spec.key}")
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from services.platform.migrate import upgrade

    upgrade(CommonSettings().database_url)
    print("database at head")
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    from services.platform.db import make_engine, make_sessionmaker
    from services.platform.migrate import upgrade
    from services.tracker.auth import Role, add_user

    settings = CommonSettings()
    upgrade(settings.database_url)
    token = add_user(make_sessionmaker(make_engine(settings.database_url)), args.name, Role(args.role), args.unit)
    print(json.dumps({"name": args.name, "role": args.role, "unit": args.unit, "token": token}, ensure_ascii=False))
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from services.platform.schemas import write_schemas

    changed = write_schemas(Path(args.out))
    print("\n".join(f"wrote {p}" for p in changed) or "schemas up to date")
    return 0


COMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {
    "run": ("embedded stack: broker, Redis, SQLite, worker, tracker, API", cmd_run),
    "api": ("the HTTP API (intake, cases, pages)", cmd_api),
    "worker": ("the Faust router worker", cmd_worker),
    "tracker": ("case projection, outbox relay and reconciler", cmd_tracker),
    "topics": ("create/verify the topics of the plan", cmd_topics),
    "migrate": ("apply database migrations", cmd_migrate),
    "user": ("add an API user and print its token", cmd_user),
    "schemas": ("write schemas/*.json from the event models", cmd_schemas),
}


def build_parser(extensions: bool = True) -> argparse.ArgumentParser:
    """The full parser; ``extensions=False`` leaves out the tool subcommands (core, chaos, bench, demo),
    whose modules import most of the code base: a service process (``complaints api``, ``worker``,
    ``tracker``) would pay 10-45 MB of RSS for them."""
    parser = argparse.ArgumentParser(prog="complaints", description="12319 complaint router")
    sub = parser.add_subparsers(dest="command", required=True)
    parsers = {}
    for name, (help_text, fn) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(fn=fn)
        parsers[name] = p
    parsers["api"].add_argument("--port", type=int, default=0)
    parsers["topics"].add_argument("--check", action="store_true",
                                   help="only verify (exit 1 when a topic is missing or has too few partitions)")
    parsers["user"].add_argument("--name", required=True)
    parsers["user"].add_argument("--role", required=True, choices=["operator", "squad", "command", "admin"])
    parsers["user"].add_argument("--unit")
    parsers["schemas"].add_argument("--out", default="schemas", help="folder (default: ./schemas)")
    if not extensions:
        return parser
    try:
        from services import corecli  # type: ignore[attr-defined,unused-ignore]

        corecli.register(sub)
        from services import chaos

        chaos.register(sub)
        from services import bench

        bench.register(sub)
        from services import demo

        demo.register(sub)
    except ImportError:  # pragma: no cover - during bootstrap of the repo
        pass
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # A service subcommand (the first word) needs only the service parsers.
    args = build_parser(extensions=not (argv and argv[0] in COMMANDS)).parse_args(argv)
    handler = getattr(args, "fn", None) or args.func  # core subcommands set `func`
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
