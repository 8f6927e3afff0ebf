"""The fallback drawing of a process definition, used when Graphviz (``dot``) is not installed:
one box per step, arrows for decisions (``diagram.py`` lays the diagrams out with Graphviz).

Pure string building, no graphviz. Steps are laid out top to bottom in the order of the
definition; a decision to the next box is a straight arrow, other decisions are routed along the
right side (refusals along the left side, red and dashed). The current step is highlighted
(class ``current``) and visited steps are marked (class ``visited``, a tick).
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from shared.regulations import ROLES, Process

from .diagram import ACTION_RU, limit_text

BOX_W, BOX_H, GAP, TOP, LEFT = 520, 84, 46, 56, 250
WIDTH = LEFT + BOX_W + 260
def _esc(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _wrap(text: str, width: int = 62) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines[:2] if len(lines) <= 2 else [lines[0], lines[1][: width - 1] + "…"]


def render_svg_hand(process: Process, *, current_step: str | None = None, visited: list[str] = (),
                    note: str = "") -> str:
    steps = process.steps
    index = {s.key: i for i, s in enumerate(steps)}
    visited = set(visited)
    height = TOP + len(steps) * (BOX_H + GAP) + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{_esc(process.title_ru + note)}</title>",
        "<defs>"
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker>'
        '<marker id="arrow-refusal" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#c62828"/></marker>'
        "</defs>",
        "<style>.step rect{fill:#fff;stroke:#555;stroke-width:1.2}"
        ".step.visited rect{fill:#e8f5e9;stroke:#2e7d32}"
        ".step.current rect{fill:#fff8e1;stroke:#f57f17;stroke-width:3}"
        ".step.skippable rect{stroke-dasharray:6 3}"
        ".edge{fill:none;stroke:#444;stroke-width:1.2}"
        ".edge.refusal{stroke:#c62828;stroke-dasharray:5 3}"
        ".label{fill:#333;font-size:11px}.label.refusal{fill:#c62828}</style>",
        f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="14" font-weight="bold">'
        f"{_esc(process.id)}: {_esc(process.title_ru[:90])}</text>",
        f'<text x="{WIDTH / 2}" y="42" text-anchor="middle" font-size="11" fill="#666">'
        f"{_esc(process.source + note)}</text>",
    ]

    def top(i: int) -> int:
        return TOP + i * (BOX_H + GAP)

    for i, s in enumerate(steps):
        y = top(i)
        classes = ["step"]
        if s.key in visited:
            classes.append("visited")
        if s.key == current_step:
            classes.append("current")
        if s.only_for_subtypes:
            classes.append("skippable")
        role = ROLES.get(s.role, s.role)
        if s.deputy_allowed:
            role += " (или заместитель)"
        meta = f"{s.cite} · {s.key}" + (f" · {ACTION_RU[s.action]}" if s.action else "")
        if s.only_for_subtypes:
            meta += " · только: " + ", ".join(s.only_for_subtypes)
        out.append(f'<g class="{" ".join(classes)}" id="step-{_esc(s.key)}" data-step="{_esc(s.key)}"'
                   + (' data-current="true"' if s.key == current_step else "") + ">")
        out.append(f'<rect x="{LEFT}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>')
        out.append(f'<text x="{LEFT + 10}" y="{y + 18}" font-weight="bold">{s.no}. {_esc(role)}'
                   + (" ✓" if s.key in visited else "") + "</text>")
        for j, line in enumerate(_wrap(s.title_ru)):
            out.append(f'<text x="{LEFT + 10}" y="{y + 35 + j * 15}">{_esc(line)}</text>')
        out.append(f'<text x="{LEFT + 10}" y="{y + 77}" font-size="10" fill="#555">'
                   f"{_esc(limit_text(s))} · {_esc(meta)}</text>")
        # the full title, for readers and tests, even when wrapped/truncated above
        out.append(f"<desc>{_esc(s.title_ru)}</desc>")
        out.append("</g>")

    right_lane, left_lane = 0, 0
    for i, s in enumerate(steps):
        for d in s.decisions:
            refusal = d.outcome == "refusal"
            cls = "edge refusal" if refusal else "edge"
            marker = "url(#arrow-refusal)" if refusal else "url(#arrow)"
            label_cls = "label refusal" if refusal else "label"
            label = _esc(d.name + (f" — {d.title_ru}" if d.title_ru else ""))
            if d.next is None:
                y0 = top(i) + BOX_H
                out.append(f'<text class="{label_cls}" x="{LEFT + BOX_W / 2 + 6}" y="{y0 + 16}">{label} ■</text>')
                continue
            j = index[d.next]
            if j == i + 1 and not refusal:
                x = LEFT + BOX_W / 2
                out.append(f'<path class="{cls}" d="M{x},{top(i) + BOX_H} L{x},{top(j)}" marker-end="{marker}"/>')
                out.append(f'<text class="{label_cls}" x="{x + 6}" y="{top(i) + BOX_H + GAP / 2 + 4}">{label}</text>')
                continue
            y0, y1 = top(i) + BOX_H / 2 + 8, top(j) + BOX_H / 2 - 8
            if refusal:
                left_lane += 1
                x0, xl = LEFT, LEFT - 14 - (left_lane % 6) * 12
                out.append(f'<path class="{cls}" d="M{x0},{y0} L{xl},{y0} L{xl},{y1} L{x0},{y1}" '
                           f'marker-end="{marker}"/>')
                out.append(f'<text class="{label_cls}" x="{xl - 4}" y="{y0 - 4}" text-anchor="end">{label}</text>')
            else:
                right_lane += 1
                x0, xr = LEFT + BOX_W, LEFT + BOX_W + 14 + (right_lane % 6) * 12
                out.append(f'<path class="{cls}" d="M{x0},{y0} L{xr},{y0} L{xr},{y1} L{x0},{y1}" '
                           f'marker-end="{marker}"/>')
                out.append(f'<text class="{label_cls}" x="{xr + 4}" y="{y0 - 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out)
