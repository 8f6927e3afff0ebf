"""Process definitions as data: one TOML file per service and regional variant (``regulations/variants/``).

A definition lists numbered steps with the role that performs each, its time limit, the
regulation paragraph it comes from, and the decisions allowed (each naming the next step).
``no`` is the number of the procedure in the seed regulation; when the regulation describes
one procedure that the engine has to run as two steps (e.g. "the executor checks the documents
and prepares the result or a reasoned refusal"), both steps keep the seed's number.

Steps with an ``action`` do something besides deciding (see ACTIONS):

* ``assign`` — the head's resolution names the executor (``assign_role``);
* ``prepare_result`` — the draft result (or, when the case was refused, the reasoned refusal) is made;
* ``sign_result`` — the operator's CMS over the draft is required and checked;
* ``deliver_result`` — the signed result goes back through the gateway; the case closes;
* ``inspection`` — an outside body (S1 Mangistau: Transport Control Inspection) checks the applicant
  against the qualification requirements and returns an act: conforms / does not conform;
* ``schedule_testing`` — (S6) the executor draws up the testing schedule and the notifications;
* ``sign_notice`` — (S6) the head signs the notification of the testing's date and place (ЭЦП);
* ``notify_testing`` — (S6) the signed notifications of date and place are sent to the applicants;
* ``hold_testing`` — (S6) the testing is held at the scheduled time; passed / failed.

The provider's engine (``services/provider_arm/engine/``) runs all of them.

Schema additions beyond the first (S2 Almaty) definition, all optional:

* top level ``subtypes = [{ key, title_ru }, ...]`` — kinds of request with different limits
  (issue / re-issue / duplicate …); the first one is the default;
* top level ``[deadlines.by_subtype.<key>]`` with ``result`` / ``refusal`` — per-subtype deadlines;
* step ``limits_by_subtype = { <subtype> = { amount, unit }, ... }`` — see ``Step.limit_for``;
* step ``limits_by_channel = { con = {...}, portal = {...} }`` — when the regulation gives different
  times for the ЦОН (paper, courier) and the portal (personal cabinet) channels;
* step ``skip_day_of_receipt = true`` — "the day of receipt is not counted" (Aktobe S3–S5);
* step ``only_for_subtypes = [...]`` and ``skip_to = "<step>"`` — a step that other subtypes skip
  (they go to ``skip_to``, by default the step its first non-refusal decision leads to);
* step ``deputy_allowed = true`` — "the head, or in his absence his deputy" (Zhambyl);
* step ``same_term_as = "<step>"`` — one procedure of the seed run as two steps (the review, where a
  refusal is decided, and the preparation of the result): the limit sits on the first and the second
  is due when the first was (Zhambyl S1/S2 п. 5 пп. 4), Mangistau S2 п. 7 пп. 4), S7 п. 5 пп. 3)–4));
* decision ``within_term = true`` — the step the decision leads to belongs to the deciding step's
  procedure and is due when that one was (Aktobe S3–S5 п. 5 пп. 3) абз. 1: on an incomplete package
  the executor "подготавливает мотивированный ответ об отказе … и направляет на подпись руководителю
  - 1 рабочий день" — the refusal is drafted within the check's day, not the 4 days of a licence);
* decision ``title_ru`` — how the decision reads on the diagram;
* ``title_kk`` beside every ``title_ru`` (steps, decisions, subtypes) and ``result_title_kk`` beside
  ``result_title_ru`` — the Kazakh texts, from the seed's Kazakh text where there is one (003, 004),
  otherwise the simulator's translation (each variant says which in its first line). Every step and
  the result must have one.

A refusal decision is always named ``refuse`` with ``outcome = "refusal"`` (the engine looks the
reasons up under that name) and is taken at or before the step that prepares the result, so that the
draft made there is the reasoned refusal (Aktobe S3–S5: the executor prepares "the licence or a
reasoned refusal under п. 10 of the Стандарт" in one step).

``skip_day_of_receipt`` on a step: its working days are counted from the day of receipt of the
application, that day excluded — not from the step's own start (the seed's "the day of receipt is
not counted in the term of the service": the receipt day holds the registration, the resolution and
the check; a late check does not move the preparation's term); on ``[deadlines]``: the same for
the service deadlines.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from .location import regulations_dir

ACTIONS = {
    None, "assign", "prepare_result", "sign_result", "deliver_result",
    "inspection", "schedule_testing", "sign_notice", "notify_testing", "hold_testing",
}
UNITS = {"minutes", "hours", "working_days"}
OUTCOMES = {None, "refusal"}
CHANNELS = {"con", "portal"}

#: who performs steps, with the regulations' own words
ROLES: dict[str, str] = {
    "clerk": "сотрудник канцелярии услугодателя",
    "head": "руководитель услугодателя",
    "deputy_head": "заместитель руководителя услугодателя",
    "department_head": "руководитель отдела услугодателя",
    "specialist": "специалист услугодателя (отдела)",
    "executor": "ответственный исполнитель услугодателя",
    "inspection": "Инспекция транспортного контроля",
}

CITE_RE = re.compile(r"^п\. \d+( пп\. \d+\))?")
SEED_RE = re.compile(r"^\d{3}$")
#: a fact's source: the seed and its paragraph, or the simulator's own choice
SOURCE_RE = re.compile(r"^(seed \d{3}(( п\. \d+|, ).*)?|simulator(: .+)?)$")
#: how a decision reads to the applicant (Russian, Kazakh) where its definition gives no title — the
#: simulator's wording of the decisions every definition shares
DECISION_WORDS: dict[str, tuple[str, str]] = {
    "registered": ("документы приняты и зарегистрированы", "құжаттар қабылданып, тіркелді"),
    "forwarded": ("документы рассмотрены и переданы", "құжаттар қаралып, жіберілді"),
    "assigned": ("определён ответственный исполнитель", "жауапты орындаушы айқындалды"),
    "documents_ok": ("документы полные", "құжаттар толық"),
    "refuse": ("мотивированный отказ", "дәлелді бас тарту"),
    "prepared": ("результат подготовлен", "нәтиже дайындалды"),
    "signed": ("подписано ЭЦП", "ЭЦҚ-мен қол қойылды"),
    "handed_over": ("результат выдан", "нәтиже берілді"),
    "delivered": ("результат направлен", "нәтиже жіберілді"),
    "notified": ("уведомление направлено", "хабарлама жіберілді"),
}
#: what every variant's ``[sources]`` names (``subtypes`` too when it has subtypes)
SOURCES = ("provider", "kazakh", "number_prefix")
#: the boxes of the portal diagram every variant numbers (see regulations/README.md)
PORTAL_BOXES = {"auth", "form", "payment", "ecp", "registry", "provider", "refusal", "result"}

Limit = tuple[int, str]


@dataclass(frozen=True)
class Decision:
    name: str
    next: str | None = None
    outcome: str | None = None
    comment_required: bool = False
    #: the step it leads to is done within this step's own term (due when this one was due)
    within_term: bool = False
    title_ru: str | None = None
    title_kk: str | None = None


@dataclass(frozen=True)
class Subtype:
    key: str
    title_ru: str
    title_kk: str = ""


@dataclass(frozen=True)
class Step:
    no: int
    key: str
    role: str
    title_ru: str
    cite: str
    decisions: tuple[Decision, ...]
    limit: Limit | None = None
    action: str | None = None
    assigned: bool = False
    assign_role: str | None = None
    skip_day_of_receipt: bool = False
    deputy_allowed: bool = False
    limits_by_subtype: tuple[tuple[str, Limit], ...] = ()
    limits_by_channel: tuple[tuple[str, Limit], ...] = ()
    only_for_subtypes: tuple[str, ...] = ()
    skip_to: str | None = None
    #: the key of an earlier step whose term this one shares (one procedure of the seed run as two
    #: steps: the review and the preparation within the one limit the seed gives)
    same_term_as: str | None = None
    #: the step's title in Kazakh (from the seed's Kazakh text, or the simulator's translation)
    title_kk: str = ""

    def decision(self, name: str) -> Decision | None:
        return next((d for d in self.decisions if d.name == name), None)

    def limit_for(self, subtype: str | None = None, channel: str | None = None) -> Limit | None:
        """The time limit for a request of this subtype (and channel), falling back to ``limit``."""
        if channel is not None:
            by_channel = dict(self.limits_by_channel)
            if channel in by_channel:
                return by_channel[channel]
        if subtype is not None:
            by_subtype = dict(self.limits_by_subtype)
            if subtype in by_subtype:
                return by_subtype[subtype]
        return self.limit

    def applies_to(self, subtype: str | None) -> bool:
        return not self.only_for_subtypes or subtype is None or subtype in self.only_for_subtypes


@dataclass(frozen=True)
class Process:
    id: str
    service_code: str
    region: str
    provider: str
    title_ru: str
    title_kk: str
    source: str
    result_kind: str
    result_title_ru: str
    number_prefix: str
    result_deadline: Limit
    refusal_deadline: Limit
    #: the seed regulation (``../shared/seeds/<seed>_*.txt``) every ``cite`` refers to, and its Kazakh text
    seed: str = ""
    seed_kk: str | None = None
    #: where the service deadlines come from: "seed NNN п. N" when the seed states them, "simulator"
    #: when they are derived from the step limits (then shown as estimated)
    deadline_source: str = "simulator"
    #: "the day of receipt is not counted" in the service term (Aktobe S3–S5 п. 5, Almaty п. 11)
    deadlines_skip_receipt: bool = False
    #: (S6) the term of what follows the testing, counted from the testing: the service deadline
    #: then moves to the scheduled testing plus this (the wait for the testing is the schedule's)
    after_testing: Limit | None = None
    #: (S6) where the provider holds the testing unless the schedule says otherwise
    testing_place: str | None = None
    #: "paper" where the seed issues the result on paper at the ЦОН (S1, S2), else "electronic"
    result_medium: str = "electronic"
    #: working days before the service deadline by which the provider hands a ЦОН request's result to
    #: the ЦОН (Almaty п. 11: "за день до окончания срока оказания услуги"); 0: no such rule
    con_result_days_early: int = 0
    #: the portal diagram's boxes of this regulation: refusal kind → "process N" / "condition N"
    portal_boxes: tuple[tuple[str, str], ...] = ()
    #: the result's title in Kazakh
    result_title_kk: str = ""
    steps: tuple[Step, ...] = field(default_factory=tuple)
    subtypes: tuple[Subtype, ...] = ()
    deadlines_by_subtype: tuple[tuple[str, tuple[Limit, Limit]], ...] = ()
    #: where each fact of the definition that is not a step comes from ("seed NNN …" or "simulator"):
    #: provider, subtypes, kazakh, number_prefix, portal (the diagram's boxes), result, deadlines, testing
    sources: tuple[tuple[str, str], ...] = ()

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)

    @property
    def deadlines_estimated(self) -> bool:
        return not self.deadline_source.startswith("seed ")

    def result_due(self, received_at, subtype: str | None, *, refusal: bool = False):
        """The service deadline of a request of ``subtype`` received at ``received_at``."""
        from shared.calendar import CALENDAR

        limit = self.deadlines_for(subtype)[1 if refusal else 0]
        return CALENDAR.deadline(received_at, *limit, skip_day_of_receipt=self.deadlines_skip_receipt)

    def in_kazakh(self) -> "Process":
        """The same definition with the Kazakh titles in the places the Russian ones are read from
        (for a drawing in Kazakh)."""
        steps = tuple(replace(s, title_ru=s.title_kk or s.title_ru, decisions=tuple(
            replace(d, title_ru=d.title_kk or d.title_ru) for d in s.decisions)) for s in self.steps)
        return replace(self, title_ru=self.title_kk, result_title_ru=self.result_title_kk or self.result_title_ru,
                       steps=steps)

    def source_of(self, step: Step) -> str:
        return f"seed {self.seed} {step.cite}"

    @property
    def first(self) -> Step:
        return self.steps[0]

    @property
    def default_subtype(self) -> str | None:
        return self.subtypes[0].key if self.subtypes else None

    def deadlines_for(self, subtype: str | None) -> tuple[Limit, Limit]:
        """(result deadline, refusal deadline) for a subtype, falling back to the process's."""
        return dict(self.deadlines_by_subtype).get(subtype, (self.result_deadline, self.refusal_deadline))

    def route(self, step_key: str, decision: str, subtype: str | None = None) -> Step | None:
        """The step a decision leads to for a request of ``subtype``, skipping steps not for it."""
        chosen = self.step(step_key).decision(decision)
        if chosen is None:
            raise KeyError(f"{self.id}: step {step_key} has no decision {decision}")
        nxt = self.step(chosen.next) if chosen.next else None
        while nxt is not None and not nxt.applies_to(subtype):
            nxt = self.step(_skip_target(nxt))
        return nxt

    def public(self) -> dict:
        return {
            "id": self.id, "service_code": self.service_code, "region": self.region, "title_ru": self.title_ru,
            "title_kk": self.title_kk, "source": self.source, "seed": self.seed,
            "sources": dict(self.sources),
            "deadlines": {"result": self.result_deadline, "refusal": self.refusal_deadline,
                          "source": self.deadline_source, "estimated": self.deadlines_estimated},
            "subtypes": [{"key": t.key, "title_ru": t.title_ru, "title_kk": t.title_kk,
                          "deadlines": dict(zip(("result", "refusal"), self.deadlines_for(t.key)))}
                         for t in self.subtypes],
            "steps": [
                {"no": s.no, "key": s.key, "role": s.role, "title_ru": s.title_ru, "title_kk": s.title_kk,
                 "cite": s.cite,
                 "source": self.source_of(s),
                 "limit": {"amount": s.limit[0], "unit": s.limit[1]} if s.limit else None, "action": s.action,
                 "skip_day_of_receipt": s.skip_day_of_receipt, "deputy_allowed": s.deputy_allowed,
                 "limits_by_subtype": {k: {"amount": v[0], "unit": v[1]} for k, v in s.limits_by_subtype},
                 "limits_by_channel": {k: {"amount": v[0], "unit": v[1]} for k, v in s.limits_by_channel},
                 "only_for_subtypes": list(s.only_for_subtypes),
                 "decisions": [d.__dict__ for d in s.decisions]}
                for s in self.steps
            ],
        }


def _skip_target(step: Step) -> str:
    if step.skip_to:
        return step.skip_to
    return next(d.next for d in step.decisions if d.outcome is None and d.next)


def _limit(raw: dict | None) -> Limit | None:
    if not raw:
        return None
    if raw["unit"] not in UNITS:
        raise ValueError(f"unknown unit {raw['unit']}")
    if int(raw["amount"]) <= 0:
        raise ValueError(f"a limit must be positive: {raw}")
    return int(raw["amount"]), raw["unit"]


def _limits(raw: dict | None) -> tuple[tuple[str, Limit], ...]:
    return tuple((k, _limit(v)) for k, v in (raw or {}).items())


def _step(s: dict) -> Step:
    return Step(
        no=s["no"], key=s["key"], role=s["role"], title_ru=s["title_ru"], cite=s["cite"],
        decisions=tuple(Decision(**d) for d in s["decisions"]), limit=_limit(s.get("limit")),
        action=s.get("action"), assigned=s.get("assigned", False), assign_role=s.get("assign_role"),
        skip_day_of_receipt=s.get("skip_day_of_receipt", False), deputy_allowed=s.get("deputy_allowed", False),
        limits_by_subtype=_limits(s.get("limits_by_subtype")), limits_by_channel=_limits(s.get("limits_by_channel")),
        only_for_subtypes=tuple(s.get("only_for_subtypes", ())), skip_to=s.get("skip_to"),
        same_term_as=s.get("same_term_as"),
        title_kk=s.get("title_kk", ""),
    )


def load(path: Path) -> Process:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    steps = tuple(_step(s) for s in raw["steps"])
    deadlines = raw["deadlines"]
    p = Process(id=raw["id"], service_code=raw["service_code"], region=raw["region"], provider=raw["provider"],
                title_ru=raw["title_ru"], title_kk=raw["title_kk"], source=raw["source"],
                result_kind=raw["result_kind"], result_title_ru=raw["result_title_ru"],
                result_title_kk=raw.get("result_title_kk", ""),
                number_prefix=raw["number_prefix"], result_deadline=_limit(deadlines["result"]),
                refusal_deadline=_limit(deadlines["refusal"]), steps=steps,
                seed=raw["seed"], seed_kk=raw.get("seed_kk"), deadline_source=deadlines["source"],
                deadlines_skip_receipt=deadlines.get("skip_day_of_receipt", False),
                after_testing=_limit(deadlines.get("after_testing")),
                testing_place=raw.get("testing", {}).get("place"),
                result_medium=raw.get("result", {}).get("medium", "electronic"),
                con_result_days_early=int(raw.get("result", {}).get("con_days_before_deadline", 0)),
                portal_boxes=tuple(raw["portal"]["boxes"].items()),
                subtypes=tuple(Subtype(**t) for t in raw.get("subtypes", ())),
                deadlines_by_subtype=tuple((k, (_limit(v["result"]), _limit(v["refusal"])))
                                           for k, v in deadlines.get("by_subtype", {}).items()),
                sources=_sources(raw))
    validate(p)
    return p


def _sources(raw: dict) -> tuple[tuple[str, str], ...]:
    """Every fact's source, from ``[sources]`` and the ``source`` of each table that has facts."""
    out = dict(raw.get("sources", {}))
    for table in ("portal", "result", "deadlines", "testing"):
        if table in raw:
            out[table] = raw[table].get("source", "")
    return tuple(out.items())


def validate(p: Process) -> None:
    """Raise ValueError when a definition is inconsistent."""
    def fail(msg: str) -> None:
        raise ValueError(f"{p.id}: {msg}")

    if not SEED_RE.match(p.seed):
        fail(f"seed must name a seed regulation (three digits), not {p.seed!r}")
    if not p.result_title_kk.strip():
        fail("result_title_kk (the result's title in Kazakh) is missing")
    sources = dict(p.sources)
    needed = {*SOURCES, "portal", "result", "deadlines"} | ({"subtypes"} if p.subtypes else set()) \
        | ({"testing"} if p.testing_place else set())
    for what in sorted(needed):
        if not SOURCE_RE.match(sources.get(what, "")):
            fail(f"the source of {what} ([sources] {what}, or [{what}] source) must be 'seed NNN п. N', "
                 f"'seed NNN, …' or 'simulator', not {sources.get(what, '')!r}")
    if p.result_medium not in ("paper", "electronic"):
        fail(f"result.medium is paper or electronic, not {p.result_medium!r}")
    missing = PORTAL_BOXES - {k for k, _ in p.portal_boxes}
    if missing:
        fail(f"portal.boxes lacks {sorted(missing)}")
    keys = [s.key for s in p.steps]
    if len(set(keys)) != len(keys):
        fail("step keys repeat")
    subtypes = {t.key for t in p.subtypes}
    if len(subtypes) != len(p.subtypes):
        fail("subtype keys repeat")
    for k, _ in p.deadlines_by_subtype:
        if k not in subtypes:
            fail(f"deadlines for unknown subtype {k}")
    if p.first.only_for_subtypes:
        fail("the first step must apply to every subtype")
    for s in p.steps:
        for d in s.decisions:
            if d.next is not None and d.next not in keys:
                fail(f"step {s.key}: decision {d.name} leads to unknown step {d.next}")
    prev_no = 0
    for s in p.steps:
        where = f"step {s.key}"
        if s.no < prev_no:
            fail(f"{where}: steps out of order ({s.no} after {prev_no})")
        prev_no = s.no
        if not s.title_kk.strip():
            fail(f"{where}: title_kk (the step's title in Kazakh) is missing")
        if s.action not in ACTIONS:
            fail(f"{where}: unknown action {s.action}")
        if s.role not in ROLES:
            fail(f"{where}: unknown role {s.role}")
        if s.action == "assign" and s.assign_role not in ROLES:
            fail(f"{where}: assign_role must be one of {sorted(ROLES)}")
        if not CITE_RE.match(s.cite):
            fail(f"{where}: cite must name a paragraph of the seed (п. N пп. M)), not {s.cite!r}")
        if not s.decisions:
            fail(f"{where}: no decisions")
        for k, _ in s.limits_by_subtype:
            if k not in subtypes:
                fail(f"{where}: limit for unknown subtype {k}")
        for k in s.only_for_subtypes:
            if k not in subtypes:
                fail(f"{where}: only_for_subtypes names unknown subtype {k}")
        for k, _ in s.limits_by_channel:
            if k not in CHANNELS:
                fail(f"{where}: limit for unknown channel {k}")
        if s.same_term_as is not None:
            if s.same_term_as not in keys[:keys.index(s.key)]:
                fail(f"{where}: same_term_as must name an earlier step, not {s.same_term_as}")
            if s.limit or s.limits_by_subtype:
                fail(f"{where}: a step sharing another's term has no limit of its own")
        if s.skip_to is not None and s.skip_to not in keys:
            fail(f"{where}: skip_to leads to unknown step {s.skip_to}")
        if s.only_for_subtypes:
            _skip_target(s)  # raises StopIteration when nowhere to go
        for d in s.decisions:
            if d.next is None and s.action != "deliver_result":
                fail(f"{where}: decision {d.name} ends the process outside a deliver_result step")
            if d.outcome not in OUTCOMES:
                fail(f"{where}: decision {d.name}: unknown outcome {d.outcome}")
            if d.outcome == "refusal":
                if d.name != "refuse" or not d.comment_required:
                    fail(f"{where}: a refusal decision is named 'refuse' and requires a comment")
                if s.action in {"sign_result", "deliver_result"}:
                    fail(f"{where}: a refusal must be decided when or before the result is prepared")
                if s.action != "prepare_result" and not _reaches(p, d.next, "prepare_result"):
                    fail(f"{where}: refusal leads nowhere a reasoned refusal is prepared")
    unreachable = set(keys) - _reachable(p, p.first.key)
    if unreachable:
        fail(f"steps never reached: {sorted(unreachable)}")


def _reachable(p: Process, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        k = todo.pop()
        if k in seen:
            continue
        seen.add(k)
        todo.extend(d.next for d in p.step(k).decisions if d.next)
    return seen


def _reaches(p: Process, start: str | None, action: str) -> bool:
    return start is not None and any(p.step(k).action == action for k in _reachable(p, start))


@cache
def all_processes() -> dict[str, Process]:
    return {p.id: p for p in (load(f) for f in sorted((regulations_dir() / "variants").glob("*.toml")))}


def find(service_code: str, region: str) -> Process | None:
    return next((p for p in all_processes().values() if p.service_code == service_code and p.region == region), None)
