"""Service providers (услугодатели): ``regulations/providers.toml``. The names are the regulations'
own; the BINs are the simulator's (valid check digits).

The portal checks that a result is signed by someone with a signing right at the provider of the
request's service and region; provider_arm seeds its organisations from here.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

from shared.iin import validate_iin_or_bin

from .location import regulations_dir
from .processes import SOURCE_RE


@dataclass(frozen=True)
class Provider:
    key: str
    bin: str
    name_ru: str
    name_kk: str
    region: str
    #: the simulator's demo staff of the provider (``regulations/demo.toml``)
    operators: tuple[dict, ...] = ()


@cache
def providers() -> dict[str, Provider]:
    raw = tomllib.loads((regulations_dir() / "providers.toml").read_text(encoding="utf-8"))
    out = {}
    for key, p in raw.items():
        validate_iin_or_bin(p["bin"])
        for what in ("bin_source", "names_source"):
            if not SOURCE_RE.match(p.get(what, "")):
                raise ValueError(f"providers.toml: {key}: {what} must be 'seed NNN п. N' or 'simulator', "
                                 f"not {p.get(what, '')!r}")
        out[key] = Provider(key=key, bin=p["bin"], name_ru=p["name_ru"], name_kk=p["name_kk"], region=p["region"],
                            operators=tuple(dict(o) for o in p.get("operators", ())))
    return out


def provider_by_bin(bin_: str) -> Provider | None:
    return next((p for p in providers().values() if p.bin == bin_), None)
