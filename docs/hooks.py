"""MkDocs hooks (``mkdocs.yml``): the generated pages — the error catalogue from
``shared/errors.py`` and the API reference from each service's ``app.openapi()`` — are added to
the site at build time; nothing generated is written into docs/."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mkdocs.structure.files import File  # noqa: E402

import gen_api  # noqa: E402
import gen_errors  # noqa: E402

REDOC_JS = "assets/redoc/redoc.standalone.js"


def on_files(files, config):
    files.append(File.generated(config, "errors.md", content=gen_errors.catalogue_markdown()))
    documents = gen_api.openapi_documents()
    files.append(File.generated(config, "api/index.md", content=gen_api.index_markdown(documents)))
    files.append(File.generated(config, REDOC_JS, abs_src_path=str(gen_api.redoc_asset())))
    for name, document in documents.items():
        files.append(File.generated(config, f"api/{name}.json",
                                    content=json.dumps(document, ensure_ascii=False, indent=2)))
        files.append(File.generated(config, f"api/{name}.html",
                                    content=gen_api.redoc_page(document, f"../{REDOC_JS}")))
    return files
