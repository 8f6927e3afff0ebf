"""Rate limits and login lockout, one mechanism for every service (the ``limits`` library).

* :class:`Throttle` — "at most N per period" for a key (a sender, an applicant, a client
  address); over it, a retryable ``429 RATE_LIMITED`` with ``Retry-After``;
* :class:`LoginGuard` — failed logins counted per account and per client address: after too many,
  the account (or address) is refused with ``429 AUTH_LOCKED`` until the window passes, whether
  the password is right or not; and every check costs the same whether or not the account exists.

Counters live in memory by default (per process); ``EGOV_RATE_LIMIT_STORAGE=redis://host:6379``
shares them between processes and keeps them across restarts.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import cache

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from shared.auth import hash_password, verify_password
from shared.errors import ApiError

@cache
def _dummy_hash() -> str:
    """A hash to verify against when the account does not exist, so that both cost the same."""
    return hash_password("not-a-password-of-anyone")


async def verify_nobody(password: str) -> None:
    """The argon2 work of one password check, spent for an account that does not exist (or a call
    without a password), so that the answer takes as long as a wrong password for a real one."""
    await asyncio.to_thread(verify_password, _dummy_hash(), password)


def limiter(storage_url: str = "memory://") -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(f"async+{storage_url}"))


async def _retry_after(limiter: MovingWindowRateLimiter, item: RateLimitItem, *key: str) -> int:
    stats = await limiter.get_window_stats(item, *key)
    return max(1, int(stats.reset_time - time.time()) + 1)


@dataclass
class Throttle:
    """At most ``rate`` (a ``limits`` string: "20/second", "200/day") per key."""

    rate: str
    limiter: MovingWindowRateLimiter
    code: str = "RATE_LIMITED"

    def __post_init__(self) -> None:
        self.item = parse(self.rate)

    async def hit(self, *key: str, cost: int = 1) -> None:
        """Count one use; raises the (retryable, 429) refusal when over the rate."""
        if not await self.limiter.hit(self.item, *key, cost=cost):
            raise ApiError(self.code, detail=f"more than {self.rate}",
                           retry_after=await _retry_after(self.limiter, self.item, *key))


class LoginGuard:
    """Password checks with lockout. ``failures`` (e.g. "5/5minutes") per account, ``per_address``
    (e.g. "30/5minutes") failed attempts per client address, whatever the account."""

    def __init__(self, limiter: MovingWindowRateLimiter, *, failures: str = "5/5minutes",
                 per_address: str = "30/5minutes"):
        self.limiter = limiter
        self.account_item = parse(failures)
        self.address_item = parse(per_address)

    async def check(self, account: str, address: str, password_hash: str | None, password: str) -> bool:
        """True when the password matches the stored hash. Refuses with 429 AUTH_LOCKED before
        checking when the account or the address has failed too often. Argon2 runs in a worker
        thread, against a dummy hash when there is no account, so timing tells nothing."""
        await self.ensure_allowed(account, address)
        ok = await asyncio.to_thread(verify_password, password_hash or _dummy_hash(), password)
        ok = ok and password_hash is not None
        await (self.succeeded(account) if ok else self.failed(account, address))
        return ok

    async def ensure_allowed(self, account: str, address: str) -> None:
        """429 AUTH_LOCKED while the account or the address is locked out."""
        for item, key in ((self.account_item, ("account", account)), (self.address_item, ("address", address))):
            if not await self.limiter.test(item, *key):
                raise ApiError("AUTH_LOCKED", retry_after=await _retry_after(self.limiter, item, *key))

    async def failed(self, account: str, address: str) -> None:
        await self.limiter.hit(self.account_item, "account", account)
        await self.limiter.hit(self.address_item, "address", address)

    async def succeeded(self, account: str) -> None:
        await self.limiter.clear(self.account_item, "account", account)
