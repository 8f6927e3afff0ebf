"""S6 (expert attestation): the testing schedule, the notifications of its date and place, the
testing itself at the scheduled time."""
from __future__ import annotations

from datetime import datetime

from shared.calendar import CALENDAR
from shared.errors import ApiError
from shared.regulations import providers

from .base import Action, StepContext, parse_time


class ScheduleTesting(Action):
    """``schedule_testing`` — the executor draws up the schedule: ``data.testing_at`` is required
    (unless the step refuses instead)."""

    name = "schedule_testing"

    async def complete(self, ctx: StepContext) -> None:
        if ctx.chosen.outcome is not None:
            return
        testing_at = parse_time(ctx.data.get("testing_at"))
        if testing_at is None:
            raise ApiError("TASK_DATA_INVALID", detail="data.testing_at: the date and time of the testing (ISO 8601 "
                                                        "with a UTC offset) is required")
        ctx.data["testing_at"] = testing_at.astimezone(CALENDAR.tz).isoformat()
        ctx.data.setdefault("testing_place", ctx.process.testing_place)
        if ctx.process.after_testing:  # the result is due after the testing, not before it
            ctx.case.deadline_at = CALENDAR.deadline(testing_at, *ctx.process.after_testing)
        ctx.case.draft_result = await notice(ctx, testing_at, ctx.data["testing_place"])


async def notice(ctx: StepContext, testing_at: datetime, place: str) -> dict:
    """The notification of the testing's date and place, for the head to sign, in the request's language."""
    provider = providers()[ctx.process.provider]
    kk = ctx.case.document.get("language") == "kk"
    title_ru, title_kk = "Уведомление о дате и месте тестирования", "Тестілеудің күні мен орны туралы хабарлама"
    return {"kind": "testing_notice", "title": title_kk if kk else title_ru, "title_ru": title_ru, "title_kk": title_kk,
            "application_number": ctx.case.application_number, "request_id": ctx.case.request_id,
            "holder": {"iin_bin": ctx.case.applicant_iin_bin, "name": ctx.case.applicant_name},
            "provider": {"bin": provider.bin, "name_ru": provider.name_ru, "name_kk": provider.name_kk},
            "testing_at": testing_at.astimezone(CALENDAR.tz).isoformat(), "testing_place": place,
            "language": "kk" if kk else "ru", "date": ctx.now.astimezone(CALENDAR.tz).date().isoformat()}


class SignNotice(Action):
    """``sign_notice`` — the head's ЭЦП over the notification drafted with the schedule (checked before
    the transaction, like a result's); the signed notice is recorded for the step that sends it."""

    name = "sign_notice"

    async def complete(self, ctx: StepContext) -> None:
        if ctx.signed is None:
            raise ApiError("SIGNATURE_REQUIRED")
        if ctx.signed["document"] != ctx.case.draft_result:
            raise ApiError("ECP_BAD_SIGNATURE", step=None, detail="the notice changed since it was signed")
        ctx.data["notice"] = ctx.signed
        ctx.case.draft_result = None


class NotifyTesting(Action):
    """``notify_testing`` — the applicant is told the date and place."""

    name = "notify_testing"

    async def note(self, ctx: StepContext) -> tuple[str, str] | None:
        merged = {**await ctx.recorded(), **ctx.data}
        when, where = merged.get("testing_at"), merged.get("testing_place")
        return f"Уведомление о тестировании: {when}, {where}", f"Тестілеу туралы хабарлама: {when}, {where}"

    async def attach(self, ctx: StepContext) -> dict:
        notice = (await ctx.recorded()).get("notice")
        return {"notice": notice} if notice else {}


class HoldTesting(Action):
    """``hold_testing`` — due at the scheduled time itself: passed / refuse."""

    name = "hold_testing"

    async def complete(self, ctx: StepContext) -> None:
        # passed or failed, the attestat or the refusal is due within the term that follows the testing
        # as scheduled ("в установленное время") — an outcome recorded late does not move the deadline
        if ctx.process.after_testing:
            held = parse_time((await ctx.recorded()).get("testing_at")) or ctx.now
            ctx.case.deadline_at = CALENDAR.deadline(held, *ctx.process.after_testing)

    async def due(self, ctx: StepContext, default: datetime | None) -> datetime | None:
        return parse_time((await ctx.recorded()).get("testing_at")) or default
