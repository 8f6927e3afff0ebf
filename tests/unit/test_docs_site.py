"""The generated pages of `make docs`: the error catalogue (from shared/errors.py) and the API
reference (each service's app.openapi() with the locally served ReDoc)."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from shared.errors import CATALOGUE

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_error_catalogue_page_has_every_code_with_its_row():
    page = _load("gen_errors").catalogue_markdown()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([A-Z_]+)` \|.*$", page, re.M)}
    assert set(rows) == set(CATALOGUE)
    for code, spec in CATALOGUE.items():
        row = rows[code]
        assert f"| {spec.status} |" in row
        assert spec.message_ru in row and spec.message_kk in row
        assert ("| yes" if spec.retryable else "| no |") in row
        assert (spec.step or "—") in row


def test_the_generator_writes_the_page(tmp_path, monkeypatch):
    import runpy
    import sys

    out = tmp_path / "errors.md"
    monkeypatch.setattr(sys, "argv", ["gen_errors.py", str(out)])
    runpy.run_path(str(DOCS / "gen_errors.py"), run_name="__main__")
    text = out.read_text(encoding="utf-8")
    assert all(f"`{code}`" in text for code in CATALOGUE)


@pytest.fixture(scope="module")
def gen_api():
    return _load("gen_api")


def test_the_api_reference_has_every_service(gen_api):
    documents = gen_api.openapi_documents()
    assert set(documents) == {"portal", "gateway", "e_licensing", "provider_arm", "nca", "registries", "con"}
    for name, document in documents.items():
        assert document["openapi"].startswith("3.") and document["paths"], name
        json.dumps(document)  # serialisable as written into the site


def test_the_redoc_page_is_self_contained(gen_api):
    spec = {"openapi": "3.1.0", "info": {"title": "t</script><script>alert(1)", "version": "1"},
            "paths": {"/x": {"get": {"summary": "</script>"}}}}
    page = gen_api.redoc_page(spec, "../assets/redoc/redoc.standalone.js")
    assert '<script src="../assets/redoc/redoc.standalone.js">' in page
    assert "http://" not in page and "https://" not in page
    assert page.count("</script>") == 2  # the spec cannot close the inline script
    assert gen_api.redoc_asset().is_file()


def test_make_docs_builds_the_site_strictly(tmp_path):
    """What `make docs` runs (mkdocs build --strict, every warning an error: a broken link, a page
    missing from the navigation), into a directory of the test's own: the generated pages are there."""
    import os
    import subprocess
    import sys

    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet", "--strict", "--site-dir", str(site)],
                       cwd=DOCS.parent, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    errors = (site / "errors.html").read_text(encoding="utf-8")
    assert all(code in errors for code in CATALOGUE)
    for service in ("portal", "gateway", "e_licensing", "provider_arm", "nca", "registries", "con"):
        assert json.loads((site / "api" / f"{service}.json").read_text())["paths"], service
        assert (site / "api" / f"{service}.html").is_file()
    assert (site / "gateway-protocol.html").is_file() and (site / "web.html").is_file()
