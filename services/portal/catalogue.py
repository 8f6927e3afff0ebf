"""The portal's catalogue of services: titles, regional variants, fees, documents, forms.

Each variant names its provider, the service deadlines — taken from the provider's process
definition (``services/provider_arm/processes/*.toml``, ``Process.deadlines_for``), per subtype —
and the numbers of the portal-diagram boxes of its regulation (they differ by region: the Almaty
regulation numbers the ЭЦП refusal "process 4", the Mangistau one "process 7", Zhambyl "process 4",
Aktobe "process 4"), so that every refusal names the box of the regulation that applies.

Fees (``fee_mrp``) are the SIMULATOR'S choice, stated as such: the Стандарты with the real amounts
are not among the seeds. S1, S3–S5 (licences): a state duty of 10 МРП, modelled on the Tax Code's
rate for issuing a licence (art. 554); S2: 1 МРП as before (Стандарт п. 7 says the service is paid;
the amount is ours); S6, S7: free. One fee per service, whatever the subtype.

A re-issue or duplicate names the existing licence (certificate) in ``form.licence_number``;
ИС ГБД ЕЛ checks it (refusal LICENCE_NOT_FOUND, "process 9").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.provider_arm.processes import Process, find as find_process
from shared.calendar import CALENDAR
from shared.providers import PROVIDERS, Provider

#: МРП (monthly calculation index) used by the ПШЭП imitation, tenge
MRP_TENGE = 4325

Limit = tuple[int, str]


@dataclass(frozen=True)
class Variant:
    region: str
    provider: Provider
    #: service deadline (Стандарт п.4 as the regulation restates it) for the default subtype
    result_deadline: Limit
    refusal_deadline: Limit
    #: portal-diagram boxes of this regulation: refusal kind → "process N"
    steps: dict[str, str]
    source: str
    process_id: str = ""
    subtypes: tuple[str, ...] = ("issue",)
    #: subtype → (result deadline, refusal deadline)
    deadlines_by_subtype: dict[str, tuple[Limit, Limit]] = field(default_factory=dict)

    def deadlines_for(self, subtype: str | None) -> tuple[Limit, Limit]:
        return self.deadlines_by_subtype.get(subtype, (self.result_deadline, self.refusal_deadline))

    def expected_result_at(self, subtype: str | None, now: datetime) -> datetime:
        """When the result is expected for a request of ``subtype`` submitted at ``now``."""
        return CALENDAR.deadline(now, *self.deadlines_for(subtype)[0])


def variant_from_process(service_code: str, region: str, steps: dict[str, str]) -> Variant:
    """A regional variant whose provider, deadlines and subtypes come from the process definition."""
    p: Process | None = find_process(service_code, region)
    if p is None:
        raise LookupError(f"no process definition for {service_code}/{region}")
    subtypes = tuple(t.key for t in p.subtypes) or ("issue",)
    return Variant(region=region, provider=PROVIDERS[p.provider], result_deadline=p.deadlines_for(subtypes[0])[0],
                   refusal_deadline=p.deadlines_for(subtypes[0])[1], steps=steps, source=p.source, process_id=p.id,
                   subtypes=subtypes, deadlines_by_subtype={k: p.deadlines_for(k) for k in subtypes})


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
        def lim(v: Limit) -> dict:
            return {"amount": v[0], "unit": v[1]}

        return {
            "code": self.code,
            "title_ru": self.title_ru,
            "title_kk": self.title_kk,
            "fee": {"mrp": self.fee_mrp, "tenge": self.fee_tenge, "note": "размер — выбор симулятора"
                    if self.fee_mrp else "бесплатно"},
            "subtypes": list(self.subtypes),
            "required_documents": list(self.required_documents),
            "form_schema": self.form_schema,
            "example": self.example,
            "variants": [
                {
                    "region": v.region,
                    "process_id": v.process_id,
                    "provider": {"bin": v.provider.bin, "name_ru": v.provider.name_ru, "name_kk": v.provider.name_kk},
                    "result_deadline": lim(v.result_deadline),
                    "refusal_deadline": lim(v.refusal_deadline),
                    "subtypes": [{"key": k, "result_deadline": lim(v.deadlines_for(k)[0]),
                                  "refusal_deadline": lim(v.deadlines_for(k)[1])} for k in v.subtypes],
                    "steps": dict(v.steps),
                    "source": v.source,
                }
                for v in self.variants.values()
            ],
        }


def _doc(code: str, ru: str, kk: str, required: bool = True) -> dict:
    return {"code": code, "title_ru": ru, "title_kk": kk, "required": required}


#: a re-issue / duplicate names the existing licence or certificate
_LICENCE_NUMBER = {"type": "string", "minLength": 3, "maxLength": 32,
                   "description": "номер действующей лицензии (сертификата) — для переоформления и дубликата"}

#: portal-diagram boxes per regulation (see SEEDS-DIGEST "The portal flow")
#: Mangistau (000): process 2 auth, 3 form, 4 payment / 5 no payment, 7 ЭЦП refusal, 9 registration
#: in ИС ГБД ЕЛ, condition 4 / process 10 provider's refusal, 11 result.
STEPS_MANGISTAU = {"auth": "process 2", "form": "process 3", "payment": "process 5", "ecp": "process 7",
                   "registry": "process 9", "provider": "condition 4", "refusal": "process 10", "result": "process 11"}
#: Zhambyl (003, portal diagram): 2 auth, 3 form, 4 ЭЦП refusal, 5 to АРМ РШЭП, 6 registration there,
#: condition 3 / process 7 provider's refusal, 8 result. No payment box: the payment check is put on "process 3".
STEPS_ZHAMBYL = {"auth": "process 2", "form": "process 3", "payment": "process 3", "ecp": "process 4",
                 "registry": "process 6", "provider": "condition 3", "refusal": "process 7", "result": "process 8"}
#: Almaty (001/004): 2 auth, 3 form, 4 ЭЦП refusal, 5 to АРМ РШЭП, condition 3 provider, 6 result.
STEPS_ALMATY = {"auth": "process 2", "form": "process 3", "payment": "process 3", "ecp": "process 4",
                "registry": "process 5", "provider": "condition 3", "refusal": "process 6", "result": "process 6"}
#: Aktobe (002): 2 auth, 3 form, 4 ЭЦП refusal, 5 through ИС ГБД ЕЛ to ИС АРМ ГБД ЕЛ, condition 3 /
#: process 6 refusal for document violations, 7 result.
STEPS_AKTOBE = {"auth": "process 2", "form": "process 3", "payment": "process 3", "ecp": "process 4",
                "registry": "process 5", "provider": "condition 3", "refusal": "process 6", "result": "process 7"}


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
        "licence_number": _LICENCE_NUMBER,
    },
}


_ORG = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "bin", "address"],
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 255},
        "bin": {"type": "string", "pattern": "^[0-9]{12}$"},
        "address": {"type": "string", "minLength": 5, "maxLength": 500},
        "head_full_name": {"type": "string", "maxLength": 255},
    },
}
_ORG_EXAMPLE = {"name": "ТОО «Демо Транс»", "bin": "100340005775", "address": "г. Актау, 14 мкр., д. 5",
                "head_full_name": "АХМЕТОВ ЕРЛАН БОЛАТОВИЧ"}

_S1_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Заявление на выдачу (переоформление, дубликат) лицензии на перевозку пассажиров автобусами, микроавтобусами",
    "type": "object",
    "additionalProperties": False,
    "required": ["carrier", "activity", "fleet"],
    "properties": {
        "carrier": _ORG,
        "activity": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": [
            "irregular_intercity_interregional", "irregular_interdistrict", "irregular_international",
            "regular_international"]}},
        "fleet": {
            "type": "object",
            "additionalProperties": False,
            "required": ["buses", "minibuses"],
            "properties": {"buses": {"type": "integer", "minimum": 0, "maximum": 10000},
                           "minibuses": {"type": "integer", "minimum": 0, "maximum": 10000}},
        },
        "reissue_reason": {"type": "string", "maxLength": 500},
        "licence_number": _LICENCE_NUMBER,
        "contact_phone": {"type": "string", "pattern": "^\\+7[0-9]{10}$"},
    },
}
_S1_EXAMPLE = {"carrier": _ORG_EXAMPLE, "activity": ["irregular_intercity_interregional", "regular_international"],
               "fleet": {"buses": 12, "minibuses": 4}, "contact_phone": "+77292501234"}


def _construction_form(title: str) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "additionalProperties": False,
        "required": ["organisation", "category", "subspecies"],
        "properties": {
            "organisation": _ORG,
            "category": {"enum": ["I", "II", "III"]},
            "subspecies": {"type": "array", "minItems": 1, "uniqueItems": True,
                           "items": {"type": "string", "minLength": 3, "maxLength": 200}},
            "staff": {"type": "integer", "minimum": 0, "maximum": 100000},
            "reissue_reason": {"type": "string", "maxLength": 500},
            "licence_number": _LICENCE_NUMBER,
        },
    }


def _construction_example(subspecies: list[str]) -> dict:
    return {"organisation": {"name": "ТОО «Ақтөбе Жоба»", "bin": "100340005775", "address": "г. Актобе, пр. Абилкайыр хана, 40"},
            "category": "II", "subspecies": subspecies, "staff": 25}


_CONSTRUCTION_DOCS = (
    _doc("qualification_info", "Сведения о соответствии квалификационным требованиям",
         "Біліктілік талаптарына сәйкестігі туралы мәліметтер"),
    _doc("staff_diplomas", "Копии дипломов и трудовых книжек специалистов",
         "Мамандардың дипломдары мен еңбек кітапшаларының көшірмелері"),
)
_AKTOBE_LICENCE_SUBTYPES = ("issue", "reissue_reorganisation", "reissue_category", "reissue_entrepreneur",
                            "reissue_legal_entity", "reissue_name_change")

_S6_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Заявление на аттестацию эксперта",
    "type": "object",
    "additionalProperties": False,
    "required": ["expert", "specialisation", "education", "experience_years"],
    "properties": {
        "expert": {"type": "object", "additionalProperties": False, "required": ["full_name"],
                   "properties": {"full_name": {"type": "string", "minLength": 3, "maxLength": 255},
                                  "email": {"type": "string", "maxLength": 255}}},
        "specialisation": {"enum": ["technical_supervision", "technical_survey", "expert_works"]},
        "direction": {"type": "string", "maxLength": 200},
        "education": {"type": "string", "minLength": 3, "maxLength": 500},
        "experience_years": {"type": "integer", "minimum": 0, "maximum": 70},
    },
}
_S6_EXAMPLE = {"expert": {"full_name": "ИВАНОВА АЙГУЛЬ СЕРИКОВНА", "email": "aigul@example.kz"},
               "specialisation": "technical_supervision", "direction": "несущие и ограждающие конструкции",
               "education": "КазГАСА, инженер-строитель, 2008", "experience_years": 12}

_S7_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Заявление на аккредитацию организации по управлению проектами",
    "type": "object",
    "additionalProperties": False,
    "required": ["organisation", "certified_managers"],
    "properties": {
        "organisation": _ORG,
        "certified_managers": {"type": "integer", "minimum": 1, "maximum": 10000},
        "quality_management": {"type": "boolean"},
    },
}
_S7_EXAMPLE = {"organisation": {"name": "ТОО «PM Актобе»", "bin": "100340005775", "address": "г. Актобе, ул. Маресьева, 8"},
               "certified_managers": 3, "quality_management": True}

CATALOGUE: dict[str, CatalogueEntry] = {
    "S1": CatalogueEntry(
        code="S1",
        title_ru="Выдача лицензии, переоформление, выдача дубликатов лицензии для занятия деятельностью по "
                 "нерегулярной и регулярной международной перевозке пассажиров автобусами, микроавтобусами",
        title_kk="Жолаушыларды автобустармен, шағын автобустармен тасымалдау қызметімен айналысу үшін лицензия беру, "
                 "қайта ресімдеу, телнұсқасын беру",
        fee_mrp=10,
        subtypes=("issue", "reissue", "duplicate"),
        required_documents=(
            _doc("qualification_info", "Сведения о соответствии квалификационным требованиям (автобусы, стоянка, "
                 "медицинский и технический осмотр)", "Біліктілік талаптарына сәйкестігі туралы мәліметтер"),
            _doc("vehicle_documents", "Документы на автобусы, микроавтобусы (право собственности или аренды)",
                 "Автобустарға, шағын автобустарға құжаттар (меншік немесе жалға алу құқығы)"),
        ),
        form_schema=_S1_FORM,
        example=_S1_EXAMPLE,
        variants={
            "mangistau": variant_from_process("S1", "mangistau", STEPS_MANGISTAU),
            "zhambyl": variant_from_process("S1", "zhambyl", STEPS_ZHAMBYL),
        },
    ),
    "S2": CatalogueEntry(
        code="S2",
        title_ru="Выдача международного сертификата технического осмотра",
        title_kk="Техникалық байқаудың халықаралық сертификатын беру",
        fee_mrp=1,
        subtypes=("issue", "duplicate"),
        required_documents=(
            _doc("inspection_card", "Диагностическая карта технического осмотра",
                 "Техникалық байқаудың диагностикалық картасы"),
            _doc("vehicle_registration", "Свидетельство о регистрации транспортного средства",
                 "Көлік құралын тіркеу туралы куәлік"),
        ),
        form_schema=_S2_FORM,
        example={
            "vehicle": {"registration_number": "123ABC02", "vin": "XTA21099043576182", "make_model": "MAN TGX 18.440",
                        "year": 2019, "category": "N3"},
            "inspection": {"card_number": "TO-02-2026-001234", "date": "2026-11-20"},
            "contact_phone": "+77011234567",
        },
        variants={
            "mangistau": variant_from_process("S2", "mangistau", STEPS_MANGISTAU),
            "almaty": variant_from_process("S2", "almaty", STEPS_ALMATY),
            "zhambyl": variant_from_process("S2", "zhambyl", STEPS_ZHAMBYL),
        },
    ),
    "S3": CatalogueEntry(
        code="S3", title_ru="Выдача лицензии на проектную деятельность", title_kk="Жобалау қызметіне лицензия беру",
        fee_mrp=10, subtypes=_AKTOBE_LICENCE_SUBTYPES, required_documents=_CONSTRUCTION_DOCS,
        form_schema=_construction_form("Заявление на выдачу (переоформление) лицензии на проектную деятельность"),
        example=_construction_example(["архитектурное проектирование", "строительное проектирование"]),
        variants={"aktobe": variant_from_process("S3", "aktobe", STEPS_AKTOBE)},
    ),
    "S4": CatalogueEntry(
        code="S4", title_ru="Выдача лицензии на изыскательскую деятельность", title_kk="Іздестіру қызметіне лицензия беру",
        fee_mrp=10, subtypes=_AKTOBE_LICENCE_SUBTYPES, required_documents=_CONSTRUCTION_DOCS,
        form_schema=_construction_form("Заявление на выдачу (переоформление) лицензии на изыскательскую деятельность"),
        example=_construction_example(["инженерно-геологические изыскания", "геодезические работы"]),
        variants={"aktobe": variant_from_process("S4", "aktobe", STEPS_AKTOBE)},
    ),
    "S5": CatalogueEntry(
        code="S5", title_ru="Выдача лицензии на строительно-монтажные работы",
        title_kk="Құрылыс-монтаж жұмыстарына лицензия беру",
        fee_mrp=10, subtypes=_AKTOBE_LICENCE_SUBTYPES, required_documents=_CONSTRUCTION_DOCS,
        form_schema=_construction_form("Заявление на выдачу (переоформление) лицензии на строительно-монтажные работы"),
        example=_construction_example(["возведение несущих и ограждающих конструкций"]),
        variants={"aktobe": variant_from_process("S5", "aktobe", STEPS_AKTOBE)},
    ),
    "S6": CatalogueEntry(
        code="S6",
        title_ru="Аттестация экспертов, осуществляющих экспертные работы и инжиниринговые услуги в сфере "
                 "архитектурной, градостроительной и строительной деятельности",
        title_kk="Сәулет, қала құрылысы және құрылыс қызметі саласында сараптама жұмыстары мен инжинирингтік "
                 "қызметтерді жүзеге асыратын сарапшыларды аттестаттау",
        fee_mrp=0, subtypes=("issue",),
        required_documents=(
            _doc("diploma", "Копия диплома о высшем образовании", "Жоғары білім туралы диплом көшірмесі"),
            _doc("employment_record", "Документ, подтверждающий стаж работы", "Жұмыс өтілін растайтын құжат"),
        ),
        form_schema=_S6_FORM, example=_S6_EXAMPLE,
        variants={"aktobe": variant_from_process("S6", "aktobe", STEPS_AKTOBE)},
    ),
    "S7": CatalogueEntry(
        code="S7",
        title_ru="Аккредитация организаций по управлению проектами в области архитектуры, градостроительства и строительства",
        title_kk="Сәулет, қала құрылысы және құрылыс саласындағы жобаларды басқару жөніндегі ұйымдарды аккредиттеу",
        fee_mrp=0, subtypes=("issue",),
        required_documents=(
            _doc("managers_certificates", "Копии сертификатов специалистов по управлению проектами",
                 "Жобаларды басқару жөніндегі мамандар сертификаттарының көшірмелері"),
            _doc("charter", "Устав организации", "Ұйымның жарғысы"),
        ),
        form_schema=_S7_FORM, example=_S7_EXAMPLE,
        variants={"aktobe": variant_from_process("S7", "aktobe", STEPS_AKTOBE)},
    ),
}


def find(code: str, region: str) -> tuple[CatalogueEntry, Variant] | None:
    entry = CATALOGUE.get(code)
    if entry is None or region not in entry.variants:
        return None
    return entry, entry.variants[region]


def expected_result_at(code: str, region: str, subtype: str | None, now: datetime) -> datetime:
    """The expected result time of a request: the variant's result deadline for its subtype."""
    _, variant = find(code, region)
    return variant.expected_result_at(subtype, now)
