"""Request-scoped dependencies: a database session and the logged-in user."""
from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ApiError
from shared.throttle import Throttle

from . import repository
from .models import User

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """One writing transaction per request: committed when the handler returns, rolled back on
    error. Use it as ``Depends(session, scope="function")`` so that the commit happens before the
    response is sent (a client that got 201 can rely on what it created). The transaction (and on
    SQLite the write lock) begins at the first statement: do slow work (signatures) before it."""
    async with request.app.state.rt.db.session() as s:
        yield s


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A transaction that only reads (no write lock on SQLite)."""
    async with request.app.state.rt.db.read() as s:
        yield s


async def current_user(request: Request, token: str | None = Depends(oauth2)) -> User:
    """The logged-in applicant (read in a session of its own: no transaction is held for the request)."""
    claims = request.app.state.tokens.decode(token) if token else None
    if not claims:
        raise ApiError("AUTH_REQUIRED")
    async with request.app.state.rt.db.read() as s:
        user = await repository.user(s, claims["sub"])
    if user is None:
        raise ApiError("AUTH_REQUIRED")
    return user


@dataclass
class Quotas:
    """What one applicant may do in a day (429 QUOTA_EXCEEDED beyond)."""

    requests: Throttle
    attachments: Throttle
    attachment_bytes: Throttle
