"""The registries' demo records, consistent with the demo people ``egov up`` seeds (egov/demo.py).

ГБД ФЛ: every demo applicant, the company's head, every provider operator, the ЦОН's operators and its
head (``regulations/con.toml``; birth date from the IIN); ГБД ЮЛ: the demo company, every provider and
the ЦОН (НАО «Правительство для граждан», whose BIN ИС ГБД ЕЛ trusts); ЕНИС: one power of attorney in
force (ТОО «Демо Транс» → СЕРИКОВА МАДИНА, S1 and S2) and one revoked (ИВАНОВА АЙГУЛЬ → СЕРИКОВА МАДИНА,
all services); ПШЭП: nothing (payments come from the portal and the ЦОН). Inserts what is missing; safe
to run again.
"""
from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from shared.iin import validate_iin
from shared.regulations import providers
from shared.regulations.con import con

from . import repository
from .models import Organisation, Person, PowerOfAttorney

DEMO_COMPANY_ADDRESS = "г. Алматы, Алмалинский район, ул. Толе би, д. 101, офис 12"

#: the ЕНИС demo records (numbers as a notary's register would give them)
POWERS_OF_ATTORNEY = [
    {"number": "2026-0001-N", "principal_iin_bin": "100340005775",
     "representative_iin": "921201450129", "scope": ["S1", "S2"], "valid_from": date(2026, 1, 15),
     "valid_until": date(2027, 12, 31), "revoked": False,
     "notary": "Нотариус г. Алматы Кенжебаева А. М., лицензия № 0001234"},
    {"number": "2025-0417-N", "principal_iin_bin": "860717450455", "representative_iin": "921201450129",
     "scope": ["all"], "valid_from": date(2025, 6, 1), "valid_until": date(2028, 6, 1), "revoked": True,
     "notary": "Нотариус г. Алматы Кенжебаева А. М., лицензия № 0001234"},
]

#: where each provider sits (its region's administrative centre)
REGION_SEATS = {"almaty": "г. Алматы, пл. Республики, д. 4", "mangistau": "Мангистауская область, г. Актау, 14 мкр., д. 1",
                "zhambyl": "Жамбылская область, г. Тараз, ул. Толе би, д. 35",
                "aktobe": "Актюбинская область, г. Актобе, пр. Абилкайыр хана, д. 40"}

_STREETS = ["пр. Абая", "ул. Сатпаева", "пр. Достык", "ул. Жандосова", "пр. Аль-Фараби", "ул. Манаса"]


def _split(full_name: str) -> tuple[str, str, str | None]:
    parts = full_name.split()
    return parts[0], parts[1] if len(parts) > 1 else parts[0], " ".join(parts[2:]) or None


def _stable(iin: str, mod: int) -> int:
    return int(hashlib.sha256(iin.encode()).hexdigest(), 16) % mod


def person_record(iin: str, full_name: str, city: str = "г. Алматы") -> dict:
    surname, name, patronymic = _split(full_name)
    return {"surname": surname, "name": name, "patronymic": patronymic, "birth_date": validate_iin(iin).birth_date,
            "document_number": f"0{_stable(iin, 10**8):08d}",
            "address": f"{city}, {_STREETS[_stable(iin, len(_STREETS))]}, д. {1 + _stable(iin[::-1], 150)}"}


def demo_people(applicants: list[dict], operators: list[dict]) -> dict[str, dict]:
    """IIN → ГБД ФЛ record, for every demo individual (applicants, a company's signer, operators)."""
    people: dict[str, dict] = {}
    for a in applicants:
        name = a.get("signer_name") or a["full_name"]
        people.setdefault(a["iin"], person_record(a["iin"], name))
    desk = con()
    for o in [*operators, *desk.operators, *([desk.head] if desk.head else [])]:
        people.setdefault(o["iin"], person_record(o["iin"], o["full_name"]))
    return people


def demo_organisations(applicants: list[dict], operators: list[dict]) -> dict[str, dict]:
    """BIN → ГБД ЮЛ record: the demo companies (their head is the certificate's signer) and the providers
    (their head is the provider's head operator, when there is one)."""
    orgs: dict[str, dict] = {}
    for a in applicants:
        if a["kind"] == "BIN":
            orgs[a["username"]] = {"name": a["full_name"], "head_iin": a["iin"],
                                   "head_name": a.get("signer_name") or a["full_name"],
                                   "address": DEMO_COMPANY_ADDRESS, "status": "ACTIVE"}
    for p in providers().values():
        head = next((o for o in operators if o.get("bin") == p.bin and "head" in o.get("roles", [])), None)
        if head is None:
            continue
        orgs.setdefault(p.bin, {"name": p.name_ru, "head_iin": head["iin"], "head_name": head["full_name"],
                                "address": REGION_SEATS.get(p.region, p.region), "status": "ACTIVE"})
    desk = con()
    if desk.head:
        orgs.setdefault(desk.bin, {"name": desk.name_ru, "head_iin": desk.head["iin"], "head_name": desk.head["full_name"],
                                   "address": desk.address, "status": "ACTIVE"})
    return orgs


async def seed(s: AsyncSession, applicants: list[dict], operators: list[dict]) -> None:
    for iin, rec in demo_people(applicants, operators).items():
        if await repository.person(s, iin) is None:
            s.add(Person(iin=iin, **rec))
    for bin_, rec in demo_organisations(applicants, operators).items():
        if await repository.organisation(s, bin_) is None:
            s.add(Organisation(bin=bin_, **rec))
    for rec in POWERS_OF_ATTORNEY:
        if await repository.power_of_attorney(s, rec["number"]) is None:
            s.add(PowerOfAttorney(**rec))
