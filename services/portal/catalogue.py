"""The portal's catalogue of services, read from the regulations (``shared.regulations``): titles,
regional variants, fees, documents, forms.

Each variant names its provider, the service deadlines — from its process definition, per subtype —
labelled *estimated* where the seed does not state them (they are then the sum of the step limits),
and the numbers of its regulation's portal-diagram boxes (they differ by region: the Almaty
regulation numbers the ЭЦП refusal "process 4", the Mangistau one "process 7"), so that every
refusal names the box of the regulation that applies.

Fees and the documents of п. 9 of the Стандарт are the SIMULATOR'S choice (the Стандарты are not
among the seeds), and the API says so (``source = "simulator"``). A re-issue or duplicate names the
existing licence (certificate) in ``form.licence_number``; ИС ГБД ЕЛ checks it (LICENCE_NOT_FOUND).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from shared import regulations
from shared.regulations import Process, Provider, ServiceDef

#: МРП (monthly calculation index) used by the ПШЭП imitation, tenge
MRP_TENGE = 4325

Limit = tuple[int, str]


@dataclass(frozen=True)
class Variant:
    process: Process
    provider: Provider

    @property
    def region(self) -> str:
        return self.process.region

    @property
    def steps(self) -> dict[str, str]:
        """The portal-diagram boxes of this regulation: refusal kind → "process N"."""
        return dict(self.process.portal_boxes)

    @property
    def subtypes(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.process.subtypes) or ("issue",)

    def deadlines_for(self, subtype: str | None) -> tuple[Limit, Limit]:
        return self.process.deadlines_for(subtype or self.subtypes[0])

    def expected_result_at(self, subtype: str | None, now: datetime) -> datetime:
        """When the result is expected for a request of ``subtype`` submitted at ``now``."""
        return self.process.result_due(now, subtype or self.subtypes[0])

    def public(self) -> dict:
        def lim(v: Limit) -> dict:
            return {"amount": v[0], "unit": v[1]}

        p = self.process
        result, refusal = self.deadlines_for(None)
        return {
            "region": p.region,
            "process_id": p.id,
            "provider": {"bin": self.provider.bin, "name_ru": self.provider.name_ru, "name_kk": self.provider.name_kk},
            "result_deadline": lim(result),
            "refusal_deadline": lim(refusal),
            "deadline_source": p.deadline_source,
            "deadline_estimated": p.deadlines_estimated,
            "subtypes": [{"key": k, "result_deadline": lim(self.deadlines_for(k)[0]),
                          "refusal_deadline": lim(self.deadlines_for(k)[1])} for k in self.subtypes],
            "steps": self.steps,
            "source": p.source,
            "seed": p.seed,
        }


@dataclass(frozen=True)
class CatalogueEntry:
    service: ServiceDef
    variants: dict[str, Variant]

    def __getattr__(self, name):  # code, titles, fee_mrp, subtypes, form_schema, example
        return getattr(self.service, name)

    @property
    def required_documents(self) -> tuple[dict, ...]:
        return tuple(d.public() for d in self.service.documents)

    @property
    def fee_tenge(self) -> int:
        return round(self.service.fee_mrp * MRP_TENGE)

    def public(self) -> dict:
        s = self.service
        return {
            "code": s.code,
            "title_ru": s.title_ru,
            "title_kk": s.title_kk,
            "fee": {"mrp": s.fee_mrp, "tenge": self.fee_tenge, "source": s.fee_source,
                    "note": ("размер — выбор симулятора" if s.fee_source == "simulator" else s.fee_source)
                    if s.fee_mrp else "бесплатно"},
            "subtypes": list(s.subtypes),
            "required_documents": list(self.required_documents),
            "form_schema": s.form_schema,
            "example": s.example,
            "variants": [v.public() for v in self.variants.values()],
        }


@cache
def catalogue() -> dict[str, CatalogueEntry]:
    providers = regulations.providers()
    out = {}
    for code, svc in regulations.services().items():
        variants = {p.region: Variant(p, providers[p.provider])
                    for p in regulations.all_processes().values() if p.service_code == code}
        out[code] = CatalogueEntry(svc, variants)
    return out


def find(code: str, region: str) -> tuple[CatalogueEntry, Variant] | None:
    entry = catalogue().get(code)
    if entry is None or region not in entry.variants:
        return None
    return entry, entry.variants[region]
