"""Demo applicants for ``egov up`` (registered as if through POST /auth/register)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import hash_password

from . import repository
from .models import User


async def seed(s: AsyncSession, applicants: list[dict]) -> None:
    for a in applicants:
        if await repository.user(s, a["username"]) is None:
            s.add(User(iin_bin=a["username"], kind=a["kind"], password_hash=hash_password(a["password"]),
                       full_name=a["full_name"]))
