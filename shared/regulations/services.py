"""The services (государственные услуги): ``regulations/services/<code>.toml`` with the form's JSON
Schema and an example beside it. What the seeds do not give (the Стандарт with the documents of п. 9
and the fee is not among them) is the simulator's choice and says so: ``source = "simulator"``."""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache

from .location import regulations_dir
from .processes import SOURCE_RE


@dataclass(frozen=True)
class Document:
    code: str
    title_ru: str
    title_kk: str
    required: bool
    source: str

    def public(self) -> dict:
        return {"code": self.code, "title_ru": self.title_ru, "title_kk": self.title_kk, "required": self.required,
                "source": self.source}


@dataclass(frozen=True)
class ServiceDef:
    code: str
    title_ru: str
    title_kk: str
    subtypes: tuple[str, ...]
    fee_mrp: float
    fee_source: str
    documents: tuple[Document, ...]
    form_schema: dict
    example: dict

    @property
    def paid(self) -> bool:
        return self.fee_mrp > 0


def _load(path) -> ServiceDef:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    folder = path.parent
    svc = ServiceDef(
        code=raw["code"], title_ru=raw["title_ru"], title_kk=raw["title_kk"], subtypes=tuple(raw["subtypes"]),
        fee_mrp=float(raw["fee"]["mrp"]), fee_source=raw["fee"]["source"],
        documents=tuple(Document(**d) for d in raw.get("documents", ())),
        form_schema=json.loads((folder / raw["form"]).read_text(encoding="utf-8")),
        example=json.loads((folder / raw["example"]).read_text(encoding="utf-8")),
    )
    for what, source in [("fee", svc.fee_source), *((f"document {d.code}", d.source) for d in svc.documents)]:
        if not SOURCE_RE.match(source):
            raise ValueError(f"{path.name}: {what}: source must be 'seed NNN п. N' or 'simulator', not {source!r}")
    if not svc.subtypes:
        raise ValueError(f"{path.name}: no subtypes")
    return svc


@cache
def services() -> dict[str, ServiceDef]:
    return {s.code: s for s in (_load(p) for p in sorted((regulations_dir() / "services").glob("*.toml")))}
