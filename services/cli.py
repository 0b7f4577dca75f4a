"""The `complaints` command: one entry point, one bootstrap per service."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from services.cliargs import Parser, UsageError, explain, non_blank
from services.platform import logs
from services.platform.settings import (
    ApiSettings,
    CommonSettings,
    RouterSettings,
    StackSettings,
    TrackerSettings,
)


def cmd_run(_: argparse.Namespace) -> int:
    from services.stack import run

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


def check_user(settings: CommonSettings, role: str, unit: str | None) -> str | None:
    """The unit a new user is bound to, checked against the city's units; raises UsageError."""
    from services.core.loader import load_city

    units = load_city(settings.city, settings.config_root).units
    squads = ", ".join(u for u in units if u.startswith("SQ_")) or ", ".join(units)
    if role == "squad" and not unit:
        raise UsageError(f"--role squad needs --unit, the unit the member works for / 中队队员须用 --unit 指定所属单位 "
                         f"(one of / 可选: {squads})")
    if unit is None:
        return None
    if role != "squad":
        raise UsageError(f"--unit is only for --role squad; {role} users see every unit / 只有中队队员绑定单位")
    if unit not in units:
        raise UsageError(f"--unit {unit}: not a unit of {settings.city} / 不是本市的单位 (one of / 可选: {', '.join(units)})")
    return unit


def cmd_user(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from services.platform.db import make_engine, make_sessionmaker
    from services.platform.migrate import upgrade
    from services.tracker.auth import Role, add_user
    from services.tracker.models import ApiUser

    settings = CommonSettings()
    unit = check_user(settings, args.role, args.unit)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            if s.scalar(select(ApiUser.id).where(ApiUser.name == args.name)) is not None:
                raise UsageError(f"--name {args.name}: a user of that name exists / 该用户名已存在")
        token = add_user(sessions, args.name, Role(args.role), unit)
    finally:
        engine.dispose()
    if args.token_only:
        print(token)
    else:
        print(json.dumps({"name": args.name, "role": args.role, "unit": unit, "token": token}, ensure_ascii=False))
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
    "user": ("user add: add an API user and print its token", cmd_user),
    "schemas": ("write schemas/*.json from the event models", cmd_schemas),
}


def build_parser(extensions: bool = True) -> argparse.ArgumentParser:
    """The full parser; ``extensions=False`` leaves out the tool subcommands (core, chaos, bench, demo),
    whose modules import most of the code base: a service process (``complaints api``, ``worker``,
    ``tracker``) would pay 10-45 MB of RSS for them."""
    parser = Parser(prog="complaints", description="12319 complaint router")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parsers = {}
    for name, (help_text, fn) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(fn=fn)
        parsers[name] = p
    parsers["api"].add_argument("--port", type=int, default=0)
    parsers["topics"].add_argument("--check", action="store_true",
                                   help="only verify (exit 1 when a topic is missing or has too few partitions)")
    user = parsers["user"].add_subparsers(dest="action", required=True, metavar="ACTION")
    add = user.add_parser("add", help="add a user and print its token", description="add a user and print its token")
    add.add_argument("--name", required=True, type=non_blank, help="unique name, e.g. 王芳")
    add.add_argument("--role", required=True, choices=["operator", "squad", "command", "admin"])
    add.add_argument("--unit", help="the unit of a squad member (a unit id of the city, e.g. SQ_BAIPU)")
    add.add_argument("--token-only", action="store_true", help="print only the token (for TOKEN=$(...))")
    parsers["schemas"].add_argument("--out", default="schemas", help="folder (default: ./schemas)")
    if not extensions:
        return parser
    try:
        from services import corecli  # type: ignore[attr-defined,unused-ignore]

        corecli.register(sub)
        from services.ops import chaos

        chaos.register(sub)
        from services.ops import bench

        bench.register(sub)
        from services.ops import bench_pages

        bench_pages.register(sub)
        from services.ops import bench_data

        bench_data.register(sub)
        from services.ops import demo

        demo.register(sub)
    except ImportError:  # pragma: no cover - during bootstrap of the repo
        pass
    return parser


# long-running services: their own failures keep the traceback (and go to the log); bad settings do not
SERVICES = ("run", "api", "worker", "tracker")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["user"] and len(argv) > 1 and argv[1].startswith("--") and argv[1] not in ("--help",):
        argv.insert(1, "add")  # `complaints user --name ...`, the form before `user add`
    # A service subcommand (the first word) needs only the service parsers.
    args = build_parser(extensions=not (argv and argv[0] in COMMANDS)).parse_args(argv)
    handler = getattr(args, "fn", None) or args.func  # core subcommands set `func`
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        known = explain(exc)
        if known is None or (args.command in SERVICES and not isinstance(exc, UsageError)
                             and known[0] != 2):
            raise
        code, line = known
        print(f"complaints {args.command}: error: {line}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
