"""The pictures of the process definitions: the Graphviz SVG and the BPMN 2.0 export."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from services.provider_arm import diagram
from services.provider_arm.bpmn import export_all, to_xml
from services.provider_arm.diagram import decision_label, dot_available, endings, render_svg
from shared.regulations.processes import ROLES, all_processes

PROCESSES = all_processes()
IDS = sorted(PROCESSES)
SVG = "{http://www.w3.org/2000/svg}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"
needs_dot = pytest.mark.skipif(not dot_available(), reason="graphviz (dot) is not installed")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _steps(root) -> dict[str, ET.Element]:
    return {g.get("data-step"): g for g in root.iter(f"{SVG}g") if g.get("data-step")}


def _classes(el) -> set[str]:
    return set((el.get("class") or "").split())


def test_ten_definitions():
    assert len(PROCESSES) == 10


@needs_dot
@pytest.mark.parametrize("pid", IDS)
def test_svg_is_readable(pid):
    p = PROCESSES[pid]
    svg = render_svg(p)
    root = ET.fromstring(svg)  # valid XML
    assert root.tag == f"{SVG}svg"
    assert "Graphviz" not in root.find(f"{SVG}title").text  # laid out by dot, not the fallback
    assert "…" not in svg
    steps = _steps(root)
    assert set(steps) == {s.key for s in p.steps}
    for s in p.steps:
        g = steps[s.key]
        shown = _norm(" ".join(t.text or "" for t in g.iter(f"{SVG}text")))
        # the full title in the box (wrapped between words only), with number, limit and cite
        assert _norm(f"{s.no}. {s.title_ru}") in shown, s.key
        assert diagram.limit_text(s).split(" (")[0].split(";")[0] in shown, s.key
        assert s.cite in shown, s.key
        if s.skip_day_of_receipt:
            assert "(день приёма не входит)" in shown
        if s.same_term_as:  # one procedure, one term (the step it continues)
            assert f"в сроке этапа «{s.same_term_as}»" in shown
        elif s.limit is None and not s.limits_by_subtype and not s.limits_by_channel:
            assert "срок не установлен" in shown
        assert _classes(g) & {"visited", "current"} == set()
    # one lane per role, with the regulation's words
    lanes = [g for g in root.iter(f"{SVG}g") if "lane" in _classes(g)]
    assert {g.get("id") for g in lanes} == {f"lane-{s.role}" for s in p.steps}
    for g in lanes:
        role = g.get("id").removeprefix("lane-")
        assert _norm(ROLES[role]) == _norm(" ".join(t.text or "" for t in g.iter(f"{SVG}text")))
    # decisions: labelled edges, refusals distinct
    edge_text = _norm(" ".join(t.text or "" for g in root.iter(f"{SVG}g") if "edge" in _classes(g)
                               for t in g.iter(f"{SVG}text")))
    for s in p.steps:
        for d in s.decisions:
            assert _norm(decision_label(s, d.name)) in edge_text, (s.key, d.name)
    refusals = [g for g in root.iter(f"{SVG}g") if {"edge", "refusal"} <= _classes(g)]
    assert refusals and all("stroke-dasharray" in ET.tostring(g, encoding="unicode") for g in refusals)
    legend = root.find(f".//{SVG}g[@id='legend']")
    assert legend is not None and "Легенда" in "".join(legend.itertext())


@needs_dot
@pytest.mark.parametrize("pid", IDS)
def test_svg_marks_the_path(pid):
    p = PROCESSES[pid]
    path, key = [], p.first.key
    while len(path) < 2:  # two steps done along non-refusal decisions, the third open
        d = next(d for d in p.step(key).decisions if d.outcome is None)
        path.append((key, d.name))
        key = d.next
    visited = [k for k, _ in path]
    root = ET.fromstring(render_svg(p, current_step=key, visited=visited, taken=path))
    steps = _steps(root)
    assert [k for k, g in steps.items() if "current" in _classes(g)] == [key]
    assert steps[key].get("data-current") == "true"
    assert {k for k, g in steps.items() if "visited" in _classes(g)} == set(visited)
    assert "✓ пройден" in "".join(steps[visited[0]].itertext())
    taken = [g for g in root.iter(f"{SVG}g") if {"edge", "taken"} <= _classes(g)]
    assert len(taken) == 3  # the arrow from the start and the two decisions taken
    assert sum("edge-start" in _classes(g) for g in taken) == 1
    # without the decisions, the arrows are inferred from the steps
    root = ET.fromstring(render_svg(p, current_step=key, visited=visited))
    assert len([g for g in root.iter(f"{SVG}g") if {"edge", "taken"} <= _classes(g)]) >= 2


def test_svg_without_graphviz(monkeypatch):
    monkeypatch.setattr(diagram, "dot_available", lambda: False)
    p = PROCESSES["S2-almaty"]
    root = ET.fromstring(render_svg(p, current_step="check", visited=["register", "assign"]))
    assert "Graphviz" in root.find(f"{SVG}title").text
    steps = _steps(root)
    assert set(steps) == {s.key for s in p.steps} and "current" in _classes(steps["check"])


# --- BPMN -------------------------------------------------------------------------------------------

def _spiff_spec(xml: str, pid: str):
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator

    parser = BpmnParser(validator=BpmnValidator())  # the BPMN 2.0 XSD, DI included
    parser.add_bpmn_str(xml.encode("utf-8"))
    return parser.get_spec(pid)


def _reaches(spec, source: str, target: str) -> bool:
    """``target`` follows ``source`` directly or through gateways only."""
    todo, seen = [spec.task_specs[source]], set()
    while todo:
        t = todo.pop()
        for o in t.outputs:
            if o.name == target:
                return True
            if o.name not in seen and type(o).__name__.endswith("Gateway"):
                seen.add(o.name)
                todo.append(o)
    return False


def test_bpmn_export_parses(tmp_path):
    from SpiffWorkflow.bpmn.specs.defaults import ExclusiveGateway, UserTask

    paths = export_all(PROCESSES.values(), tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{pid}.bpmn" for pid in IDS)
    for path in paths:
        pid = path.stem
        p = PROCESSES[pid]
        xml = path.read_text(encoding="utf-8")
        assert xml == to_xml(p)
        spec = _spiff_spec(xml, pid)
        root = ET.fromstring(xml)
        proc = root.find(f"{BPMN}process")
        # every step a user task: number and title, in the lane of its role, cite and limit documented
        user_tasks = {k for k, t in spec.task_specs.items() if isinstance(t, UserTask)}
        assert user_tasks == {f"task_{s.key}" for s in p.steps}, pid
        for s in p.steps:
            t = spec.task_specs[f"task_{s.key}"]
            assert t.bpmn_name == f"{s.no}. {s.title_ru}"
            assert t.lane == ROLES[s.role]
            doc = proc.find(f"{BPMN}userTask[@id='task_{s.key}']/{BPMN}documentation").text
            assert s.cite in doc and diagram.limit_text(s) in doc
            # a gateway where a step has several decisions
            assert (f"gw_{s.key}" in spec.task_specs) == (len(s.decisions) > 1)
            if len(s.decisions) > 1:
                assert isinstance(spec.task_specs[f"gw_{s.key}"], ExclusiveGateway)
        lanes = {ln.get("name") for ln in proc.iter(f"{BPMN}lane")}
        assert lanes == {ROLES[s.role] for s in p.steps}
        # every decision a flow, named by it; refusals named as such
        flows = {f.get("id"): f for f in proc.iter(f"{BPMN}sequenceFlow")}
        for s in p.steps:
            for d in s.decisions:
                f = flows[f"flow_{s.key}_{d.name}"]
                assert f.get("name") == decision_label(s, d.name)
                assert f.get("sourceRef") == (f"gw_{s.key}" if len(s.decisions) > 1 else f"task_{s.key}")
                if d.outcome == "refusal":
                    assert "отказ" in f.get("name").lower()
                if d.next:
                    assert f.get("targetRef") == f"task_{d.next}"
                    assert _reaches(spec, f"task_{s.key}", f"task_{d.next}"), (pid, s.key, d.name)
                else:
                    result_ok, refusal_ok = endings(p, s)
                    if result_ok:
                        assert _reaches(spec, f"task_{s.key}", "end_result")
                    if refusal_ok:
                        assert _reaches(spec, f"task_{s.key}", "end_refusal")
        starts = proc.findall(f"{BPMN}startEvent")
        ends = {e.get("id") for e in proc.findall(f"{BPMN}endEvent")}
        assert len(starts) == 1 and ends == {"end_result", "end_refusal"}
        assert _reaches(spec, "start", f"task_{p.first.key}")
        # the diagram: a shape for every node and lane, an edge with waypoints for every flow,
        # every node inside the band of its lane
        shapes = {s.get("bpmnElement"): s.find(f"{DC}Bounds") for s in root.iter(f"{BPMNDI}BPMNShape")}
        edges = {e.get("bpmnElement"): e.findall(f"{DI}waypoint") for e in root.iter(f"{BPMNDI}BPMNEdge")}
        assert set(edges) == set(flows) and all(len(w) >= 2 for w in edges.values())
        for lane in proc.iter(f"{BPMN}lane"):
            lb = shapes[lane.get("id")]
            top, bottom = float(lb.get("y")), float(lb.get("y")) + float(lb.get("height"))
            for ref in lane.iter(f"{BPMN}flowNodeRef"):
                b = shapes[ref.text]
                assert top <= float(b.get("y")) and float(b.get("y")) + float(b.get("height")) <= bottom, ref.text
        for kind in ("startEvent", "userTask", "exclusiveGateway", "endEvent"):
            for el in proc.iter(f"{BPMN}{kind}"):
                assert el.get("id") in shapes


def test_bpmn_without_graphviz(monkeypatch):
    from services.provider_arm import bpmn

    monkeypatch.setattr(bpmn, "dot_available", lambda: False)
    p = PROCESSES["S6-aktobe"]
    spec = _spiff_spec(to_xml(p), p.id)
    assert {f"task_{s.key}" for s in p.steps} <= set(spec.task_specs)


def test_a_diagram_in_kazakh_has_the_kazakh_titles():
    from shared.regulations import find

    p = find("S2", "almaty")
    svg = diagram.render_svg(p.in_kazakh())
    shown = _norm(" ".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")))
    for s in p.steps:
        assert _norm(f"{s.no}. {s.title_kk}") in shown, s.key
        assert _norm(s.title_ru) not in shown
