"""Demo operators of the provider organisations for ``egov up``."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import hash_password

from . import repository
from .models import Operator


async def seed(s: AsyncSession, operators: list[dict]) -> None:
    for o in operators:
        row = await repository.operator(s, o["username"])
        if row is None:
            s.add(Operator(username=o["username"], password_hash=hash_password(o["password"]),
                           full_name=o["full_name"], iin=o["iin"], provider_bin=o["bin"], roles=o["roles"]))
