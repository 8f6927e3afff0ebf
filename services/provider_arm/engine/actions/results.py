"""The result: drafted (the licence / certificate, or the reasoned refusal when the case was
refused), signed by the head with the organisation's ЭЦП, delivered back through the gateway."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendar import CALENDAR
from shared.envelope import canonical
from shared.errors import ApiError
from shared.numbers import registry_number
from shared.pki.certinfo import has_signing_right
from shared.pki.cms import SignatureError

from ... import repository
from ...models import Case, Operator
from shared.regulations import Process, providers
from .base import Action, StepContext, case_data


def is_amendment(subtype: str | None) -> bool:
    """A re-issue (any kind) or a duplicate: the result keeps the number of the existing licence."""
    return bool(subtype) and (subtype == "duplicate" or subtype.startswith("reissue"))


async def draft(s: AsyncSession, case: Case, process: Process, subtype: str | None, now: datetime,
                reason: str | None = None) -> dict:
    """The result document to sign: a new number (random, with a check symbol) or the amended
    licence's own; a reasoned refusal carries the reasons the refusing step gave."""
    provider = providers()[process.provider]
    doc = case.document
    common = {
        "service_code": process.service_code,
        "region": process.region,
        "subtype": subtype or doc.get("subtype"),
        "application_number": case.application_number,
        "request_id": case.request_id,
        "holder": {"iin_bin": case.applicant_iin_bin, "name": case.applicant_name},
        "provider": {"bin": provider.bin, "name_ru": provider.name_ru, "name_kk": provider.name_kk},
        "language": doc.get("language", "ru"),
        "date": now.astimezone(CALENDAR.tz).date().isoformat(),
    }
    recorded = await case_data(s, case)
    extra = {k: recorded[k] for k in ("inspection_act", "testing_at", "testing_place") if k in recorded}
    # the result speaks the request's language (the seeds render the service in Kazakh or Russian)
    kk = common["language"] == "kk"
    if case.outcome == "refusal":
        reason = reason or await repository.refusal_reasons(s, case.id)
        title_ru = "Мотивированный отказ в оказании государственной услуги"
        title_kk = "Мемлекеттік қызмет көрсетуден дәлелді бас тарту"
        return {"kind": "refusal", "title": title_kk if kk else title_ru, "title_ru": title_ru, "title_kk": title_kk,
                "provider_name": provider.name_kk if kk else provider.name_ru, "reason": reason, **extra, **common}
    form = doc.get("form", {})
    if is_amendment(subtype) and form.get("licence_number"):
        number = form["licence_number"]
    else:
        number = registry_number(process.number_prefix, now.astimezone(CALENDAR.tz).year)
    title_ru, title_kk = process.result_title_ru, process.result_title_kk
    if subtype == "duplicate":
        title_ru, title_kk = f"Дубликат: {title_ru}", f"Телнұсқа: {title_kk}"
    elif is_amendment(subtype):
        title_ru, title_kk = f"{title_ru} (переоформление)", f"{title_kk} (қайта ресімделген)"
    return {"kind": process.result_kind, "number": number, "title": title_kk if kk else title_ru,
            "title_ru": title_ru, "title_kk": title_kk, "provider_name": provider.name_kk if kk else provider.name_ru,
            "details": form, **extra, **common}


async def check_result_signature(rt, case: Case, operator: Operator, signature: str) -> dict:
    """The head signs the draft with a SIGN certificate of the provider carrying a signing role;
    returns the signed result. Runs before the transaction (CPU in a thread, OCSP over async HTTP)."""
    if not signature or not case.draft_result:
        raise ApiError("SIGNATURE_REQUIRED")
    try:
        report = await rt.trust.verify(signature, canonical(case.draft_result), usage="sign")
    except SignatureError as exc:
        raise ApiError(exc.code, step=None, detail=exc.detail)
    if report.signer.iin != operator.iin:
        raise ApiError("ECP_IIN_MISMATCH", step=None, detail="the certificate is not the operator's")
    if not has_signing_right(report.signer, case.provider_bin):
        raise ApiError("ECP_NO_SIGNING_RIGHT", step=None)
    return {"kind": case.draft_result["kind"], "document": case.draft_result, "signature": signature}


class PrepareResult(Action):
    name = "prepare_result"

    async def complete(self, ctx: StepContext) -> None:
        refusing_here = ctx.chosen.outcome == "refusal"
        ctx.case.draft_result = await draft(ctx.s, ctx.case, ctx.process, ctx.subtype, ctx.now,
                                            reason=ctx.comment if refusing_here else None)


class SignResult(Action):
    """``sign_result`` — the operator's signature over the draft, checked before the transaction."""

    name = "sign_result"

    async def complete(self, ctx: StepContext) -> None:
        if ctx.signed is None:
            raise ApiError("SIGNATURE_REQUIRED")
        if ctx.signed["document"] != ctx.case.draft_result:
            raise ApiError("ECP_BAD_SIGNATURE", step=None, detail="the draft changed since it was signed")
        ctx.case.result = ctx.signed


class DeliverResult(Action):
    """``deliver_result`` — the signed result goes back through the gateway; the case closes."""

    name = "deliver_result"
    ends_case = True

    async def complete(self, ctx: StepContext) -> None:
        ctx.case.status = "REFUSED" if ctx.case.outcome == "refusal" else "COMPLETED"
        ctx.case.closed_at = ctx.now
