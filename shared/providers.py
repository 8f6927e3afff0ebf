"""Service providers (услугодатели) — reference data every system agrees on.

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
}


def provider_by_bin(bin_: str) -> Provider | None:
    return next((p for p in PROVIDERS.values() if p.bin == bin_), None)
