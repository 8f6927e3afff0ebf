"""The one working-time calendar for every deadline (REFERENCE.md §6).

* Time zone Asia/Almaty. All inputs must be timezone-aware; results are in Almaty time.
* Working days: Monday–Friday, minus Kazakhstan public holidays as listed by the
  ``holidays`` package (``holidays.country_holidays("KZ")``: includes the
  "observed" Monday when a holiday falls on a weekend, and the government
  day-off transfers it knows, both the day off and the weekend day worked
  instead — see ``weekend_workdays``), corrected by the override tables below.
* Working hours 09:00–13:00 and 14:00–18:00 (lunch 13:00–14:00): 8 hours a day.

Adding a year
-------------
1. Print what the package knows: ``print(sorted(holidays.KZ(years=2027).items()))``.
   The package also lists Kurban Ait by an *estimated* date for years it has not
   confirmed.
2. Compare with the government decree on moving days off for that year
   ("О переносе выходных дней", adilet.zan.kz) and the actual Kurban Ait date.
3. Put each missing day off in :data:`EXTRA_DAYS_OFF` and each weekend day made a
   working day in :data:`EXTRA_WORKING_DAYS`, with the decree as the reason.
   (A wrong estimated date: the real date in ``EXTRA_DAYS_OFF``, the estimated
   one in ``EXTRA_WORKING_DAYS``.) Upgrading ``holidays`` may make entries redundant;
   they stay harmless. The tables win over the package.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import holidays

ALMATY = ZoneInfo("Asia/Almaty")

#: Working periods of a working day (local time): before and after lunch.
WORK_PERIODS: tuple[tuple[time, time], ...] = ((time(9), time(13)), (time(14), time(18)))
DAY_START, DAY_END = WORK_PERIODS[0][0], WORK_PERIODS[-1][1]

#: Days off the ``holidays`` package lacks (date -> reason, e.g. the decree).
EXTRA_DAYS_OFF: dict[date, str] = {}
#: Weekend days (or package holidays) that are working days by a transfer decree.
EXTRA_WORKING_DAYS: dict[date, str] = {}

UNITS = ("minutes", "hours", "working_days")


# --- clocks ------------------------------------------------------------------------


@runtime_checkable
class Clock(Protocol):
    """Source of the current time; always timezone-aware."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, in Almaty time."""

    def __init__(self, tz: ZoneInfo = ALMATY):
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FrozenClock:
    """A clock that stands still until told otherwise (for tests)."""

    def __init__(self, dt: datetime):
        self.set(dt)

    def now(self) -> datetime:
        return self._now

    def set(self, dt: datetime) -> None:
        _require_aware(dt)
        self._now = dt

    def advance(self, delta: timedelta) -> datetime:
        self._now = self._now + delta
        return self._now


def _require_aware(dt: datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")


# --- calendar ----------------------------------------------------------------------


@lru_cache(maxsize=None)
def _kz_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("KZ", years=year)


class WorkCalendar:
    """Working days and hours of Kazakhstan's public offices (ЦОН)."""

    def __init__(self, tz: ZoneInfo = ALMATY):
        self.tz = tz

    def is_working_day(self, d: date) -> bool:
        if d in EXTRA_WORKING_DAYS:
            return True
        if d in EXTRA_DAYS_OFF:
            return False
        kz = _kz_holidays(d.year)
        if d.weekday() >= 5:  # Saturday, Sunday: working only by a transfer
            return d in getattr(kz, "weekend_workdays", ())
        return d not in kz

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        d -= timedelta(days=1)
        while not self.is_working_day(d):
            d -= timedelta(days=1)
        return d

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def _local(self, dt: datetime) -> datetime:
        _require_aware(dt)
        return dt.astimezone(self.tz)

    def _periods_from(self, t: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods from ``t`` on (the first one clipped to start at ``t``)."""
        d = t.date()
        while True:
            if self.is_working_day(d):
                for a, b in WORK_PERIODS:
                    start = datetime.combine(d, a, self.tz)
                    end = datetime.combine(d, b, self.tz)
                    if end > t:
                        yield max(start, t), end
            d += timedelta(days=1)

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """``start`` plus ``minutes`` of working time.

        A start outside working time begins at the next working moment. A result
        that lands on the end of a period stays there (17:00 + 60 min = 18:00).
        Examples: Friday 17:50 + 15 = next working day 09:05; 12:55 + 15 = 14:10.
        """
        if minutes < 0:
            raise ValueError("minutes must be non-negative")
        remaining = timedelta(minutes=minutes)
        for a, b in self._periods_from(self._local(start)):
            if remaining <= b - a:
                return a + remaining
            remaining -= b - a
        raise AssertionError("unreachable")

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        return self.add_working_minutes(start, hours * 60)

    def add_working_days(
        self, start: datetime, days: int, *, skip_day_of_receipt: bool = False
    ) -> datetime:
        """Deadline of "within ``days`` working days" for a request received at ``start``.

        The *day of receipt* is the date of ``start`` when that is a working day
        and ``start`` is before 18:00; a request received later (evening, weekend,
        holiday) counts as received on the next working day.

        * ``skip_day_of_receipt=False``: the day of receipt is working day 1.
        * ``skip_day_of_receipt=True`` ("the day of receipt is not counted"):
          working day 1 is the first working day after the day of receipt.

        The deadline is 18:00 of working day ``days``. Examples (February 2026):
        received Monday 2 Feb 10:00, 1 day -> Mon 2 Feb 18:00, with skip -> Tue
        3 Feb 18:00; received Friday 6 Feb 19:00, 1 day -> Mon 9 Feb 18:00, with
        skip -> Tue 10 Feb 18:00.
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        t = self._local(start)
        d = t.date()
        if not (self.is_working_day(d) and t.time() < DAY_END):
            d = self.next_working_day(d)
        if skip_day_of_receipt:
            d = self.next_working_day(d)
        for _ in range(days - 1):
            d = self.next_working_day(d)
        return datetime.combine(d, DAY_END, self.tz)

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Whole working minutes from ``a`` to ``b`` (negative if ``b`` is earlier)."""
        a, b = self._local(a), self._local(b)
        if b < a:
            return -self.working_minutes_between(b, a)
        total = timedelta()
        for s, e in self._periods_from(a):
            if s >= b:
                break
            total += min(e, b) - s
        return total // timedelta(minutes=1)

    def deadline(
        self, start: datetime, amount: int, unit: str, *, skip_day_of_receipt: bool = False
    ) -> datetime:
        """Dispatch on ``unit`` ("minutes", "hours", "working_days").

        ``skip_day_of_receipt`` only affects "working_days".
        """
        if unit == "minutes":
            return self.add_working_minutes(start, amount)
        if unit == "hours":
            return self.add_working_hours(start, amount)
        if unit == "working_days":
            return self.add_working_days(start, amount, skip_day_of_receipt=skip_day_of_receipt)
        raise ValueError(f"unknown deadline unit {unit!r}; expected one of {UNITS}")


#: The shared calendar instance.
CALENDAR = WorkCalendar()


def deadline(start: datetime, amount: int, unit: str, *, skip_day_of_receipt: bool = False) -> datetime:
    """:meth:`WorkCalendar.deadline` on the shared :data:`CALENDAR`."""
    return CALENDAR.deadline(start, amount, unit, skip_day_of_receipt=skip_day_of_receipt)
