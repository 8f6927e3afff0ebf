"""Working-time calendar (REFERENCE.md §6). Every expected time is hand-checked.

Reference weekdays used below:
  2026: Mon 2 Feb, Fri 6 Feb, Sat 7 Feb; Fri 20 Mar (Nauryz Sat 21 - Mon 23, observed Tue 24, Wed 25);
        Fri 8 May, Sat 9 May (Victory Day, observed Mon 11 May); Tue 15 Dec, Wed 16 Dec (Independence Day).
  2024: Fri 3 May, Sat 4 May (worked instead of Wed 8 May, a government transfer the package lists).
Working hours 09:00-13:00 and 14:00-18:00.
"""
from datetime import date, datetime, timedelta, timezone

import pytest

from shared import calendar as cal
from shared.calendar import ALMATY, CALENDAR, Clock, FrozenClock, SystemClock, WorkCalendar, deadline

C = WorkCalendar()


def at(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=ALMATY)


# --- working days ----------------------------------------------------------------


@pytest.mark.parametrize(
    "d,working",
    [
        (date(2026, 2, 2), True),  # ordinary Monday
        (date(2026, 2, 6), True),  # ordinary Friday
        (date(2026, 2, 7), False),  # Saturday
        (date(2026, 2, 8), False),  # Sunday
        (date(2026, 12, 16), False),  # Independence Day (Wednesday)
        (date(2026, 12, 17), True),  # Thursday after it
        (date(2026, 3, 23), False),  # Nauryz, Monday
        (date(2026, 3, 24), False),  # Nauryz 21 Mar (Sat) moved to Tuesday
        (date(2026, 3, 25), False),  # Nauryz 22 Mar (Sun) moved to Wednesday
        (date(2026, 3, 26), True),
        (date(2026, 5, 11), False),  # Victory Day on Saturday 9 May -> Monday 11 May
        (date(2026, 10, 26), False),  # Republic Day on Sunday 25 Oct -> Monday 26 Oct
        (date(2027, 1, 4), False),  # 2 Jan 2027 (Saturday) -> Monday 4 Jan
        (date(2024, 5, 8), False),  # 2024 transfer: Wednesday 8 May a day off ...
        (date(2024, 5, 4), True),  # ... worked on Saturday 4 May instead
    ],
)
def test_is_working_day(d, working):
    assert C.is_working_day(d) is working


@pytest.fixture
def test_transfer(monkeypatch):
    """A clearly fictitious transfer, for the override tables only:
    Friday 6 Feb 2026 a day off, Saturday 7 Feb 2026 worked instead."""
    monkeypatch.setitem(cal.EXTRA_DAYS_OFF, date(2026, 2, 6), "TEST ONLY: fictitious transfer")
    monkeypatch.setitem(cal.EXTRA_WORKING_DAYS, date(2026, 2, 7), "TEST ONLY: fictitious transfer")


def test_override_tables(test_transfer):
    assert not C.is_working_day(date(2026, 2, 6))
    assert C.is_working_day(date(2026, 2, 7))
    # Thu 5 Feb 17:50 + 15 min: 10 min on Thursday, Friday off, 5 min on the
    # working Saturday -> Sat 09:05.
    assert C.add_working_minutes(at(2026, 2, 5, 17, 50), 15) == at(2026, 2, 7, 9, 5)
    # Received Thu 5 Feb 10:00, day of receipt not counted, 1 day: Friday is off,
    # so working day 1 is Saturday 7 Feb -> 18:00.
    assert C.add_working_days(at(2026, 2, 5, 10), 1, skip_day_of_receipt=True) == at(2026, 2, 7, 18)


def test_override_tables_are_empty_by_default():
    # Nothing is needed yet for the years the installed package covers; entries
    # must carry a reason.
    assert all(isinstance(r, str) and r for r in cal.EXTRA_DAYS_OFF.values())
    assert all(isinstance(r, str) and r for r in cal.EXTRA_WORKING_DAYS.values())


# --- working minutes and hours ---------------------------------------------------


@pytest.mark.parametrize(
    "start,minutes,expected,why",
    [
        (at(2026, 2, 6, 17, 50), 15, at(2026, 2, 9, 9, 5), "10 min Friday, weekend, 5 min Monday"),
        (at(2026, 2, 2, 12, 55), 15, at(2026, 2, 2, 14, 10), "5 min before lunch, 10 after"),
        (at(2026, 2, 2, 13, 20), 10, at(2026, 2, 2, 14, 10), "start in lunch -> 14:00 + 10"),
        (at(2026, 2, 2, 12, 50), 10, at(2026, 2, 2, 13, 0), "ends exactly at lunch"),
        (at(2026, 2, 2, 17, 0), 60, at(2026, 2, 2, 18, 0), "ends exactly at 18:00, stays that day"),
        (at(2026, 2, 2, 9, 0), 480, at(2026, 2, 2, 18, 0), "a full 8-hour day"),
        (at(2026, 2, 2, 9, 0), 481, at(2026, 2, 3, 9, 1), "one minute past a full day"),
        (at(2026, 2, 2, 7, 0), 30, at(2026, 2, 2, 9, 30), "07:00 -> starts 09:00"),
        (at(2026, 2, 3, 20, 0), 30, at(2026, 2, 4, 9, 30), "20:00 Tue -> starts Wed 09:00"),
        (at(2026, 2, 7, 10, 0), 30, at(2026, 2, 9, 9, 30), "Saturday -> starts Mon 09:00"),
        (at(2026, 2, 6, 18, 0), 0, at(2026, 2, 9, 9, 0), "0 min from Fri 18:00 = next working moment"),
        (at(2026, 12, 15, 17, 0), 120, at(2026, 12, 17, 10, 0), "60 Tue, Wed 16 Dec holiday, 60 Thu"),
        (at(2026, 3, 20, 17, 30), 60, at(2026, 3, 26, 9, 30), "30 Fri, Nauryz Sat-Wed off, 30 Thu"),
        (at(2026, 5, 8, 17, 0), 120, at(2026, 5, 12, 10, 0), "60 Fri, Sat-Sun, Mon 11 observed, 60 Tue"),
    ],
)
def test_add_working_minutes(start, minutes, expected, why):
    assert C.add_working_minutes(start, minutes) == expected, why


def test_add_working_hours():
    # Mon 10:00 + 8 h: 10-13 (3 h) + 14-18 (4 h) = 7 h, 1 h left -> Tue 10:00.
    assert C.add_working_hours(at(2026, 2, 2, 10), 8) == at(2026, 2, 3, 10)
    # Fri 15:00 + 4 h: 3 h on Friday, 1 h on Monday -> Mon 10:00.
    assert C.add_working_hours(at(2026, 2, 6, 15), 4) == at(2026, 2, 9, 10)


def test_negative_minutes_rejected():
    with pytest.raises(ValueError):
        C.add_working_minutes(at(2026, 2, 2, 10), -1)


@pytest.mark.parametrize(
    "a,b,minutes",
    [
        (at(2026, 2, 6, 17, 50), at(2026, 2, 9, 9, 5), 15),  # 10 Friday + 5 Monday
        (at(2026, 2, 2, 9, 0), at(2026, 2, 2, 18, 0), 480),  # full day
        (at(2026, 2, 2, 12, 0), at(2026, 2, 2, 15, 0), 120),  # 12-13 and 14-15, lunch excluded
        (at(2026, 2, 7, 8, 0), at(2026, 2, 8, 20, 0), 0),  # the whole weekend
        (at(2026, 12, 15, 9, 0), at(2026, 12, 17, 9, 0), 480),  # Tue only; Wed is a holiday
        (at(2026, 2, 2, 15, 0), at(2026, 2, 2, 12, 0), -120),  # reversed
    ],
)
def test_working_minutes_between(a, b, minutes):
    assert C.working_minutes_between(a, b) == minutes


@pytest.mark.parametrize("minutes", [0, 1, 15, 239, 240, 479, 480, 481, 2000, 10_000])
@pytest.mark.parametrize("start", [at(2026, 2, 2, 12, 55), at(2026, 3, 20, 17, 30), at(2026, 12, 15, 9)])
def test_add_and_between_agree(start, minutes):
    assert C.working_minutes_between(start, C.add_working_minutes(start, minutes)) == minutes


# --- working days ----------------------------------------------------------------


@pytest.mark.parametrize(
    "start,days,skip,expected,why",
    [
        # Monday 10:00 receipt: Monday is working day 1 when counted, Tuesday when not.
        (at(2026, 2, 2, 10), 1, False, at(2026, 2, 2, 18), "receipt day counted = day 1"),
        (at(2026, 2, 2, 10), 1, True, at(2026, 2, 3, 18), "receipt day not counted"),
        (at(2026, 2, 2, 10), 5, False, at(2026, 2, 6, 18), "Mon..Fri"),
        (at(2026, 2, 2, 10), 5, True, at(2026, 2, 9, 18), "Tue..Fri, weekend, Mon"),
        # 07:00 on a working day is still before 18:00: that day counts.
        (at(2026, 2, 2, 7), 1, False, at(2026, 2, 2, 18), "early receipt"),
        # 18:00 sharp is after hours: received on Tuesday.
        (at(2026, 2, 2, 18), 1, False, at(2026, 2, 3, 18), "18:00 = after hours"),
        (at(2026, 2, 2, 18), 1, True, at(2026, 2, 4, 18), "after hours, not counted"),
        # Friday 20:00: received Monday 9 Feb.
        (at(2026, 2, 6, 20), 1, False, at(2026, 2, 9, 18), "Friday evening -> Monday"),
        (at(2026, 2, 6, 20), 1, True, at(2026, 2, 10, 18), "Friday evening, not counted -> Tuesday"),
        # Saturday: received Monday 9 Feb.
        (at(2026, 2, 7, 10), 2, False, at(2026, 2, 10, 18), "Sat -> Mon=1, Tue=2"),
        # Tue 15 Dec: Tue=1, Wed 16 holiday, Thu=2 / not counted: Thu=1, Fri=2.
        (at(2026, 12, 15, 10), 2, False, at(2026, 12, 17, 18), "Independence Day skipped"),
        (at(2026, 12, 15, 10), 2, True, at(2026, 12, 18, 18), "Independence Day skipped, not counted"),
        # Fri 20 Mar, not counted: Sat 21..Wed 25 off, Thu 26=1, Fri 27=2, Mon 30=3.
        (at(2026, 3, 20, 11), 3, True, at(2026, 3, 30, 18), "Nauryz"),
        # Fri 8 May, not counted: Sat 9, Sun 10, Mon 11 (Victory Day observed) off -> Tue 12.
        (at(2026, 5, 8, 11), 1, True, at(2026, 5, 12, 18), "holiday moved from Saturday to Monday"),
        # Fri 3 May 2024, not counted: Saturday 4 May 2024 was a working day (transfer).
        (at(2024, 5, 3, 11), 1, True, at(2024, 5, 4, 18), "package-listed working Saturday"),
        # Tue 7 May 2024 (holiday) receipt -> Thu 9 holiday too, Wed 8 transferred day off -> Fri 10.
        (at(2024, 5, 7, 11), 1, False, at(2024, 5, 10, 18), "7, 8, 9 May 2024 all off"),
    ],
)
def test_add_working_days(start, days, skip, expected, why):
    assert C.add_working_days(start, days, skip_day_of_receipt=skip) == expected, why


def test_add_working_days_rejects_zero():
    with pytest.raises(ValueError):
        C.add_working_days(at(2026, 2, 2, 10), 0)


# --- dispatch, time zones, clocks ------------------------------------------------


def test_deadline_dispatch():
    s = at(2026, 2, 6, 17, 50)
    assert deadline(s, 15, "minutes") == at(2026, 2, 9, 9, 5)
    assert deadline(s, 1, "hours") == at(2026, 2, 9, 9, 50)  # 10 min Fri + 50 min Mon
    assert deadline(s, 1, "working_days") == at(2026, 2, 6, 18)
    assert deadline(s, 1, "working_days", skip_day_of_receipt=True) == at(2026, 2, 9, 18)
    assert CALENDAR.deadline(s, 15, "minutes") == deadline(s, 15, "minutes")
    with pytest.raises(ValueError):
        deadline(s, 1, "weeks")


def test_other_time_zones_are_converted():
    # Almaty is UTC+5 since 1 March 2024: 04:00 UTC = 09:00 Almaty.
    start = datetime(2026, 2, 2, 4, 0, tzinfo=timezone.utc)
    result = C.add_working_minutes(start, 60)
    assert result == at(2026, 2, 2, 10, 0)
    assert result.tzinfo == ALMATY
    # 13:30 UTC Monday = 18:30 Almaty: after hours, received Tuesday.
    assert C.add_working_days(datetime(2026, 2, 2, 13, 30, tzinfo=timezone.utc), 1) == at(2026, 2, 3, 18)


def test_naive_datetimes_rejected():
    with pytest.raises(ValueError):
        C.add_working_minutes(datetime(2026, 2, 2, 10), 15)
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 2, 2, 10))


def test_frozen_clock():
    clock = FrozenClock(at(2026, 2, 2, 10))
    assert isinstance(clock, Clock)
    assert clock.now() == at(2026, 2, 2, 10)
    assert clock.advance(timedelta(hours=2)) == at(2026, 2, 2, 12)
    assert clock.now() == at(2026, 2, 2, 12)
    clock.set(at(2027, 1, 1))
    assert clock.now() == at(2027, 1, 1)


def test_system_clock():
    clock = SystemClock()
    assert isinstance(clock, Clock)
    now = clock.now()
    assert now.tzinfo == ALMATY
    assert abs(now - datetime.now(timezone.utc)) < timedelta(seconds=5)
