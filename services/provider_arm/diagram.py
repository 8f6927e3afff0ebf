"""Draw a process definition as an SVG laid out by Graphviz (``dot``).

One lane (a cluster) per role, named in the regulation's own words (``ROLES``); one box per step with
its number, its full title (wrapped at word boundaries, never cut), its time limit and the paragraph
of the seed it comes from; the decisions as labelled arrows (refusals red and dashed); the endings
(result, reasoned refusal); a legend. ``render_svg(process, current_step=..., visited=...)`` marks the
steps a request went through (class ``visited``, a tick, green) and the one it stands at (class
``current``, orange), and the arrows it took. Every step is a ``<g class="node step …"
data-step="<key>">`` with the full title also in its ``<desc>``.

When ``dot`` is not installed the older hand-drawn layout (``diagram_hand.py``) is used instead, and
the SVG's title says so. The text helpers here (``limit_text``, ``decision_label``, ``endings``) are
shared with the BPMN export (``bpmn.py``).
"""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Iterable, Sequence

from shared.regulations import ROLES, Process, Step

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

UNIT_RU = {"minutes": "мин", "hours": "ч", "working_days": "раб. дн."}
CHANNEL_RU = {"con": "ЦОН", "portal": "портал"}
ACTION_RU = {
    "assign": "назначение исполнителя", "prepare_result": "оформление результата", "sign_result": "подпись ЭЦП",
    "deliver_result": "выдача результата", "inspection": "предлицензионный контроль",
    "schedule_testing": "график тестирования", "sign_notice": "подпись уведомлений ЭЦП", "notify_testing": "уведомления", "hold_testing": "тестирование",
}
#: how a decision without its own ``title_ru`` reads on the diagrams
DECISION_RU = {
    "registered": "зарегистрировано", "assigned": "исполнитель назначен", "forwarded": "передано",
    "documents_ok": "документы в порядке", "conforms": "соответствует", "prepared": "подготовлено",
    "signed": "подписано", "handed_over": "выдано", "delivered": "направлено", "scheduled": "назначено",
    "notified": "уведомлены", "passed": "сдано", "refuse": "отказ",
}
NO_DOT_NOTE = " (упрощённая схема: Graphviz (dot) не установлен)"
FONT = "DejaVu Sans"
RED, GREEN, ORANGE, GREY = "#c62828", "#2e7d32", "#f57f17", "#444444"


# --- text shared with the BPMN export -------------------------------------------------------------

def _fmt_limit(limit) -> str:
    return f"{limit[0]} {UNIT_RU[limit[1]]}"


def limit_text(step: Step) -> str:
    """The step's time limit as one line: "срок: …" (per subtype / channel when the regulation gives
    several), "срок не установлен", and "(день приёма не входит)" when the day of receipt is not counted."""
    parts = []
    if step.limits_by_subtype:
        groups: dict = {}
        for k, v in step.limits_by_subtype:
            groups.setdefault(v, []).append(k)
        parts.append("; ".join(f"{_fmt_limit(v)} ({', '.join(ks)})" for v, ks in groups.items()))
    elif step.limit:
        parts.append(_fmt_limit(step.limit))
    if step.limits_by_channel:
        parts.append("; ".join(f"{CHANNEL_RU.get(k, k)}: {_fmt_limit(v)}" for k, v in step.limits_by_channel))
    if not parts and step.same_term_as:
        return f"срок: в сроке этапа «{step.same_term_as}»"
    if not parts:
        text = "срок не установлен"
    else:
        text = "срок: " + " | ".join(parts)
    if step.skip_day_of_receipt:
        text += " (день приёма не входит)"
    return text


def decision_label(step: Step, name: str) -> str:
    """How a decision reads: its ``title_ru``, else a Russian word for it; refusals say "отказ"."""
    d = step.decision(name)
    label = d.title_ru or DECISION_RU.get(d.name, d.name)
    if d.outcome == "refusal" and "отказ" not in label.lower():
        label = f"отказ: {label}"
    return label


def role_label(role: str) -> str:
    return ROLES.get(role, role)


def endings(process: Process, step: Step) -> tuple[bool, bool]:
    """(can deliver the result, can deliver a reasoned refusal) for a step that ends the process."""
    refusal = any(d.outcome == "refusal" and d.next and _reaches(process, d.next, step.key)
                  for s in process.steps for d in s.decisions)
    # the result: a path from the first step without a refusal
    seen, todo = set(), [process.first.key]
    while todo:
        k = todo.pop()
        if k in seen:
            continue
        seen.add(k)
        todo.extend(d.next for d in process.step(k).decisions if d.next and d.outcome != "refusal")
    return step.key in seen, refusal


def _reaches(process: Process, start: str, target: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        k = todo.pop()
        if k == target:
            return True
        if k in seen:
            continue
        seen.add(k)
        todo.extend(d.next for d in process.step(k).decisions if d.next)
    return False


def skip_edges(process: Process) -> list[tuple[str, str, str]]:
    """(from, to, label) for the steps only some subtypes take: the others go past them."""
    out = []
    for s in process.steps:
        if not s.only_for_subtypes:
            continue
        target = s.skip_to or next(d.next for d in s.decisions if d.outcome is None and d.next)
        for p in process.steps:
            if any(d.next == s.key and d.outcome is None for d in p.decisions):
                out.append((p.key, target, f"мимо шага {s.no} (остальные подвиды)"))
    return out


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters, broken only between words (a longer word keeps its line)."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


def dot_available() -> bool:
    return shutil.which("dot") is not None


# --- the Graphviz drawing -------------------------------------------------------------------------

def _h(text: str) -> str:
    """Escaped for a Graphviz HTML-like label."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _lines(lines: Iterable[str], align: str = "LEFT") -> str:
    return "".join(f'{_h(line)}<BR ALIGN="{align}"/>' for line in lines)


def _step_label(s: Step, visited: bool) -> str:
    title = wrap(f"{s.no}. {s.title_ru}", 46)
    number = f"{s.no}."
    first = f"<B>{number}</B>&#160;{_h(title[0][len(number):].lstrip())}" + '<BR ALIGN="LEFT"/>'
    meta = [limit_text(s), s.cite + (f" · {ACTION_RU[s.action]}" if s.action else "")]
    if s.deputy_allowed:
        meta.append("или его заместитель")
    if s.only_for_subtypes:
        meta.append("только: " + ", ".join(s.only_for_subtypes))
    small = [line for m in meta for line in wrap(m, 58)]
    tick = f'<FONT COLOR="{GREEN}"><B>✓ пройден</B></FONT><BR ALIGN="LEFT"/>' if visited else ""
    return (f"<{tick}{first}{_lines(title[1:])}"
            f'<FONT POINT-SIZE="9" COLOR="#555555">{_lines(small)}</FONT>>')


def _graph(process: Process, current: str | None, visited: set[str], taken: set[tuple[str, str]]):
    import graphviz

    title = wrap(f"{process.id}: {process.title_ru}", 90)
    g = graphviz.Digraph(process.id, format="svg")
    g.attr("graph", rankdir="TB", fontname=FONT, fontsize="11", newrank="true", nodesep="0.35",
           ranksep="0.45", labelloc="t", forcelabels="true", labeljust="c", compound="true",
           label=f'<<B>{_lines(title, "CENTER")}</B><FONT POINT-SIZE="9" COLOR="#666666">'
                 f'{_lines(wrap(process.source, 110), "CENTER")}</FONT>>')
    g.attr("node", fontname=FONT, fontsize="11", shape="box", style="rounded,filled", fillcolor="white",
           color="#555555", margin="0.14,0.08")
    g.attr("edge", fontname=FONT, fontsize="9", color=GREY, fontcolor="#333333", arrowsize="0.7")

    roles = list(dict.fromkeys(s.role for s in process.steps))
    for i, role in enumerate(roles):
        with g.subgraph(name=f"cluster_{role}") as c:
            c.attr(label=f'<<B>{_lines(wrap(role_label(role), 40), "CENTER")}</B>>', style="rounded,filled",
                   fillcolor="#f3f6f9" if i % 2 == 0 else "#eef3ee", color="#90a4ae", fontsize="11",
                   id=f"lane-{role}", **{"class": "lane"})
            for s in process.steps:
                if s.role != role:
                    continue
                cls = ["step"]
                attrs = {}
                if s.key in visited:
                    cls.append("visited")
                    attrs.update(fillcolor="#e8f5e9", color=GREEN, penwidth="2")
                if s.key == current:
                    cls.append("current")
                    attrs.update(fillcolor="#fff8e1", color=ORANGE, penwidth="3.5")
                if s.only_for_subtypes:
                    cls.append("skippable")
                    attrs["style"] = "rounded,filled,dashed"
                c.node(f"s_{s.key}", label=_step_label(s, s.key in visited), id=f"step-{s.key}",
                       tooltip=f"{s.no}. {s.title_ru}", **{"class": " ".join(cls)}, **attrs)

    on_path = bool(visited or current)
    g.node("start", label="заявление\nпоступило", shape="circle", fixedsize="true", width="0.9",
           fontsize="8", fillcolor="#e3f2fd", color=GREEN if on_path else "#1565c0",
           penwidth="2.5" if on_path else "1", id="start", **{"class": "event start"})
    g.edge("start", f"s_{process.first.key}", color=GREEN if on_path else GREY,
           penwidth="2.5" if on_path else "1", **{"class": "edge-start taken" if on_path else "edge-start"})

    refused = any(process.step(k).decision(d) is not None and process.step(k).decision(d).outcome == "refusal"
                  for k, d in taken)
    ends = {}
    for s in process.steps:
        for d in s.decisions:
            refusal = d.outcome == "refusal"
            label = decision_label(s, d.name)
            is_taken = (s.key, d.name) in taken
            attrs = {"xlabel": _wrap_edge(label), "tooltip": f"{s.key} → {d.next or 'конец'}: {d.name}"}
            cls = ["refusal"] if refusal else []
            if refusal:
                attrs.update(color=RED, fontcolor=RED, style="dashed")
            if is_taken:
                cls.append("taken")
                attrs.update(color=GREEN if not refusal else RED, penwidth="3")
            if d.next is not None:
                g.edge(f"s_{s.key}", f"s_{d.next}", **attrs, **({"class": " ".join(cls)} if cls else {}))
                continue
            result_ok, refusal_ok = endings(process, s)
            for kind, ok in (("result", result_ok), ("refusal", refusal_ok)):
                if not ok:
                    continue
                ends[kind] = True
                end_attrs = dict(attrs)
                end_cls = []
                if kind == "refusal":
                    end_attrs.update(color=RED, fontcolor=RED, style="dashed",
                                     xlabel=_wrap_edge(f"{label}: мотивированный отказ"))
                    end_cls.append("refusal")
                else:
                    end_attrs.update(color=GREY, fontcolor="#333333", style="solid")
                if is_taken and refused == (kind == "refusal"):
                    end_cls.append("taken")
                    end_attrs.update(color=GREEN if kind == "result" else RED, penwidth="3")
                else:
                    end_attrs.pop("penwidth", None)
                g.edge(f"s_{s.key}", f"end_{kind}", **end_attrs,
                       **({"class": " ".join(end_cls)} if end_cls else {}))
    if ends.get("result"):
        g.node("end_result", label=_h("\n".join(wrap("Результат: " + process.result_title_ru, 34))),
               shape="box", style="rounded,filled,bold", fillcolor="#e8f5e9", color=GREEN, penwidth="2",
               fontsize="10", id="end-result", **{"class": "event end result"})
    if ends.get("refusal"):
        g.node("end_refusal", label="Мотивированный отказ\nв оказании услуги", shape="box",
               style="rounded,filled,bold", fillcolor="#ffebee", color=RED, penwidth="2", fontsize="10",
               id="end-refusal", **{"class": "event end refusal"})
    if ends:
        with g.subgraph() as same:
            same.attr(rank="sink")
            for kind in ends:
                same.node(f"end_{kind}")

    for a, b, label in skip_edges(process):
        taken_skip = a in visited and (b in visited or b == current) and not any(
            (a, d.name) in taken and d.next == b for d in process.step(a).decisions)
        g.edge(f"s_{a}", f"s_{b}", xlabel=_wrap_edge(label), style="dotted", color=GREEN if taken_skip else "#78909c",
               fontcolor="#546e7a", constraint="false", penwidth="3" if taken_skip else "1",
               **{"class": "skip taken" if taken_skip else "skip"})
    return g


def _wrap_edge(label: str) -> str:
    return "\n".join(wrap(label, 32))


def _taken_edges(process: Process, visited: Sequence[str], current: str | None,
                 taken: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (step, decision) arrows the request took: as given, else those between consecutive visited steps."""
    if taken:
        return {(k, d) for k, d in taken if k in {s.key for s in process.steps}}
    path = list(visited) + ([current] if current else [])
    out = set()
    for a, b in zip(path, path[1:]):
        for d in process.step(a).decisions:
            if d.next == b:
                out.add((a, d.name))
    return out


LEGEND_H = 86


def _legend(width: float, y: float) -> tuple[ET.Element, float]:
    """A legend under the drawing, and the width it needs."""
    def el(parent, tag, **attrs):
        e = ET.SubElement(parent, f"{{{SVG_NS}}}{tag}", {k.replace("_", "-"): str(v) for k, v in attrs.items()})
        return e

    def text(parent, x, ty, s, **attrs):
        t = el(parent, "text", x=x, y=ty, font_size=10, fill="#333333", **attrs)
        t.text = s
        return t

    g = ET.Element(f"{{{SVG_NS}}}g", {"class": "legend", "id": "legend", "transform": f"translate(8,{y:.0f})"})
    frame = el(g, "rect", x=0, y=0, width=0, height=LEGEND_H - 8, rx=6, fill="#fafafa", stroke="#bbbbbb")
    text(g, 10, 16, "Легенда", font_weight="bold")
    boxes = [
        ("white", "#555555", "1", "", "шаг: номер, название, срок, пункт"),
        ("#e8f5e9", GREEN, "2", "", "пройден заявкой ✓"),
        ("#fff8e1", ORANGE, "3.5", "", "текущий шаг заявки"),
        ("white", "#555555", "1", "5 3", "только для некоторых подвидов"),
        ("#f3f6f9", "#90a4ae", "1", "", "дорожка: исполнитель по регламенту"),
    ]
    x = 10
    for fill, stroke, pw, dash, caption in boxes:
        r = el(g, "rect", x=x, y=26, width=26, height=16, rx=4, fill=fill, stroke=stroke, stroke_width=pw)
        if dash:
            r.set("stroke-dasharray", dash)
        text(g, x + 32, 38, caption)
        x += 32 + 6.6 * len(caption) + 18
    needed = x
    lines = [
        (GREY, "1.2", "", "решение (ведёт к следующему шагу)"),
        (RED, "1.2", "5 3", "отказ"),
        (GREEN, "3", "", "путь, пройденный заявкой"),
        ("#78909c", "1.2", "2 3", "пропуск шага для остальных подвидов"),
    ]
    x = 10
    for stroke, pw, dash, caption in lines:
        ln = el(g, "line", x1=x, y1=62, x2=x + 34, y2=62, stroke=stroke, stroke_width=pw)
        if dash:
            ln.set("stroke-dasharray", dash)
        el(g, "path", d=f"M{x + 34},58 L{x + 40},62 L{x + 34},66 z", fill=stroke)
        text(g, x + 46, 66, caption)
        x += 46 + 6.6 * len(caption) + 22
    needed = max(needed, x) + 16
    frame.set("width", f"{max(width, needed) - 16:.0f}")
    return g, needed


def _num(v: str) -> float:
    return float(v.replace("pt", "").replace("px", ""))


def _decorate(svg: str, process: Process, current: str | None, visited: set[str]) -> str:
    """Graphviz's SVG with the data-step attributes, a legend and a title; returned as a string."""
    root = ET.fromstring(svg)
    for g in root.iter(f"{{{SVG_NS}}}g"):
        classes = (g.get("class") or "").split()
        if "step" not in classes:
            continue
        key = g.get("id", "").removeprefix("step-")
        step = process.step(key)
        g.set("data-step", key)
        if key == current:
            g.set("data-current", "true")
        desc = ET.Element(f"{{{SVG_NS}}}desc")
        desc.text = f"{step.no}. {step.title_ru}"
        g.insert(0, desc)
    width, height = _num(root.get("width")), _num(root.get("height"))
    legend, legend_w = _legend(width, height)
    new_w, new_h = max(width, legend_w), height + LEGEND_H
    root.set("width", f"{new_w:.0f}pt")
    root.set("height", f"{new_h:.0f}pt")
    root.set("viewBox", f"0 0 {new_w:.2f} {new_h:.2f}")
    root.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")  # the space after a step's number
    title = ET.Element(f"{{{SVG_NS}}}title")
    title.text = f"{process.id}: {process.title_ru}"
    style = ET.Element(f"{{{SVG_NS}}}style")
    style.text = ('text{font-family:"DejaVu Sans",Verdana,Arial,sans-serif;white-space:pre}'
                  ".step.current>path,.step.current>polygon{filter:drop-shadow(0 0 4px #f57f17)}")
    root.insert(0, style)
    root.insert(0, title)
    root.append(legend)
    return ET.tostring(root, encoding="unicode")


@lru_cache(maxsize=256)
def _render(process: Process, current: str | None, visited: tuple[str, ...],
            taken: tuple[tuple[str, str], ...]) -> str:
    taken_set = _taken_edges(process, visited, current, taken)
    g = _graph(process, current, set(visited), taken_set)
    svg = g.pipe(format="svg", encoding="utf-8")
    return _decorate(svg, process, current, set(visited))


def render_svg(process: Process, *, current_step: str | None = None, visited: list[str] = (),
               taken: Sequence[tuple[str, str]] = ()) -> str:
    """The definition as SVG; ``visited`` — the steps a request went through (in order), ``current_step``
    — where it stands, ``taken`` — optionally the (step, decision) pairs it took (else inferred)."""
    if dot_available():
        try:
            return _render(process, current_step, tuple(visited), tuple(tuple(t) for t in taken))
        except (OSError, RuntimeError, subprocess.CalledProcessError, ImportError):  # graphviz.ExecutableNotFound
            pass
    from .diagram_hand import render_svg_hand

    return render_svg_hand(process, current_step=current_step, visited=visited, note=NO_DOT_NOTE)
