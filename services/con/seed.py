"""The ЦОН's demo operators (``regulations/con.toml``) for ``egov up``."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import hash_password
from shared.regulations.con import con

from . import repository
from .models import Operator


async def seed(s: AsyncSession, operators: list[dict]) -> None:
    offices = con().offices
    for o in operators:
        if await repository.operator(s, o["username"]) is None:
            s.add(Operator(username=o["username"], password_hash=hash_password(o["password"]), full_name=o["full_name"],
                           iin=o["iin"], region=o["region"], office=offices.get(o["region"], {})))
