"""The error catalogue page, generated from the one catalogue (``shared/errors.py``).

``python docs/gen_errors.py`` prints the Markdown; ``make docs`` puts it into the site as
``errors.md`` (``docs/hooks.py``), so the page never drifts from the code.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.errors import CATALOGUE  # noqa: E402

HEADER = """# Error catalogue

Every refusal of every service is one body (`shared/errors.py`):

```json
{"error": {"code": "…", "message_ru": "…", "message_kk": "…", "step": "process 7", "trace_id": "…"}}
```

*Retryable* codes are an outage or a limit, never a verdict on the request: the answer carries
`Retry-After` (the seconds shown), and a sender tries again later. Every other code is permanent:
the same input gets the same answer. *Default step* is the diagram box of the regulation named
when the refusal does not name its own.

This page is generated from `shared/errors.py` by `docs/gen_errors.py`: do not edit it by hand.

"""


def _cell(text: str | None) -> str:
    return (text or "—").replace("|", "\\|").replace("\n", " ")


def catalogue_markdown() -> str:
    """The page: one row per code, in the catalogue's order."""
    rows = ["| code | HTTP | retryable | message (ru) | message (kk) | default step |",
            "|---|---|---|---|---|---|"]
    for code, spec in CATALOGUE.items():
        retry = f"yes ({spec.retry_after} s)" if spec.retryable and spec.retry_after else (
            "yes" if spec.retryable else "no")
        rows.append(f"| `{code}` | {spec.status} | {retry} | {_cell(spec.message_ru)} | "
                    f"{_cell(spec.message_kk)} | {_cell(spec.step)} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    out = catalogue_markdown()
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(out, encoding="utf-8")
    else:
        sys.stdout.write(out)
