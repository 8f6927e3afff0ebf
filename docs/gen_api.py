"""The API reference: each service's OpenAPI document (``app.openapi()`` of the app itself, no
server started) and a static ReDoc page per service that renders it with the ReDoc bundle the
services serve at /redoc — no CDN, and the spec is inline, so the page works from ``file://`` too.

``python docs/gen_api.py OUT_DIR`` writes ``<service>.json`` and ``<service>.html`` there;
``make docs`` does the same inside the site (``docs/hooks.py``).
"""
from __future__ import annotations

import html
import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: service name → the module whose ``app`` it is, in the order of the README's table
SERVICES = {
    "portal": "services.portal.main",
    "gateway": "services.gateway.main",
    "e_licensing": "services.e_licensing.main",
    "provider_arm": "services.provider_arm.main",
    "nca": "services.nca.main",
    "registries": "services.registries.main",
    "con": "services.con.main",
}


def openapi_documents() -> dict[str, dict]:
    """Each service's OpenAPI document, as its running app would serve at /openapi.json."""
    return {name: importlib.import_module(module).app.openapi() for name, module in SERVICES.items()}


def redoc_page(spec: dict, redoc_js_url: str) -> str:
    """A self-contained HTML page: ReDoc from ``redoc_js_url`` (a local file) over the inline spec."""
    inline = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")
    title = html.escape(spec.get("info", {}).get("title", "API"))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — API reference</title>
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<div id="redoc"></div>
<script src="{html.escape(redoc_js_url)}"></script>
<script>
Redoc.init({inline}, {{"hideDownloadButton": false}}, document.getElementById("redoc"));
</script>
</body>
</html>
"""


def index_markdown(docs: dict[str, dict]) -> str:
    lines = ["# API reference", "",
             "Each service's OpenAPI document, generated from the service's own app (`app.openapi()`), "
             "rendered with ReDoc served from this site (no CDN). A running service shows the same at "
             "`/docs` (Swagger UI) and `/redoc`, from assets it serves itself.", "",
             "| service | reference | OpenAPI | operations |", "|---|---|---|---|"]
    for name, spec in docs.items():
        count = sum(1 for path in spec.get("paths", {}).values() for _ in path)
        lines.append(f"| {spec['info']['title']} | [{name}]({name}.html) | [{name}.json]({name}.json) | {count} |")
    lines += ["", "Every refusal is the catalogue's error body: see the [error catalogue](../errors.md).", ""]
    return "\n".join(lines)


def redoc_asset() -> Path:
    from shared.app import docs_assets_dir

    return Path(docs_assets_dir()) / "redoc.standalone.js"


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "site/api")
    out.mkdir(parents=True, exist_ok=True)
    documents = openapi_documents()
    (out / "redoc.standalone.js").write_bytes(redoc_asset().read_bytes())
    for service, document in documents.items():
        (out / f"{service}.json").write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        (out / f"{service}.html").write_text(redoc_page(document, "redoc.standalone.js"), encoding="utf-8")
    print(f"{len(documents)} services written to {out}")
