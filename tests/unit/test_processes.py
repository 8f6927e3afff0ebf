"""The process definitions (regulations/variants/*.toml) against the seed digest."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from shared.regulations import processes
from services.provider_arm.diagram import render_svg
from shared.regulations.location import regulations_dir
from shared.regulations.processes import ACTIONS, ROLES, all_processes, find

MIN, H, WD = "minutes", "hours", "working_days"

# Hand-copied from shared/spec/SEEDS-DIGEST.md, "The provider's internal steps, with their time limits".
# step key → (amount, unit), None (no limit given), or {subtype/channel: (amount, unit)}.
# Where one procedure of the seed is run as two steps (check + prepare), its time is on "prepare".
EXPECTED_LIMITS = {
    "S1-mangistau": {
        "register": (15, MIN), "assign": (1, WD), "check": (2, WD), "inspection": (10, WD),
        "prepare": {"issue": (1, WD), "reissue": (8, WD), "duplicate": (3, H)},
        "sign": (30, MIN), "handover": (15, MIN),
    },
    "S1-zhambyl": {
        # п. 5 пп. 4): one procedure (review and prepare), one term — on the review, shared by the preparation
        "register": (1, H), "review": (3, H), "assign": (2, H),
        "check": {"issue": (13, WD), "reissue": (2, WD), "duplicate": (1, WD)}, "prepare": "check",
        "sign": (3, H), "handover": {"con": (4, H), "portal": (20, MIN)},
    },
    "S2-mangistau": {
        "register": (15, MIN), "review": (1, WD), "assign": (1, WD), "check": (2, WD), "prepare": "check",
        "sign": (15, MIN), "handover": (15, MIN),
    },
    "S2-almaty": {
        "register": (5, MIN), "assign": None, "check": (1, WD), "prepare": (15, MIN), "sign": (15, MIN),
        "handover": (10, MIN),
    },
    "S2-zhambyl": {
        "register": (15, MIN), "review": (2, H), "assign": (1, H), "check": (1, WD), "prepare": "check",
        "sign": (2, H), "handover": {"con": (2, H), "portal": (20, MIN)},
    },
    **{
        f"{code}-aktobe": {
            "register": (15, MIN), "assign": (1, H), "check": (1, WD),
            "prepare": {"issue": (4, WD), "reissue_reorganisation": (4, WD), "reissue_category": (4, WD),
                        "reissue_entrepreneur": (2, WD), "reissue_legal_entity": (2, WD),
                        "reissue_name_change": (2, WD)},
            "sign": None, "deliver": None,
        }
        for code in ("S3", "S4", "S5")
    },
    "S6-aktobe": {
        "register": (15, MIN), "assign": (1, WD), "review": (25, WD), "prepare_refusal": None,
        "sign_schedule": (1, WD), "sign_refusal": (1, WD), "notify": (1, WD), "deliver_refusal": (1, WD),
        "testing": None, "prepare": (1, WD), "sign": (1, WD), "deliver": None,
    },
    "S7-aktobe": {
        "register": (10, MIN), "assign": (10, MIN), "check": (10, MIN), "prepare": "check", "sign": (10, MIN),
        "deliver": "sign",
    },
}

PROCESSES = all_processes()
IDS = sorted(EXPECTED_LIMITS)


def test_all_ten_variants_load():
    assert set(PROCESSES) >= set(IDS)
    assert len(IDS) == 10
    assert find("S1", "mangistau").id == "S1-mangistau"
    assert find("S2", "almaty").id == "S2-almaty"
    assert find("S7", "aktobe").id == "S7-aktobe"


@pytest.mark.parametrize("pid", IDS)
def test_steps_cite_roles_actions_decisions(pid):
    p = PROCESSES[pid]
    keys = {s.key for s in p.steps}
    assert p.provider and p.region and p.service_code == pid.split("-")[0]
    for s in p.steps:
        assert re.match(r"^п\. \d+ пп\. \d+\)", s.cite), (s.key, s.cite)
        assert s.role in ROLES
        assert s.action in ACTIONS
        if s.action == "assign":
            assert s.assign_role in ROLES
        for d in s.decisions:
            assert d.next is None or d.next in keys
            if d.outcome == "refusal":
                assert d.name == "refuse" and d.comment_required
    # every definition has a refusal branch, and exactly the prepare → sign → deliver chain
    assert any(d.outcome == "refusal" for s in p.steps for d in s.decisions)
    actions = {s.action for s in p.steps}
    assert {"prepare_result", "sign_result", "deliver_result"} <= actions


@pytest.mark.parametrize("pid", IDS)
def test_limits_match_digest(pid):
    p = PROCESSES[pid]
    expected = EXPECTED_LIMITS[pid]
    assert [s.key for s in p.steps] == list(expected)
    for s in p.steps:
        want = expected[s.key]
        if isinstance(want, str):  # shares the term of an earlier step
            assert s.same_term_as == want and s.limit is None, s.key
        elif isinstance(want, dict):
            for kind, limit in want.items():
                if kind in ("con", "portal"):
                    assert s.limit_for(channel=kind) == limit, (s.key, kind)
                else:
                    assert s.limit_for(kind) == limit, (s.key, kind)
        else:
            assert s.limit == want, s.key
            assert s.limit_for("anything") == want


def test_subtypes_and_special_steps():
    s1 = PROCESSES["S1-mangistau"]
    assert [t.key for t in s1.subtypes] == ["issue", "reissue", "duplicate"]
    inspection = s1.step("inspection")
    assert inspection.action == "inspection" and inspection.only_for_subtypes == ("issue",)
    assert s1.route("check", "documents_ok", "issue").key == "inspection"
    assert s1.route("check", "documents_ok", "reissue").key == "prepare"
    assert s1.route("check", "documents_ok", "duplicate").key == "prepare"
    assert s1.deadlines_for("duplicate")[0] == (4, WD)
    for code in ("S3", "S4", "S5"):
        prep = PROCESSES[f"{code}-aktobe"].step("prepare")
        assert prep.skip_day_of_receipt
        assert not PROCESSES[f"{code}-aktobe"].step("check").skip_day_of_receipt
    zh = PROCESSES["S1-zhambyl"]
    assert zh.step("review").deputy_allowed and zh.step("sign").deputy_allowed
    assert not zh.step("register").deputy_allowed
    s6 = {s.action for s in PROCESSES["S6-aktobe"].steps}
    assert {"schedule_testing", "notify_testing", "hold_testing"} <= s6
    # the public view still has the original shape
    pub = PROCESSES["S2-almaty"].public()
    assert pub["steps"][0]["limit"] == {"amount": 5, "unit": "minutes"}
    assert pub["deadlines"] == {"result": (2, WD), "refusal": (1, WD), "source": "seed 001 п. 11", "estimated": False}
    assert pub["steps"][0]["source"] == "seed 001 п. 9 пп. 1)"
    assert PROCESSES["S2-mangistau"].public()["deadlines"]["estimated"]


def test_bad_definition_is_rejected(tmp_path):
    base = (regulations_dir() / "variants" / "S2-almaty.toml").read_text(encoding="utf-8")
    src = tmp_path / "x.toml"
    for broken, error in [
        (base.replace('role = "specialist"\nassigned', 'role = "janitor"\nassigned', 1), "unknown role"),
        (base.replace('next = "sign"', 'next = "nowhere"'), "unknown step"),
        (base.replace('cite = "п. 9 пп. 3)"', 'cite = "see the law"'), "cite"),
        (base.replace('action = "sign_result"', 'action = "dance"'), "unknown action"),
        (base.replace('source = "seed 001 п. 11"', 'source = "the law"'), r"source of deadlines"),
        (base.replace('kazakh = "seed 004"\n', ''), r"source of kazakh"),
        (base.replace('source = "seed 001, portal diagram"', 'source = ""'), r"source of portal"),
        (base.replace('provider = "seed 001 п. 1"', 'provider = "Алматы"'), r"source of provider"),
        (base.replace('medium = "paper"\nsource', 'medium = "paper"\nwhence'), r"source of result"),
        (base.replace('seed = "001"', 'seed = "Алматы"'), "seed must name"),
        (base.replace('ecp = "process 4", ', ''), "portal.boxes lacks"),
        ("\n".join(line for line in base.splitlines() if not line.startswith("result_title_kk")), "result_title_kk"),
    ]:
        assert broken != base
        src.write_text(broken, encoding="utf-8")
        with pytest.raises(ValueError, match=error):
            processes.load(src)


def _step_groups(root):
    return {g.get("data-step"): g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("data-step")}


@pytest.mark.parametrize("pid", IDS)
def test_diagram_renders(pid):
    p = PROCESSES[pid]
    svg = render_svg(p)
    root = ET.fromstring(svg)
    text = "".join(root.itertext())
    for s in p.steps:
        assert s.title_ru in text, s.key
    groups = _step_groups(root)
    assert set(groups) == {s.key for s in p.steps}
    assert not any("current" in g.get("class") for g in groups.values())
    assert 'class="edge refusal"' in svg  # refusal branches drawn distinctly

    current = p.steps[2].key
    visited = [p.steps[0].key, p.steps[1].key]
    root = ET.fromstring(render_svg(p, current_step=current, visited=visited))
    groups = _step_groups(root)
    assert "current" in groups[current].get("class").split()
    assert groups[current].get("data-current") == "true"
    assert [k for k, g in groups.items() if "current" in g.get("class").split()] == [current]
    for k in visited:
        assert "visited" in groups[k].get("class").split()


def test_every_fact_names_its_source(tmp_path, monkeypatch):
    # the reference data's every fact cites its seed or says it is the simulator's choice
    import importlib

    providers_mod = importlib.import_module("shared.regulations.providers")
    from shared.regulations.processes import SOURCE_RE
    from shared.regulations.services import services

    for p in PROCESSES.values():
        sources = p.public()["sources"]
        expected = {"provider", "kazakh", "number_prefix", "portal", "result", "deadlines"} \
            | ({"subtypes"} if p.subtypes else set()) | ({"testing"} if p.testing_place else set())
        assert expected <= set(sources), p.id
        assert all(SOURCE_RE.match(v) for v in sources.values()), (p.id, sources)
        assert all(s["source"].startswith(f"seed {p.seed} п. ") for s in p.public()["steps"]), p.id
    # the Kazakh texts come from the Kazakh seeds where they exist (003 Zhambyl, 004 Almaty)
    assert {p.id: p.public()["sources"]["kazakh"] for p in PROCESSES.values() if p.region in ("almaty", "zhambyl")} \
        == {"S2-almaty": "seed 004", "S1-zhambyl": "seed 003", "S2-zhambyl": "seed 003"}
    for svc in services().values():
        assert SOURCE_RE.match(svc.fee_source) and all(SOURCE_RE.match(d.source) for d in svc.documents), svc.code
    raw = (regulations_dir() / "providers.toml").read_text(encoding="utf-8")
    assert providers_mod.providers()  # the loader refuses a provider whose BIN or names have no source:

    folder = tmp_path / "regulations"
    folder.mkdir()
    (folder / "providers.toml").write_text(raw.replace('names_source = "seed 001 п. 1"\n', ""), encoding="utf-8")
    monkeypatch.setenv("EGOV_REGULATIONS_DIR", str(folder))
    providers_mod.providers.cache_clear()
    try:
        with pytest.raises(ValueError, match="almaty-transport: names_source"):
            providers_mod.providers()
    finally:
        monkeypatch.delenv("EGOV_REGULATIONS_DIR")
        providers_mod.providers.cache_clear()
