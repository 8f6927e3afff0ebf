"""Request-scoped dependencies: a database session and the logged-in user."""
from __future__ import annotations

from typing import AsyncIterator

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ApiError

from .models import User

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back on error.
    Use it as ``Depends(session, scope="function")`` so that the commit happens before the
    response is sent (a client that got 201 can rely on what it created)."""
    async with request.app.state.rt.db.session() as s:
        yield s


async def current_user(
    request: Request, token: str | None = Depends(oauth2), s: AsyncSession = Depends(session, scope="function")
) -> User:
    claims = request.app.state.tokens.decode(token) if token else None
    if not claims:
        raise ApiError("AUTH_REQUIRED")
    user = await s.get(User, claims["sub"])
    if user is None:
        raise ApiError("AUTH_REQUIRED")
    return user
