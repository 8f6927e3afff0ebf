"""What the portal does with messages from ИС ГБД ЕЛ (service PORTAL_NOTIFY).

Status notifications move a request forward (never back: a redelivered old notification
only adds nothing), add an entry to its timeline and a notification for the applicant.
A RESPONSE carries the signed result: the portal shows it only if the signature holds and
the signer has a signing right at the provider of the request's region.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.envelope import canonical
from shared.errors import ApiError
from shared.pki.certinfo import has_signing_right
from shared.pki.cms import SignatureError

from . import catalogue
from .models import Notification, Request, RequestEvent

RANK = {"SUBMITTED": 0, "REGISTERED": 1, "IN_PROCESSING": 2, "COMPLETED": 3, "REFUSED": 3}
TEXTS = {
    "REGISTERED": ("Заявление зарегистрировано в ИС ГБД «Е-лицензирование», № {n}",
                   "Өтініш «Е-лицензиялау» МДБ АЖ-де тіркелді, № {n}"),
    "IN_PROCESSING": ("Заявление в обработке", "Өтініш өңделу үстінде"),
    "COMPLETED": ("Результат услуги готов и доступен в личном кабинете", "Қызмет нәтижесі дайын, жеке кабинетте қолжетімді"),
    "REFUSED": ("Мотивированный отказ в оказании услуги доступен в личном кабинете",
                "Қызмет көрсетуден дәлелді бас тарту жеке кабинетте қолжетімді"),
}


def make_handler(trust):
    async def handle(s: AsyncSession, env: dict) -> None:
        data = env["messageData"]["data"]
        req = await s.get(Request, data.get("request_id"))
        if req is None:
            raise ApiError("NOT_FOUND", detail=f"request {data.get('request_id')}")
        status = data.get("status", req.status)
        now = utcnow()
        if data.get("application_number"):
            req.application_number = data["application_number"]
        note = data.get("note")
        if "result" in data:
            status = _accept_result(req, data["result"], trust)
            if req.result_rejected:
                note = f"Результат не принят: подпись не подтверждена ({req.result_rejected})"
        at = datetime.fromisoformat(data["at"]) if data.get("at") else now
        s.add(RequestEvent(request_id=req.request_id, at=at, status=status, step=data.get("step"),
                           actor=data.get("actor"), note=note))
        if RANK.get(status, -1) > RANK[req.status]:
            req.status = status
            req.updated_at = now
            ru, kk = TEXTS[status]
            n = req.application_number or ""
            s.add(Notification(iin_bin=req.iin_bin, request_id=req.request_id, text_ru=ru.format(n=n),
                               text_kk=kk.format(n=n), created_at=now))

    return handle


def _accept_result(req: Request, result: dict, trust) -> str:
    variant = catalogue.find(req.service_code, req.region)[1]
    try:
        report = trust.verify(result["signature"], canonical(result["document"]), usage="sign")
        if not has_signing_right(report.signer, variant.provider.bin):
            raise SignatureError("ECP_NO_SIGNING_RIGHT", detail=report.signer.dn)
    except SignatureError as exc:
        req.result_rejected = exc.code
        return req.status
    req.result = result
    req.result_rejected = None
    return "REFUSED" if result.get("kind") == "refusal" else "COMPLETED"
