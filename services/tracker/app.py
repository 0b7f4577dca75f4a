"""The API process: intake adapters + case tracker API + health, wired in one place.

``create_app(settings)`` is the composition root: it builds the adapters
(database, Redis, Kafka publisher), the intake service and the routers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from services.core.engine import Engine
from services.core.loader import load_city
from services.intake import hotline, open311
from services.intake.group_commit import GroupCommitWriter
from services.intake.service import IntakeService
from services.intake.store import IntakeStore
from services.intake.tickets import TicketAllocator
from services.intake.wechat_port import wechat_router
from services.modelstore import EngineHolder, ModelStore
from services.platform.db import make_engine, make_sessionmaker
from services.platform.guard import BodyLimit, RequestGuard
from services.platform.kafka import KafkaPublisher
from services.platform.media_store import LocalMediaStore
from services.platform.memory import release_periodically
from services.platform.redisio import async_redis
from services.platform.settings import ApiSettings
from services.tracker import (
    pages,
    routes_actions,
    routes_alerts,
    routes_cases,
    routes_citizen,
    routes_corrections,
    routes_export,
    routes_health,
    routes_history,
    routes_media,
    routes_photos,
    routes_stats,
    validation_zh,
)
from services.tracker.auth import Authenticator
from services.tracker.citytime import CityTimeMiddleware

log = logging.getLogger(__name__)

def create_app(settings: ApiSettings, engine: Engine | None = None) -> FastAPI:
    city_config = engine.city if engine is not None else load_city(settings.city, str(settings.config_root))
    models = EngineHolder(city_config, ModelStore(settings.model_root()), engine)
    core = models.engine
    city = core.city
    db_engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(db_engine)
    redis = async_redis(settings.redis_url, socket_timeout=2, socket_connect_timeout=2,
                              health_check_interval=10, retry_on_timeout=False)
    publisher = KafkaPublisher(settings.kafka_bootstrap, request_timeout_s=settings.publish_timeout_s,
                               compression_type=settings.compression_type)
    store = IntakeStore(sessions)
    writer = GroupCommitWriter(store)
    tickets = TicketAllocator(redis, prefix=city.ticket_prefix, timezone=city.timezone,
                              key_prefix=settings.redis_prefix, max_in_db=store.max_ticket)
    intake = IntakeService(city=city.code, publisher=publisher, redis=redis, store=store, tickets=tickets,
                           key_prefix=settings.redis_prefix, publish_timeout_s=settings.publish_timeout_s,
                           idempotency_ttl_s=settings.idempotency_ttl_s, writer=writer)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await publisher.start()
        trimmer = asyncio.create_task(release_periodically(settings.memory_release_every_s))
        follower = asyncio.create_task(follow_model(app, models, settings.model_check_every_s))
        try:
            yield
        finally:
            for task in (trimmer, follower):
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            await publisher.stop()
            await redis.aclose()
            writer.close()
            db_engine.dispose()

    app = FastAPI(title="12319 城市管理投诉分派系统", version="1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.core = core
    app.state.sessions = sessions
    app.state.redis = redis
    app.state.publisher = publisher
    app.state.intake = intake
    app.state.unit_ids = set(city.units)
    app.state.media = LocalMediaStore(settings.media_root())
    app.state.auth = Authenticator(sessions, settings.admin_token.get_secret_value() if settings.admin_token else None)

    install_error_handlers(app)
    install_middleware(app, settings.max_body_bytes, photo_limit(settings.photo_max_bytes), routes_citizen.PHOTO_LIMIT)
    # outermost: every body the API and pages return, errors included, in the city's time
    app.add_middleware(CityTimeMiddleware, tz=ZoneInfo(city.timezone))
    app.include_router(hotline.router)
    app.include_router(routes_export.router)  # before /cases/{ticket_no}
    app.include_router(routes_cases.router)
    app.include_router(routes_history.router)
    app.include_router(routes_media.router)
    app.include_router(routes_photos.router)
    app.include_router(routes_health.router)
    app.include_router(routes_actions.router)
    app.include_router(routes_citizen.router)
    app.include_router(routes_stats.router)
    app.include_router(routes_corrections.router)
    app.include_router(routes_alerts.router)
    app.include_router(open311.router)
    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")
    wechat = wechat_router(settings, intake=intake, sessions=sessions, engine=core, redis=redis)
    if wechat is not None:
        app.include_router(wechat)
    return app

async def follow_model(app: FastAPI, models: EngineHolder, every_s: float) -> None:
    """Suggestions and re-routing on return use the promoted model too (services/modelstore.py)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            if await asyncio.to_thread(models.check):
                app.state.core = models.engine
        except Exception as exc:  # the store unreadable: keep the engine in use
            log.warning("model check failed: %s: %s", type(exc).__name__, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Every failure of a dependency is a clear 503; nothing leaks a stack trace."""

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        what = "数据库" if isinstance(exc, SQLAlchemyError) else "缓存(Redis)"
        log.warning("dependency unavailable: %s: %s", type(exc).__name__, exc)
        return JSONResponse({"detail": f"{what}暂不可用，请稍后重试"}, status_code=503, headers={"Retry-After": "2"})

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(validation_zh.describe(exc.errors()), status_code=422)

    async def crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"detail": "服务器内部错误，已记录"}, status_code=500)

    app.add_exception_handler(OperationalError, unavailable)
    app.add_exception_handler(SQLAlchemyError, unavailable)
    app.add_exception_handler(RedisError, unavailable)
    app.add_exception_handler(ConnectionError, unavailable)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, crash)

def photo_limit(max_bytes: int) -> BodyLimit:
    return BodyLimit(routes_photos.PATH, max_bytes, routes_photos.too_large(max_bytes))


def install_middleware(app: FastAPI, max_body: int, *larger: BodyLimit) -> None:
    # body limits (declared or chunked), latency metrics
    app.add_middleware(RequestGuard, max_body=max_body, larger=larger)

