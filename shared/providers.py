"""Service providers (услугодатели) — reference data every system agrees on. The BINs are
made up (valid check digits); the names are the regulations' own.

The portal checks that a result is signed by someone with a signing right at the provider
of the request's service and region; provider_arm seeds its organisations from here.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    bin: str
    name_ru: str
    name_kk: str
    region: str


PROVIDERS: dict[str, Provider] = {
    "almaty-transport": Provider(
        bin="041140033217",
        name_ru='КГУ "Управление пассажирского транспорта города Алматы"',
        name_kk='"Алматы қаласының жолаушылар көлігі басқармасы" КММ',
        region="almaty",
    ),
    "mangistau-transport": Provider(
        bin="020540011879",
        name_ru='ГУ "Управление пассажирского транспорта и автомобильных дорог Мангистауской области"',
        name_kk='"Маңғыстау облысының жолаушылар көлігі және автомобиль жолдары басқармасы" ММ',
        region="mangistau",
    ),
    "zhambyl-transport": Provider(
        bin="060940022434",
        name_ru='КГУ "Управление строительства, пассажирского транспорта и автомобильных дорог акимата Жамбылской области"',
        name_kk='"Жамбыл облысы әкімдігінің құрылыс, жолаушылар көлігі және автомобиль жолдары басқармасы" КММ',
        region="zhambyl",
    ),
    "aktobe-construction": Provider(
        bin="110240035180",
        name_ru='ГУ "Управление государственного архитектурно-строительного контроля Актюбинской области"',
        name_kk='"Ақтөбе облысының мемлекеттік сәулет-құрылыс бақылауы басқармасы" ММ',
        region="aktobe",
    ),
}


def provider_by_bin(bin_: str) -> Provider | None:
    return next((p for p in PROVIDERS.values() if p.bin == bin_), None)
