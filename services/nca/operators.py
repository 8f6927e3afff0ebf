"""The CA operator: who may issue and revoke through the nca API.

The bootstrap (``egov up``, the test fixtures) makes the operator's password once, in
``<data dir>/secrets/nca-operator.password`` (mode 0600), and stores its argon2 hash in the
nca database (:func:`seed`). ``egov pki issue|revoke`` read the file and send HTTP Basic
credentials ``nca-operator:<password>``. The nca never sees the file.

:func:`authenticate` refuses with 401 ``CA_AUTH_FAILED`` (no, malformed or wrong credentials)
and, after ``nca_max_failed_logins`` failures in a row, locks the operator for
``nca_lockout_seconds`` (429 ``CA_AUTH_LOCKED``, even with the right password). argon2 runs in
a worker thread and outside any database transaction.
"""
from __future__ import annotations

import asyncio
import os
import secrets
from datetime import timedelta
from pathlib import Path

from shared.auth import VerifiedPasswords, hash_password, verify_password
from shared.db import Database, utcnow
from shared.errors import ApiError

from . import registry

#: the operator's user name (HTTP Basic)
OPERATOR = "nca-operator"
#: longer credentials are refused before any work is done
_MAX_PASSWORD = 1024


def password_path(data_dir: Path) -> Path:
    return Path(data_dir) / "secrets" / "nca-operator.password"


def ensure_password(data_dir: Path) -> str:
    """The operator's password, made on first use (``secrets/nca-operator.password``, 0600)."""
    path = password_path(data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_password(data_dir)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(24) + "\n")
    return read_password(data_dir)


def read_password(data_dir: Path) -> str:
    """The operator's password (FileNotFoundError when the bootstrap has not made it)."""
    return password_path(data_dir).read_text().strip()


async def seed(session, password: str, username: str = OPERATOR) -> bool:
    """Store the argon2 hash of ``password`` for ``username``, unless the stored one already
    matches it; returns True when it wrote."""
    row = await registry.get_operator(session, username)
    if row is not None and await asyncio.to_thread(verify_password, row.password_hash, password):
        return False
    await registry.set_operator(session, username, await asyncio.to_thread(hash_password, password))
    return True


class Authenticator:
    """Checks operator credentials against the nca database, with lockout."""

    def __init__(self, db: Database, *, max_failed: int, lockout_seconds: int):
        self.db = db
        self.max_failed = max_failed
        self.lockout = timedelta(seconds=lockout_seconds)
        self.verified = VerifiedPasswords(size=64)

    async def authenticate(self, username: str | None, password: str | None) -> str:
        """The operator's name, or ApiError CA_AUTH_FAILED / CA_AUTH_LOCKED."""
        if not username or password is None or len(username) > 64 or len(password) > _MAX_PASSWORD:
            raise ApiError("CA_AUTH_FAILED", detail="CA operator credentials (HTTP Basic) required",
                           headers=CHALLENGE)
        async with self.db.session() as s:
            row = await registry.get_operator(s, username)
            state = None if row is None else (row.password_hash, row.locked_until, row.failed_logins)
        if state is None:
            raise ApiError("CA_AUTH_FAILED", detail="unknown CA operator", headers=CHALLENGE)
        hashed, locked_until, failed = state
        if locked_until is not None and locked_until > utcnow():
            raise ApiError("CA_AUTH_LOCKED", detail=f"locked until {locked_until.isoformat()}")
        ok = await self.verified.check(hashed, password, who=username)  # argon2 in a thread, once
        if ok and not failed and locked_until is None:
            return username
        async with self.db.session() as s:
            if ok:
                await registry.operator_succeeded(s, username)
            else:
                await registry.operator_failed(s, username, max_failed=self.max_failed, lockout=self.lockout)
        if not ok:
            raise ApiError("CA_AUTH_FAILED", detail="wrong CA operator password", headers=CHALLENGE)
        return username


#: the challenge a 401 carries
CHALLENGE = {"WWW-Authenticate": 'Basic realm="egov-sim nca", charset="UTF-8"'}
