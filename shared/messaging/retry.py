"""The one retry policy: exponential backoff with jitter, for everything that waits out an outage.

Used by the outbox relays (gateway unreachable, 5xx, a retryable refusal such as the НУЦ being
down), by the gateway's redelivery of unconfirmed messages and by the consumers' reconnects.
Delays double from ``base`` up to ``cap``; each is drawn uniformly from its upper half
("equal jitter"), so that many waiting clients do not come back at the same instant, while a
delay never drops below half its nominal value.
"""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5
    cap: float = 30.0

    def nominal(self, attempt: int) -> float:
        """The delay before try ``attempt + 1`` after ``attempt`` failures (attempt ≥ 1), without jitter."""
        return min(self.cap, self.base * 2 ** max(0, min(attempt - 1, 62)))

    def delay(self, attempt: int, *, at_least: float = 0.0) -> float:
        """The delay with jitter; never shorter than ``at_least`` (e.g. the peer's Retry-After)."""
        nominal = self.nominal(attempt)
        return max(at_least, random.uniform(nominal / 2, nominal))
