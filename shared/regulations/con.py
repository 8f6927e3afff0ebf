"""The ЦОН desk as data: ``regulations/con.toml`` — the organisation (its BIN: ИС ГБД ЕЛ accepts the
signature of its operators in place of the applicant's), its offices, its demo operators and the
time limits the seeds give the desk (docs/con.md)."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

from shared.iin import validate_iin, validate_iin_or_bin

from .location import regulations_dir


@dataclass(frozen=True)
class ConDesk:
    bin: str
    name_ru: str
    name_kk: str
    offices: dict[str, dict]
    operators: tuple[dict, ...]
    limits: tuple[dict, ...]
    #: as ГБД ЮЛ records the organisation: its head {iin, full_name} and address
    head: dict | None = None
    address: str = ""

    def limits_for(self, region: str) -> list[dict]:
        return [dict(x) for x in self.limits if x["region"] == region]

    def limit(self, region: str, kind: str) -> dict | None:
        return next((dict(x) for x in self.limits if x["region"] == region and x["kind"] == kind), None)


@cache
def con() -> ConDesk:
    raw = tomllib.loads((regulations_dir() / "con.toml").read_text(encoding="utf-8"))
    org = raw["organisation"]
    validate_iin_or_bin(org["bin"])
    for item in raw.get("limits", []) + raw.get("offices", []) + raw.get("operators", []):
        src = item.get("source", "")
        if not (src == "simulator" or src.startswith("seed ")):
            raise ValueError(f"con.toml: {item} has no source")
    for o in raw.get("operators", []) + ([org["head"]] if "head" in org else []):
        validate_iin(o["iin"])
    return ConDesk(bin=org["bin"], name_ru=org["name_ru"], name_kk=org["name_kk"],
                   offices={o["region"]: dict(o) for o in raw.get("offices", [])},
                   operators=tuple(dict(o) for o in raw.get("operators", [])),
                   limits=tuple(dict(x) for x in raw.get("limits", [])),
                   head=dict(org["head"]) if "head" in org else None, address=org.get("address", ""))
