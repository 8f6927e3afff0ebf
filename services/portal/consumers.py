"""What the portal does with messages from ИС ГБД ЕЛ (service PORTAL_NOTIFY).

Status notifications move a request forward (never back: a redelivered old notification
only adds nothing), add an entry to its timeline and a notification for the applicant.
A RESPONSE carries the signed result: the portal shows it only if the signature holds and
the signer has a signing right at the provider of the request's region.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.envelope import canonical
from shared.errors import ApiError
from shared.messaging.consumer import Delivered, Handler
from shared.calendar import CALENDAR
from shared.payloads import SignedResult, StatusUpdate
from shared.regulations.con import con
from shared.pki.certinfo import has_signing_right
from shared.pki.cms import SignatureError
from shared.topics import ServiceId

from . import catalogue, repository
from .models import Notification, Request, RequestEvent

log = structlog.get_logger("portal")


RANK = {"SUBMITTED": 0, "REGISTERED": 1, "IN_PROCESSING": 2, "COMPLETED": 3, "REFUSED": 3}
TEXTS = {
    "REGISTERED": ("Заявление зарегистрировано в ИС ГБД «Е-лицензирование», № {n}",
                   "Өтініш «Е-лицензиялау» МДБ АЖ-де тіркелді, № {n}"),
    "IN_PROCESSING": ("Заявление в обработке", "Өтініш өңделу үстінде"),
    "COMPLETED": ("Результат услуги готов и доступен в личном кабинете", "Қызмет нәтижесі дайын, жеке кабинетте қолжетімді"),
    "REFUSED": ("Мотивированный отказ в оказании услуги доступен в личном кабинете",
                "Қызмет көрсетуден дәлелді бас тарту жеке кабинетте қолжетімді"),
}


@dataclass
class Checked:
    """Per signed document of the message: the signer's certificate info, or the ECP_* code it failed with."""

    result: object = None
    notice: object = None


def handlers(trust) -> dict[str, Handler]:
    async def verified(doc: SignedResult | None):
        if doc is None:
            return None
        try:
            return (await trust.verify(doc.signature, canonical(doc.document), usage="sign")).signer
        except SignatureError as exc:
            if exc.retryable:
                raise
            return exc.code

    async def check(msg: Delivered) -> Checked:
        """The signatures of the result and of a notice, before the transaction: a document whose
        signature fails is kept out of the cabinet. An unreachable НУЦ is raised: an outage, the
        message is redelivered later."""
        return Checked(result=await verified(msg.data.result), notice=await verified(msg.data.notice))

    async def apply(s: AsyncSession, msg: Delivered) -> None:
        data: StatusUpdate = msg.data
        req = await repository.request(s, data.request_id)
        if req is None:
            raise ApiError("NOT_FOUND", detail=f"request {data.request_id}")
        status = data.status or req.status
        now = utcnow()
        if data.application_number:
            req.application_number = data.application_number
        note, note_kk = data.note, data.note_kk
        if data.result is not None:
            status = _accept_result(req, data.result.model_dump(), msg.checked.result)
            if req.result_rejected:
                note = f"Результат не принят: подпись не подтверждена ({req.result_rejected})"
                note_kk = f"Нәтиже қабылданбады: қолтаңба расталмады ({req.result_rejected})"
            else:
                log.info("result issued", request_id=req.request_id, status=status,
                         application_number=req.application_number, kind=data.result.kind)
        if data.notice is not None:
            _accept_notice(s, req, data.notice.model_dump(), msg.checked.notice, now)
        at = _parse_time(data.at) or now
        s.add(RequestEvent(request_id=req.request_id, at=at, status=status, step=data.step, step_kk=data.step_kk,
                           actor=data.actor, note=note, note_kk=note_kk))
        if RANK.get(status, -1) > RANK[req.status]:
            req.status = status
            req.updated_at = now
            ru, kk = TEXTS[status]
            n = req.application_number or ""
            ru, kk = ru.format(n=n), kk.format(n=n)
            if status in ("COMPLETED", "REFUSED") and catalogue.find(req.service_code, req.region)[1].process.result_medium == "paper":
                ru, kk = _pickup_notice(req, now)
            s.add(Notification(iin_bin=req.iin_bin, request_id=req.request_id, text_ru=ru, text_kk=kk, created_at=now))

    return {ServiceId.PORTAL_NOTIFY: Handler(apply, schema=StatusUpdate, check=check)}


def _parse_time(value: str | None) -> datetime | None:
    try:
        at = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return at if at is not None and at.tzinfo is not None else None


def _pickup_notice(req: Request, now: datetime) -> tuple[str, str]:
    """S1, S2: the result is a paper document issued at the ЦОН; the cabinet gets the place and the date
    (seed 003 п. 3: "хабарлама … нәтижесін алу орны мен күні туралы"). The date: the day the result
    reached the portal (the ЦОН has it by then, or by the end of that working day)."""
    office = con().offices.get(req.region)
    place_ru = f"{office['name_ru']}, {office['address']}" if office else "ЦОН по месту подачи заявления"
    place_kk = f"{office.get('name_kk') or office['name_ru']}, {office['address']}" if office else "өтініш берілген ХҚКО"
    day = CALENDAR.deadline(now, 1, "working_days").astimezone(CALENDAR.tz).strftime("%d.%m.%Y")
    outcome_ru, outcome_kk = (("Мотивированный отказ готов", "Дәлелді бас тарту дайын") if req.status == "REFUSED"
                              else ("Результат услуги готов", "Қызмет нәтижесі дайын"))
    return (f"{outcome_ru} (№ {req.application_number or ''}): выдаётся на бумажном носителе в {place_ru}, "
            f"с {day}, по удостоверению личности; электронная копия — в личном кабинете",
            f"{outcome_kk} (№ {req.application_number or ''}): қағаз түрінде {place_kk} мекенжайында {day} бастап "
            f"жеке куәлік бойынша беріледі; электрондық көшірмесі — жеке кабинетте")


def _accept_notice(s: AsyncSession, req: Request, notice: dict, signer, now: datetime) -> None:
    """A signed notice (S6: the testing's date and place) lands among the applicant's notifications,
    document and signature with it — if signed by someone with a signing right at the provider."""
    variant = catalogue.find(req.service_code, req.region)[1]
    if isinstance(signer, str) or signer is None or not has_signing_right(signer, variant.provider.bin):
        log.warning("notice refused", request_id=req.request_id, reason=signer if isinstance(signer, str) else
                    "ECP_NO_SIGNING_RIGHT")
        return
    doc = notice["document"]
    when, place = doc.get("testing_at", ""), doc.get("testing_place", "")
    s.add(Notification(iin_bin=req.iin_bin, request_id=req.request_id, created_at=now, document=notice,
                       text_ru=f"{doc.get('title_ru')}: {when}, {place}", text_kk=f"{doc.get('title_kk')}: {when}, {place}"))


def _accept_result(req: Request, result: dict, signer) -> str:
    """``signer``: the verified signer's certificate info, or the ECP_* code the signature failed with."""
    variant = catalogue.find(req.service_code, req.region)[1]
    if isinstance(signer, str):
        req.result_rejected = signer
        return req.status
    if not has_signing_right(signer, variant.provider.bin):
        req.result_rejected = "ECP_NO_SIGNING_RIGHT"
        return req.status
    req.result = result
    req.result_rejected = None
    return "REFUSED" if result.get("kind") == "refusal" else "COMPLETED"
