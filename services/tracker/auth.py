"""Token authentication and roles.

Roles: operator (hotline), squad (bound to one unit), command (command centre), admin.
Tokens: the admin token from ``COMPLAINTS_ADMIN_TOKEN`` works from start-up; other
users live in the ``api_users`` table with a SHA-256 of their token
(``complaints user add``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.tracker.models import ApiUser


class Role(StrEnum):
    OPERATOR = "operator"
    SQUAD = "squad"
    COMMAND = "command"
    ADMIN = "admin"


SEES_PHONE = {Role.OPERATOR, Role.COMMAND, Role.ADMIN}


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    unit: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.name}" + (f"@{self.unit}" if self.unit else "")

    def may_see_unit(self, unit: str | None) -> bool:
        return self.role != Role.SQUAD or (unit is not None and unit == self.unit)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def add_user(sessions: sessionmaker[Session], name: str, role: Role, unit: str | None) -> str:
    if role == Role.SQUAD and not unit:
        raise ValueError("a squad member must be bound to a unit")
    token = new_token()
    with sessions.begin() as s:
        s.add(ApiUser(name=name, role=role.value, unit=unit, token_sha256=hash_token(token), created_at=datetime.now(UTC)))
    return token


class Authenticator:
    def __init__(self, sessions: sessionmaker[Session], admin_token: str | None, cache_s: float = 30.0) -> None:
        self._sessions = sessions
        self._admin = admin_token
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._cache_s = cache_s

    def cached(self, token: str) -> tuple[bool, Principal | None]:
        """(known, principal) without touching the database: the admin token or a fresh cache entry."""
        if self._admin and hmac.compare_digest(token.encode(), self._admin.encode()):
            return True, Principal("admin", Role.ADMIN)
        hit = self._cache.get(hash_token(token))
        if hit and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def authenticate(self, token: str) -> Principal | None:
        known, principal = self.cached(token)
        if known:
            return principal
        digest = hash_token(token)
        with self._sessions() as s:
            user = s.scalars(select(ApiUser).where(ApiUser.token_sha256 == digest)).first()
        principal = Principal(user.name, Role(user.role), user.unit) if user else None
        if len(self._cache) > 10000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic() + self._cache_s, principal)
        return principal


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get("c12319_token")


async def current_principal(request: Request) -> Principal:
    """Async, so the common case (admin token or a cached user) never waits for a worker thread."""
    token = bearer(request)
    if not token:
        raise HTTPException(401, "需要登录：请在 Authorization 头中提供 Bearer 令牌", headers={"WWW-Authenticate": "Bearer"})
    auth: Authenticator = request.app.state.auth
    known, principal = auth.cached(token)
    if not known:
        principal = await asyncio.to_thread(auth.authenticate, token)
    if principal is None:
        raise HTTPException(401, "令牌无效", headers={"WWW-Authenticate": "Bearer"})
    return principal


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = set(roles) | {Role.ADMIN}

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:  # noqa: B008
        if principal.role not in allowed:
            raise HTTPException(403, f"角色 {principal.role.value} 无权执行此操作")
        return principal

    return dependency


def mask_phone(phone: str | None, principal: Principal) -> str | None:
    if phone is None or principal.role in SEES_PHONE:
        return phone
    digits = phone.strip()
    if len(digits) >= 8:
        return digits[:3] + "*" * max(4, len(digits) - 7) + digits[-4:]
    return "****"
