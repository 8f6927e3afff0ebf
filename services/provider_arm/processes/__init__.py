"""Process definitions as data: one TOML file per service and regional variant.

A definition lists numbered steps with the role that performs each, its time limit, the
regulation paragraph it comes from, and the decisions allowed (each naming the next step).
Steps with an ``action`` do something besides deciding: ``assign`` (the head's resolution
names the executor), ``prepare_result`` (the draft result is made), ``sign_result`` (the
operator's CMS over the draft is required and checked), ``deliver_result`` (the signed
result goes back through the gateway).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ACTIONS = {None, "assign", "prepare_result", "sign_result", "deliver_result"}
UNITS = {"minutes", "hours", "working_days"}


@dataclass(frozen=True)
class Decision:
    name: str
    next: str | None = None
    outcome: str | None = None
    comment_required: bool = False


@dataclass(frozen=True)
class Step:
    no: int
    key: str
    role: str
    title_ru: str
    cite: str
    decisions: tuple[Decision, ...]
    limit: tuple[int, str] | None = None
    action: str | None = None
    assigned: bool = False
    assign_role: str | None = None

    def decision(self, name: str) -> Decision | None:
        return next((d for d in self.decisions if d.name == name), None)


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
    result_deadline: tuple[int, str]
    refusal_deadline: tuple[int, str]
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)

    @property
    def first(self) -> Step:
        return self.steps[0]

    def public(self) -> dict:
        return {
            "id": self.id, "service_code": self.service_code, "region": self.region, "title_ru": self.title_ru,
            "title_kk": self.title_kk, "source": self.source,
            "deadlines": {"result": self.result_deadline, "refusal": self.refusal_deadline},
            "steps": [
                {"no": s.no, "key": s.key, "role": s.role, "title_ru": s.title_ru, "cite": s.cite,
                 "limit": {"amount": s.limit[0], "unit": s.limit[1]} if s.limit else None, "action": s.action,
                 "decisions": [d.__dict__ for d in s.decisions]}
                for s in self.steps
            ],
        }


def _limit(raw: dict | None) -> tuple[int, str] | None:
    if not raw:
        return None
    if raw["unit"] not in UNITS:
        raise ValueError(f"unknown unit {raw['unit']}")
    return int(raw["amount"]), raw["unit"]


def load(path: Path) -> Process:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    steps = tuple(
        Step(no=s["no"], key=s["key"], role=s["role"], title_ru=s["title_ru"], cite=s["cite"],
             decisions=tuple(Decision(**d) for d in s["decisions"]), limit=_limit(s.get("limit")),
             action=s.get("action"), assigned=s.get("assigned", False), assign_role=s.get("assign_role"))
        for s in raw["steps"]
    )
    p = Process(id=raw["id"], service_code=raw["service_code"], region=raw["region"], provider=raw["provider"],
                title_ru=raw["title_ru"], title_kk=raw["title_kk"], source=raw["source"],
                result_kind=raw["result_kind"], result_title_ru=raw["result_title_ru"],
                number_prefix=raw["number_prefix"], result_deadline=_limit(raw["deadlines"]["result"]),
                refusal_deadline=_limit(raw["deadlines"]["refusal"]), steps=steps)
    keys = {s.key for s in steps}
    for s in steps:
        if s.action not in ACTIONS:
            raise ValueError(f"{p.id}: step {s.key}: unknown action {s.action}")
        for d in s.decisions:
            if d.next is not None and d.next not in keys:
                raise ValueError(f"{p.id}: step {s.key}: decision {d.name} leads to unknown step {d.next}")
    return p


@cache
def all_processes() -> dict[str, Process]:
    return {p.id: p for p in (load(f) for f in sorted(Path(__file__).parent.glob("*.toml")))}


def find(service_code: str, region: str) -> Process | None:
    return next((p for p in all_processes().values() if p.service_code == service_code and p.region == region), None)
