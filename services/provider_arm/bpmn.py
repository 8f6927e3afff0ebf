"""A process definition as BPMN 2.0 XML, for analysts (bpmn.io, Camunda Modeler, SpiffWorkflow).

One pool (the provider's process) with a lane per role, named in the regulation's own words; a
``startEvent``; a ``userTask`` per step (name "N. title", documentation: the seed's paragraph and the
time limit); an ``exclusiveGateway`` after a step with several decisions; ``sequenceFlow``s named by
the decisions (a refusal's name says "отказ", its condition ``decision == "refuse"``); ``endEvent``s
for the result and for the reasoned refusal (after the step that delivers, a gateway chooses which).

Ids: ``start``, ``task_<step>``, ``gw_<step>`` (decision), ``gwend_<step>`` (result or refusal),
``end_result``, ``end_refusal``, ``lane_<role>``; the flow of decision ``d`` of step ``s`` is
``flow_<s>_<d>`` (from the task, or from its gateway when there is one).

The diagram interchange (BPMNDiagram: shapes and edges with coordinates) comes from Graphviz's
layout (``dot -Tjson``, left to right, a cluster per lane): the x of every element and its place
inside its lane are Graphviz's; the lanes are then stacked as horizontal bands and the flows drawn
as right-angled lines between the shapes. Without ``dot`` a plain grid is used (step order × lane).
"""
from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from shared.regulations import Process, Step, providers

from .diagram import ACTION_RU, decision_label, dot_available, endings, limit_text, role_label

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
for _prefix, _ns in (("bpmn", BPMN), ("bpmndi", BPMNDI), ("dc", DC), ("di", DI), ("xsi", XSI)):
    ET.register_namespace(_prefix, _ns)

#: element sizes (BPMN units, as bpmn.io draws them)
SIZES = {"task": (170, 100), "gateway": (50, 50), "event": (36, 36)}
POOL_LABEL, LANE_LABEL, LANE_PAD = 30, 30, 30


@dataclass
class Node:
    id: str
    kind: str  # task | gateway | event
    tag: str  # startEvent, userTask, exclusiveGateway, endEvent
    lane: str
    name: str
    documentation: str | None = None


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None
    refusal: bool = False


@dataclass
class Model:
    process: Process
    nodes: list[Node] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)

    @property
    def lanes(self) -> list[str]:
        return list(dict.fromkeys(n.lane for n in self.nodes))


def _documentation(process: Process, s: Step) -> str:
    parts = [f"{s.cite} (seed {process.seed})", limit_text(s)]
    if s.action:
        parts.append(ACTION_RU[s.action])
    if s.deputy_allowed:
        parts.append("или его заместитель")
    if s.only_for_subtypes:
        parts.append("только для подвидов: " + ", ".join(s.only_for_subtypes) + "; остальные идут мимо шага")
    return "; ".join(parts)


def model(process: Process) -> Model:
    """The BPMN elements of a definition (no coordinates yet)."""
    m = Model(process)
    m.nodes.append(Node("start", "event", "startEvent", process.first.role, "Заявление поступило"))
    m.flows.append(Flow("flow_start", "start", f"task_{process.first.key}"))
    end_lane: dict[str, str] = {}
    for s in process.steps:
        m.nodes.append(Node(f"task_{s.key}", "task", "userTask", s.role, f"{s.no}. {s.title_ru}",
                            _documentation(process, s)))
    for s in process.steps:
        source = f"task_{s.key}"
        if len(s.decisions) > 1:
            m.nodes.append(Node(f"gw_{s.key}", "gateway", "exclusiveGateway", s.role, f"{s.no}. решение"))
            m.flows.append(Flow(f"flow_{s.key}_decide", source, f"gw_{s.key}"))
            source = f"gw_{s.key}"
        for d in s.decisions:
            name = decision_label(s, d.name)
            cond = f'decision == "{d.name}"' if len(s.decisions) > 1 else None
            refusal = d.outcome == "refusal"
            if d.next is not None:
                m.flows.append(Flow(f"flow_{s.key}_{d.name}", source, f"task_{d.next}", name, cond, refusal))
                continue
            result_ok, refusal_ok = endings(process, s)
            kinds = [k for k, ok in (("result", result_ok), ("refusal", refusal_ok)) if ok] or ["result"]
            for k in kinds:
                end_lane.setdefault(k, s.role)
            if len(kinds) == 1:
                m.flows.append(Flow(f"flow_{s.key}_{d.name}", source, f"end_{kinds[0]}", name, cond,
                                    kinds[0] == "refusal"))
                continue
            gw = f"gwend_{s.key}"
            m.nodes.append(Node(gw, "gateway", "exclusiveGateway", s.role, "результат или отказ?"))
            m.flows.append(Flow(f"flow_{s.key}_{d.name}", source, gw, name, cond))
            m.flows.append(Flow(f"flow_{s.key}_result", gw, "end_result",
                                "результат: " + process.result_title_ru, 'outcome != "refusal"'))
            m.flows.append(Flow(f"flow_{s.key}_refusal", gw, "end_refusal", "мотивированный отказ",
                                'outcome == "refusal"', True))
    if "result" in end_lane:
        m.nodes.append(Node("end_result", "event", "endEvent", end_lane["result"],
                            "Результат: " + process.result_title_ru))
    if "refusal" in end_lane:
        m.nodes.append(Node("end_refusal", "event", "endEvent", end_lane["refusal"],
                            "Мотивированный отказ в оказании услуги"))
    return m


# --- layout ---------------------------------------------------------------------------------------

Box = tuple[float, float, float, float]  # x, y, width, height (y down)


def _dot_layout(m: Model) -> dict[str, tuple[float, float, str]] | None:
    """Graphviz's centre of every node (y down) and its lane; ``None`` without dot."""
    if not dot_available():
        return None
    import graphviz

    g = graphviz.Digraph(m.process.id)
    g.attr("graph", rankdir="LR", nodesep="0.5", ranksep="0.6", newrank="true")
    for lane in m.lanes:
        with g.subgraph(name=f"cluster_{lane}") as c:
            c.attr(label="", margin="20")
            for n in m.nodes:
                if n.lane == lane:
                    w, h = SIZES[n.kind]
                    c.node(n.id, label="", shape="box", fixedsize="true", width=str(w / 72), height=str(h / 72))
    for f in m.flows:
        g.edge(f.source, f.target)
    try:
        raw = json.loads(g.pipe(format="json", encoding="utf-8"))
    except (OSError, RuntimeError, subprocess.CalledProcessError, ValueError):
        return None
    top = float(raw["bb"].split(",")[3])
    lane_of = {n.id: n.lane for n in m.nodes}
    out = {}
    for o in raw.get("objects", []):
        if o.get("name") in lane_of and "pos" in o:
            x, y = (float(v) for v in o["pos"].split(","))
            out[o["name"]] = (x, top - y, lane_of[o["name"]])
    return out if len(out) == len(m.nodes) else None


def _grid_layout(m: Model) -> dict[str, tuple[float, float, str]]:
    """Without Graphviz: columns in the order of the elements, one row per lane."""
    out, col = {}, 0
    order = ["start"] + [n.id for n in m.nodes if n.id != "start"]
    kinds = {n.id: n for n in m.nodes}
    for nid in order:
        n = kinds[nid]
        out[nid] = (100 + col * 220, 80.0, n.lane)
        col += 1
    return out


def layout(m: Model) -> tuple[dict[str, Box], dict[str, Box], Box]:
    """(shape bounds by node id, lane bounds by role, pool bounds)."""
    centres = _dot_layout(m) or _grid_layout(m)
    bounds: dict[str, Box] = {}
    lane_boxes: dict[str, Box] = {}
    # each lane: a band as tall as its nodes need; bands in the order of their nodes' mean height
    lanes = sorted(m.lanes, key=lambda ln: sum(c[1] for c in centres.values() if c[2] == ln)
                   / max(1, sum(1 for c in centres.values() if c[2] == ln)))
    min_x = min(c[0] - SIZES[n.kind][0] / 2 for n in m.nodes for c in [centres[n.id]])
    x0 = POOL_LABEL + LANE_LABEL + 40 - min_x
    kind = {n.id: n.kind for n in m.nodes}
    y = 0.0
    right = max(c[0] + SIZES[kind[nid]][0] / 2 for nid, c in centres.items()) + x0 + 40
    for lane in lanes:
        members = [nid for nid, c in centres.items() if c[2] == lane]
        tops = [centres[nid][1] - SIZES[kind[nid]][1] / 2 for nid in members]
        bottoms = [centres[nid][1] + SIZES[kind[nid]][1] / 2 for nid in members]
        first, height = min(tops), max(bottoms) - min(tops) + 2 * LANE_PAD
        for nid in members:
            cx, cy, _ = centres[nid]
            w, h = SIZES[kind[nid]]
            bounds[nid] = (cx + x0 - w / 2, y + LANE_PAD + (cy - first) - h / 2, w, h)
        lane_boxes[lane] = (POOL_LABEL, y, right - POOL_LABEL, max(height, 140))
        y += max(height, 140)
    pool = (0.0, 0.0, right, y)
    return bounds, lane_boxes, pool


def _waypoints(src: Box, dst: Box, k: int, n: int) -> list[tuple[float, float]]:
    """A right-angled line from ``src`` to ``dst``; ``k`` of ``n`` parallel flows is shifted a little."""
    shift = (k - (n - 1) / 2) * 16
    sx, sy = src[0] + src[2], src[1] + src[3] / 2
    tx, ty = dst[0], dst[1] + dst[3] / 2
    if tx > sx + 10:
        sy2, ty2 = sy + (shift if src[3] > 60 else 0), ty + (shift if dst[3] > 60 else 0)
        if abs(sy2 - ty2) < 1:
            return [(sx, sy2), (tx, ty2)]
        mx = (sx + tx) / 2 + shift
        return [(sx, sy2), (mx, sy2), (mx, ty2), (tx, ty2)]
    # the target is not to the right: leave from below (or above) and enter from above (or below)
    scx, tcx = src[0] + src[2] / 2 + shift, dst[0] + dst[2] / 2 + shift
    if dst[1] > src[1]:
        y0, y1 = src[1] + src[3], dst[1]
    else:
        y0, y1 = src[1], dst[1] + dst[3]
    my = (y0 + y1) / 2
    return [(scx, y0), (scx, my), (tcx, my), (tcx, y1)]


# --- XML ------------------------------------------------------------------------------------------

def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _fmt(v: float) -> str:
    return f"{v:.0f}"


def to_xml(process: Process) -> str:
    """The BPMN 2.0 XML (with diagram interchange) of a definition."""
    m = model(process)
    pid = process.id
    defs = ET.Element(_q(BPMN, "definitions"), {
        "id": f"defs_{pid}", "targetNamespace": "https://egov-sim.example/bpmn",
        "exporter": "egov-sim", "exporterVersion": "1"})
    collab = ET.SubElement(defs, _q(BPMN, "collaboration"), {"id": f"collab_{pid}"})
    ET.SubElement(collab, _q(BPMN, "participant"), {
        "id": f"pool_{pid}", "name": f"{process.title_ru} — {process.source}", "processRef": pid})
    proc = ET.SubElement(defs, _q(BPMN, "process"), {"id": pid, "name": process.title_ru, "isExecutable": "true"})
    doc = ET.SubElement(proc, _q(BPMN, "documentation"))
    provider = providers().get(process.provider)
    doc.text = (f"{process.source} (seed {process.seed}); услугодатель: "
                f"{provider.name_ru if provider else process.provider}")
    lane_set = ET.SubElement(proc, _q(BPMN, "laneSet"), {"id": f"lanes_{pid}"})
    for lane in m.lanes:
        el = ET.SubElement(lane_set, _q(BPMN, "lane"), {"id": f"lane_{lane}", "name": role_label(lane)})
        for n in m.nodes:
            if n.lane == lane:
                ET.SubElement(el, _q(BPMN, "flowNodeRef")).text = n.id
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for f in m.flows:
        outgoing.setdefault(f.source, []).append(f.id)
        incoming.setdefault(f.target, []).append(f.id)
    for n in m.nodes:
        el = ET.SubElement(proc, _q(BPMN, n.tag), {"id": n.id, "name": n.name})
        if n.documentation:
            ET.SubElement(el, _q(BPMN, "documentation")).text = n.documentation
        for fid in incoming.get(n.id, []):
            ET.SubElement(el, _q(BPMN, "incoming")).text = fid
        for fid in outgoing.get(n.id, []):
            ET.SubElement(el, _q(BPMN, "outgoing")).text = fid
    for f in m.flows:
        attrs = {"id": f.id, "sourceRef": f.source, "targetRef": f.target}
        if f.name:
            attrs["name"] = f.name
        el = ET.SubElement(proc, _q(BPMN, "sequenceFlow"), attrs)
        if f.condition:
            ET.SubElement(el, _q(BPMN, "conditionExpression"),
                          {_q(XSI, "type"): "bpmn:tFormalExpression"}).text = f.condition

    bounds, lanes, pool = layout(m)
    diagram = ET.SubElement(defs, _q(BPMNDI, "BPMNDiagram"), {"id": f"diagram_{pid}", "name": process.title_ru})
    plane = ET.SubElement(diagram, _q(BPMNDI, "BPMNPlane"), {"id": f"plane_{pid}", "bpmnElement": f"collab_{pid}"})

    def shape(element: str, box: Box, **extra) -> None:
        s = ET.SubElement(plane, _q(BPMNDI, "BPMNShape"), {"id": f"{element}_di", "bpmnElement": element, **extra})
        ET.SubElement(s, _q(DC, "Bounds"), {"x": _fmt(box[0]), "y": _fmt(box[1]),
                                            "width": _fmt(box[2]), "height": _fmt(box[3])})

    shape(f"pool_{pid}", pool, isHorizontal="true")
    for lane, box in lanes.items():
        shape(f"lane_{lane}", box, isHorizontal="true")
    for n in m.nodes:
        shape(n.id, bounds[n.id], **({"isMarkerVisible": "true"} if n.tag == "exclusiveGateway" else {}))
    parallel: dict[tuple[str, str], list[str]] = {}
    for f in m.flows:
        parallel.setdefault((f.source, f.target), []).append(f.id)
    for f in m.flows:
        group = parallel[(f.source, f.target)]
        e = ET.SubElement(plane, _q(BPMNDI, "BPMNEdge"), {"id": f"{f.id}_di", "bpmnElement": f.id})
        for x, y in _waypoints(bounds[f.source], bounds[f.target], group.index(f.id), len(group)):
            ET.SubElement(e, _q(DI, "waypoint"), {"x": _fmt(x), "y": _fmt(y)})
    ET.indent(defs)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(defs, encoding="unicode") + "\n"


def export_all(processes, directory: Path) -> list[Path]:
    """One ``<id>.bpmn`` per definition in ``directory``; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for p in processes:
        path = directory / f"{p.id}.bpmn"
        path.write_text(to_xml(p), encoding="utf-8")
        out.append(path)
    return out
