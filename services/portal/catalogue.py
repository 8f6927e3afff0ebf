"""The portal's catalogue of services: titles, regional variants, fees, documents, forms.

Each variant names its provider, the service deadline of the regulation, and the numbers of
the portal-diagram boxes of its regulation (they differ by region: the Almaty regulation
numbers the ЭЦП refusal "process 4", the Mangistau one "process 7"), so that every refusal
names the box of the regulation that applies.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from shared.providers import PROVIDERS, Provider

#: МРП (monthly calculation index) used by the ПШЭП imitation, tenge
MRP_TENGE = 4325


@dataclass(frozen=True)
class Variant:
    region: str
    provider: Provider
    #: service deadline (Стандарт п.4 as the regulation restates it)
    result_deadline: tuple[int, str]
    refusal_deadline: tuple[int, str]
    #: portal-diagram boxes of this regulation: refusal kind → "process N"
    steps: dict[str, str]
    source: str


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    title_ru: str
    title_kk: str
    fee_mrp: float
    subtypes: tuple[str, ...]
    required_documents: tuple[dict, ...]
    form_schema: dict
    example: dict
    variants: dict[str, Variant] = field(default_factory=dict)

    @property
    def fee_tenge(self) -> int:
        return round(self.fee_mrp * MRP_TENGE)

    def public(self) -> dict:
        return {
            "code": self.code,
            "title_ru": self.title_ru,
            "title_kk": self.title_kk,
            "fee": {"mrp": self.fee_mrp, "tenge": self.fee_tenge},
            "subtypes": list(self.subtypes),
            "required_documents": list(self.required_documents),
            "form_schema": self.form_schema,
            "example": self.example,
            "variants": [
                {
                    "region": v.region,
                    "provider": {"bin": v.provider.bin, "name_ru": v.provider.name_ru, "name_kk": v.provider.name_kk},
                    "result_deadline": {"amount": v.result_deadline[0], "unit": v.result_deadline[1]},
                    "refusal_deadline": {"amount": v.refusal_deadline[0], "unit": v.refusal_deadline[1]},
                    "source": v.source,
                }
                for v in self.variants.values()
            ],
        }


_S2_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Заявление на выдачу международного сертификата технического осмотра",
    "type": "object",
    "additionalProperties": False,
    "required": ["vehicle", "inspection"],
    "properties": {
        "vehicle": {
            "type": "object",
            "additionalProperties": False,
            "required": ["registration_number", "vin", "make_model", "year", "category"],
            "properties": {
                "registration_number": {"type": "string", "pattern": "^[0-9A-Z]{5,10}$"},
                "vin": {"type": "string", "pattern": "^[A-HJ-NPR-Z0-9]{17}$"},
                "make_model": {"type": "string", "minLength": 2, "maxLength": 100},
                "year": {"type": "integer", "minimum": 1950, "maximum": 2100},
                "category": {"enum": ["M1", "M2", "M3", "N1", "N2", "N3", "O1", "O2", "O3", "O4"]},
            },
        },
        "inspection": {
            "type": "object",
            "additionalProperties": False,
            "required": ["card_number", "date"],
            "properties": {
                "card_number": {"type": "string", "minLength": 3, "maxLength": 40},
                "date": {"type": "string", "format": "date"},
            },
        },
        "contact_phone": {"type": "string", "pattern": "^\\+7[0-9]{10}$"},
    },
}

CATALOGUE: dict[str, CatalogueEntry] = {
    "S2": CatalogueEntry(
        code="S2",
        title_ru="Выдача международного сертификата технического осмотра",
        title_kk="Техникалық байқаудың халықаралық сертификатын беру",
        fee_mrp=1,
        subtypes=("issue",),
        required_documents=(
            {"code": "inspection_card", "title_ru": "Диагностическая карта технического осмотра",
             "title_kk": "Техникалық байқаудың диагностикалық картасы", "required": True},
            {"code": "vehicle_registration", "title_ru": "Свидетельство о регистрации транспортного средства",
             "title_kk": "Көлік құралын тіркеу туралы куәлік", "required": True},
        ),
        form_schema=_S2_FORM,
        example={
            "vehicle": {"registration_number": "123ABC02", "vin": "XTA21099043576182", "make_model": "MAN TGX 18.440",
                        "year": 2019, "category": "N3"},
            "inspection": {"card_number": "TO-02-2026-001234", "date": "2026-11-20"},
            "contact_phone": "+77011234567",
        },
        variants={
            "almaty": Variant(
                region="almaty",
                provider=PROVIDERS["almaty-transport"],
                result_deadline=(2, "working_days"),
                refusal_deadline=(1, "working_days"),
                steps={"auth": "process 2", "form": "process 3", "payment": "process 3", "ecp": "process 4",
                       "provider": "condition 3", "result": "process 6"},
                source="Постановление акимата г. Алматы от 22.05.2014 № 2/387, п. 11, 13",
            ),
        },
    ),
}


def find(code: str, region: str) -> tuple[CatalogueEntry, Variant] | None:
    entry = CATALOGUE.get(code)
    if entry is None or region not in entry.variants:
        return None
    return entry, entry.variants[region]
