"""Registration, login by IIN/BIN and password, and login by ЭЦП (portal flow: process 1,
condition 1, process 2)."""
from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import hash_password, verify_password
from shared.db import utcnow
from shared.envelope import canonical
from shared.errors import ApiError
from shared.iin import validate_iin_or_bin
from shared.pki.cms import SignatureError

from .deps import session
from .models import AuthChallenge, User

CHALLENGE_SECONDS = 300

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


class ChallengeOut(BaseModel):
    challenge_id: str
    nonce: str
    expires_in: int
    sign: dict = Field(description="the JSON object to sign (CMS over its JCS bytes) with an AUTH key")


class EcpLoginIn(BaseModel):
    challenge_id: str
    signature: str


@router.post("/challenge", response_model=ChallengeOut)
async def challenge(s: AsyncSession = Depends(session, scope="function")) -> ChallengeOut:
    """Login by ЭЦП, step 1: a one-time challenge, valid for five minutes."""
    now = utcnow()
    c = AuthChallenge(challenge_id=str(uuid.uuid4()), nonce=secrets.token_urlsafe(32), created_at=now,
                      expires_at=now + timedelta(seconds=CHALLENGE_SECONDS))
    s.add(c)
    return ChallengeOut(challenge_id=c.challenge_id, nonce=c.nonce, expires_in=CHALLENGE_SECONDS,
                        sign={"challenge_id": c.challenge_id, "nonce": c.nonce})


@router.post("/token/ecp", response_model=TokenOut)
async def token_ecp(body: EcpLoginIn, request: Request,
                    s: AsyncSession = Depends(session, scope="function")) -> TokenOut:
    """Login by ЭЦП, step 2: the challenge signed with an AUTH certificate (a SIGN key is refused
    with ECP_WRONG_KEY_USAGE). An individual's certificate opens the IIN's cabinet; an employee's
    certificate opens the organisation's (BIN) cabinet. The account must be registered."""
    c = await s.get(AuthChallenge, body.challenge_id)
    now = utcnow()
    if c is None or c.used_at is not None or c.expires_at < now:
        raise ApiError("AUTH_FAILED", detail="unknown, used or expired challenge")
    c.used_at = now
    try:
        report = request.app.state.rt.trust.verify(
            body.signature, canonical({"challenge_id": c.challenge_id, "nonce": c.nonce}), usage="auth")
    except SignatureError as exc:
        raise ApiError(exc.code, step="process 2", detail=exc.detail)
    holder = report.signer.bin or report.signer.iin
    user = await s.get(User, holder) if holder else None
    if user is None:
        raise ApiError("AUTH_FAILED", detail="no registered account for the certificate's IIN/BIN")
    return TokenOut(**request.app.state.tokens.issue(user.iin_bin, kind=user.kind, by="ecp"))
