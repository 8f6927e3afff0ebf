"""Passwords (argon2) and bearer tokens (JWT, HS256) for portal users and operators."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


class VerifiedPasswords:
    """Remembers passwords already checked against a stored argon2 hash, so that a system
    calling the gateway many times a second pays argon2's deliberate cost (~0.1 s) once.
    Kept in memory only, as SHA-256 digests; a changed stored hash invalidates the entry."""

    def __init__(self, size: int = 1024):
        self.size = size
        self._ok: dict[tuple[str, str], bytes] = {}

    async def check(self, hashed: str, password: str, *, who: str) -> bool:
        """True when ``password`` matches; argon2 in a worker thread, the first time and whenever the
        password is wrong."""
        digest = hashlib.sha256(password.encode()).digest()
        known = self._ok.get((who, hashed))
        if known is not None and hmac.compare_digest(known, digest):  # the password matched before
            return True
        # a wrong password costs argon2 every time, whether or not the right one was seen before
        # (a fast "no" would tell a known account from an unknown one, which costs a dummy argon2)
        if not await asyncio.to_thread(verify_password, hashed, password):
            return False
        if len(self._ok) >= self.size:
            self._ok.clear()
        self._ok[(who, hashed)] = digest
        return True


def load_secret(path: Path) -> bytes:
    """The service's token key, made on first use (kept in the data dir, mode 0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(secrets.token_bytes(32))
        tmp.chmod(0o600)
        try:
            tmp.rename(path) if not path.exists() else tmp.unlink()
        except FileExistsError:
            tmp.unlink(missing_ok=True)
    return path.read_bytes()


class TokenIssuer:
    def __init__(self, secret: bytes, issuer: str, ttl_seconds: int = 3600):
        self.secret = secret
        self.issuer = issuer
        self.ttl = ttl_seconds

    def issue(self, subject: str, **claims) -> dict:
        now = datetime.now(timezone.utc)
        payload = {"sub": subject, "iss": self.issuer, "iat": now, "exp": now + timedelta(seconds=self.ttl), **claims}
        token = jwt.encode(payload, self.secret, algorithm="HS256")
        return {"access_token": token, "token_type": "bearer", "expires_in": self.ttl}

    def decode(self, token: str) -> dict | None:
        try:
            return jwt.decode(token, self.secret, algorithms=["HS256"], issuer=self.issuer)
        except jwt.PyJWTError:
            return None
