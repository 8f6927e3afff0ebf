"""Registration and login by IIN/BIN and password (portal flow: process 1, condition 1, process 2)."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import hash_password, verify_password
from shared.db import utcnow
from shared.errors import ApiError
from shared.iin import validate_iin_or_bin

from .deps import session
from .models import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class RegisterIn(BaseModel):
    iin_bin: str = Field(examples=["860717450455"])
    password: str = Field(min_length=8, max_length=128)
    full_name: str | None = None
    email: str | None = None
    phone: str | None = None


class RegisterOut(BaseModel):
    iin_bin: str
    kind: str


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


@router.post("/register", status_code=201, response_model=RegisterOut)
async def register(body: RegisterIn, s: AsyncSession = Depends(session, scope="function")) -> RegisterOut:
    """Register an applicant. 422 IIN_BIN_INVALID (checksum, date, type digits), 409 ALREADY_REGISTERED."""
    kind = validate_iin_or_bin(body.iin_bin)
    if await s.get(User, body.iin_bin) is not None:
        raise ApiError("ALREADY_REGISTERED")
    s.add(User(iin_bin=body.iin_bin, kind=kind, password_hash=hash_password(body.password),
               full_name=body.full_name, email=body.email, phone=body.phone))
    return RegisterOut(iin_bin=body.iin_bin, kind=kind)


@router.post("/token", response_model=TokenOut)
async def token(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> TokenOut:
    """OAuth2 password form: username = IIN/BIN. 401 AUTH_FAILED ("process 2"); after
    repeated failures the account is locked for a while (429 AUTH_LOCKED)."""
    rt = request.app.state.rt
    settings = rt.settings
    async with rt.db.session() as s:  # its own transaction: a failed attempt is counted even though we refuse
        user = await s.get(User, form.username)
        if user is None:
            raise ApiError("AUTH_FAILED")
        now = utcnow()
        if user.locked_until and user.locked_until > now:
            raise ApiError("AUTH_LOCKED")
        if not verify_password(user.password_hash, form.password):
            user.failed_logins += 1
            if user.failed_logins >= settings.portal_max_failed_logins:
                user.locked_until = now + timedelta(seconds=settings.portal_lockout_seconds)
                user.failed_logins = 0
            ok = False
        else:
            user.failed_logins = 0
            user.locked_until = None
            ok = True
    if not ok:
        raise ApiError("AUTH_FAILED")
    return TokenOut(**request.app.state.tokens.issue(user.iin_bin, kind=user.kind))
