"""The ЦОН desk's logic on its own: its catalogue (what the ЦОН accepts) and its time limits as the
seeds give them, measured on the desk's clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.con import service
from shared.errors import ApiError

T0 = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def by_kind(entries: list[dict]) -> dict[str, dict]:
    return {e["kind"]: e for e in entries}


def test_the_catalogue_is_s1_and_s2_where_the_con_has_an_office():
    cat = {e["code"]: e for e in service.catalogue()}
    assert sorted(cat) == ["S1", "S2"]
    assert [v["region"] for v in cat["S1"]["variants"]] == ["mangistau", "zhambyl"]
    assert [v["region"] for v in cat["S2"]["variants"]] == ["almaty", "mangistau", "zhambyl"]
    s2 = cat["S2"]
    assert {d["code"] for d in s2["required_documents"] if d["required"]} == {"inspection_card", "vehicle_registration"}
    assert s2["form_schema"]["type"] == "object" and s2["example"] and s2["fee"]["tenge"] > 0
    almaty = next(v for v in s2["variants"] if v["region"] == "almaty")
    assert almaty["office"]["name_ru"].startswith("ЦОН") and almaty["desk_limits"][0]["minutes"] == 15
    with pytest.raises(ApiError) as info:  # Aktobe's services are the portal's only (seed 002)
        service.variant_of("S3", "aktobe")
    assert info.value.code == "SERVICE_UNKNOWN"


def test_almaty_limits_the_wait_in_the_queue_when_handing_in_the_package_only():
    # seed 001 п. 10: "Максимальное допустимое время ожидания в очереди при сдаче пакета документов в ЦОН – 15 минут"
    kept = by_kind(service.desk_times("almaty", "acceptance", queued_at=T0, started_at=minutes(14), now=minutes(40)))
    assert list(kept) == ["queue"]
    assert kept["queue"]["actual_minutes"] == 14 and kept["queue"]["within_limit"] is True
    over = by_kind(service.desk_times("almaty", "acceptance", queued_at=T0, started_at=minutes(16.5), now=minutes(17)))
    assert over["queue"]["actual_minutes"] == 16.5 and over["queue"]["within_limit"] is False
    assert "16.5 мин при норме 15 мин (seed 001 п. 10)" in service._over(list(over.values()))
    # no ticket called: nothing is measured, nothing claimed
    assert by_kind(service.desk_times("almaty", "acceptance", queued_at=None, started_at=T0, now=minutes(1)))[
        "queue"] == {"kind": "queue", "limit_minutes": 15, "title_ru": kept["queue"]["title_ru"],
                     "source": "seed 001 п. 10", "measured": False}
    assert service.desk_times("almaty", "handout", queued_at=T0, started_at=None, now=minutes(30)) == []


def test_zhambyl_limits_the_processing_at_the_desk_and_the_hand_out_to_20_minutes():
    # seed 003 п. 9 пп. 2), п. 10 пп. 2): the request processed at the ЦОН within 20 minutes — from the
    # operator's lookup to the receipt; the wait in the queue before it is not limited there
    at_desk = by_kind(service.desk_times("zhambyl", "acceptance", queued_at=T0, started_at=minutes(30), now=minutes(51)))
    assert list(at_desk) == ["acceptance"]
    assert at_desk["acceptance"]["actual_minutes"] == 21 and at_desk["acceptance"]["within_limit"] is False
    ok = by_kind(service.desk_times("zhambyl", "acceptance", queued_at=None, started_at=T0, now=minutes(19)))
    assert ok["acceptance"]["within_limit"] is True and service._over(list(ok.values())) is None
    # seed 003 п. 10: the ready documents handed out within 20 minutes — from the queue ticket
    out = by_kind(service.desk_times("zhambyl", "handout", queued_at=T0, started_at=None, now=minutes(25)))
    assert out["handout"]["actual_minutes"] == 25 and out["handout"]["within_limit"] is False
    assert by_kind(service.desk_times("zhambyl", "handout", queued_at=None, started_at=None, now=T0))[
        "handout"]["measured"] is False
    # Mangistau's regulation (seed 000) gives the desk no limit
    assert service.desk_times("mangistau", "acceptance", queued_at=T0, started_at=T0, now=minutes(90)) == []
