"""Registration, login by IIN/BIN and password, and login by ЭЦП (portal flow: process 1,
condition 1, process 2)."""
from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import client_address
from shared.auth import hash_password
from shared.db import utcnow
from shared.envelope import canonical
from shared.errors import ApiError
from shared.iin import validate_iin_or_bin
from shared.pki.cms import SignatureError
from shared.app import SIGNATURE_CODES, JCSRoute, error_responses

from . import repository
from .deps import session
from .models import AuthChallenge, User

CHALLENGE_SECONDS = 300

router = APIRouter(route_class=JCSRoute, prefix="/api/v1/auth", tags=["auth"])


class RegisterIn(BaseModel):
    iin_bin: str = Field(examples=["860717450455"], min_length=12, max_length=12)
    password: str = Field(min_length=8, max_length=128)
    full_name: str | None = Field(None, max_length=255)
    email: str | None = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=32)


class RegisterOut(BaseModel):
    iin_bin: str
    kind: str


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


@router.post("/register", status_code=201, response_model=RegisterOut, summary="Register an applicant",
             responses=error_responses("IIN_BIN_INVALID", "ALREADY_REGISTERED", "RATE_LIMITED", "VALIDATION_ERROR"))
async def register(body: RegisterIn, request: Request) -> RegisterOut:
    """Register an applicant. 422 IIN_BIN_INVALID (checksum, date, type digits), 409 ALREADY_REGISTERED,
    429 RATE_LIMITED (too many registrations from one address)."""
    kind = validate_iin_or_bin(body.iin_bin)
    await request.app.state.registrations.hit(client_address(request))
    password_hash = await asyncio.to_thread(hash_password, body.password)  # argon2: off the event loop
    async with request.app.state.rt.db.session() as s:
        if await repository.user(s, body.iin_bin) is not None:
            raise ApiError("ALREADY_REGISTERED")
        s.add(User(iin_bin=body.iin_bin, kind=kind, password_hash=password_hash,
                   full_name=body.full_name, email=body.email, phone=body.phone))
    return RegisterOut(iin_bin=body.iin_bin, kind=kind)


@router.post("/token", response_model=TokenOut, summary="Log in by IIN/BIN and password (OAuth2 password form)",
             responses=error_responses("AUTH_FAILED", "AUTH_LOCKED", "VALIDATION_ERROR"))
async def token(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> TokenOut:
    """OAuth2 password form: username = IIN/BIN. 401 AUTH_FAILED ("process 2"), the same answer in
    the same time whether or not the account exists; after repeated failures the account (or the
    client address) is locked for a while: 429 AUTH_LOCKED with Retry-After."""
    async with request.app.state.rt.db.read() as s:
        user = await repository.user(s, form.username[:64])
    if not await request.app.state.login.check(form.username[:64], client_address(request),
                                               user.password_hash if user else None, form.password):
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


@router.post("/challenge", response_model=ChallengeOut, summary="Login by ЭЦП, step 1: a one-time challenge")
async def challenge(s: AsyncSession = Depends(session, scope="function")) -> ChallengeOut:
    """Login by ЭЦП, step 1: a one-time challenge, valid for five minutes."""
    now = utcnow()
    c = AuthChallenge(challenge_id=str(uuid.uuid4()), nonce=secrets.token_urlsafe(32), created_at=now,
                      expires_at=now + timedelta(seconds=CHALLENGE_SECONDS))
    s.add(c)
    return ChallengeOut(challenge_id=c.challenge_id, nonce=c.nonce, expires_in=CHALLENGE_SECONDS,
                        sign={"challenge_id": c.challenge_id, "nonce": c.nonce})


@router.post("/token/ecp", response_model=TokenOut, summary="Login by ЭЦП, step 2: the challenge signed with an AUTH key",
             responses=error_responses("AUTH_FAILED", *SIGNATURE_CODES, "VALIDATION_ERROR"))
async def token_ecp(body: EcpLoginIn, request: Request) -> TokenOut:
    """Login by ЭЦП, step 2: the challenge signed with an AUTH certificate (a SIGN key is refused
    with ECP_WRONG_KEY_USAGE). An individual's certificate opens the IIN's cabinet; an employee's
    certificate opens the organisation's (BIN) cabinet. The account must be registered. The
    signature is checked before the challenge is spent, outside any transaction."""
    db = request.app.state.rt.db
    async with db.read() as s:
        c = await repository.challenge(s, body.challenge_id)
    if c is None or c.used_at is not None or c.expires_at < utcnow():
        raise ApiError("AUTH_FAILED", detail="unknown, used or expired challenge")
    try:
        report = await request.app.state.rt.trust.verify(
            body.signature, canonical({"challenge_id": c.challenge_id, "nonce": c.nonce}), usage="auth")
    except SignatureError as exc:
        raise ApiError(exc.code, step="process 2", detail=exc.detail)
    holder = report.signer.bin or report.signer.iin
    async with db.session() as s:
        c = await repository.challenge(s, body.challenge_id)
        if c.used_at is not None:  # spent by a concurrent login meanwhile
            raise ApiError("AUTH_FAILED", detail="unknown, used or expired challenge")
        c.used_at = utcnow()
        user = await repository.user(s, holder) if holder else None
    if user is None:
        raise ApiError("AUTH_FAILED", detail="no registered account for the certificate's IIN/BIN")
    return TokenOut(**request.app.state.tokens.issue(user.iin_bin, kind=user.kind, by="ecp"))
