"""The web pages' own logic: messages in both languages, the form generated from a JSON Schema and
read back, the signature upload, redirects kept on the site."""
from __future__ import annotations

import base64
import re
from pathlib import Path

from starlette.datastructures import FormData

from shared import regulations
from services.web import forms
from services.web.arm import overdue
from services.web.common import MESSAGES, read_signature, safe_next

TEMPLATES = Path(__file__).parents[2] / "services" / "web" / "templates"


def test_both_languages_have_the_same_messages_and_every_template_key():
    assert set(MESSAGES["ru"]) == set(MESSAGES["kk"])
    assert all(MESSAGES["kk"].values())
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_]+\.[a-z_]+)'\)", template.read_text()))
    assert used and used <= set(MESSAGES["ru"]), used - set(MESSAGES["ru"])


def _as_form(fields: list[dict]) -> FormData:
    items = []
    for f in fields:
        if f["kind"] == "group":
            items += _as_form(f["fields"]).multi_items()
        elif f["type"] == "multiselect":
            items += [(f["name"], v) for v in f["value"]]
        elif f["type"] == "checkbox":
            items += [(f["name"], "1")] if f["value"] else []
        elif f["value"] not in (None, ""):
            items.append((f["name"], str(f["value"])))
    return FormData(items)


def test_every_catalogue_form_round_trips_its_example_and_passes_its_schema():
    for entry in regulations.services().values():
        schema, example = entry.form_schema, entry.example
        generated = forms.fields(schema, example)
        assert forms.parse(schema, _as_form(generated)) == example, entry.code
        assert forms.problems(schema, example) == []


def test_form_problems_name_the_field():
    schema = regulations.services()["S2"].form_schema
    example = regulations.services()["S2"].example
    bad = {**example, "vehicle": {**example["vehicle"], "vin": "short"}}
    assert any(p.startswith("vehicle.vin:") for p in forms.problems(schema, bad))


def test_signature_upload_accepts_base64_text_or_der():
    der = b"\x30\x82\x01\x00" + bytes(range(200))
    b64 = base64.b64encode(der).decode()
    assert read_signature(None, der) == b64
    assert read_signature(None, (b64[:40] + "\n" + b64[40:] + "\n").encode()) == b64
    assert read_signature(f" {b64}\n", None) == b64


def test_next_stays_on_the_site():
    assert safe_next("/cabinet/requests/1", "/") == "/cabinet/requests/1"
    for bad in ("//evil.example/", "https://evil.example/", "\\\\evil", None, ""):
        assert safe_next(bad, "/cabinet") == "/cabinet"


def test_overdue_is_past_due_and_open():
    assert overdue({"status": "OPEN", "due_at": "2020-01-01T10:00:00+05:00"})
    assert not overdue({"status": "OPEN", "due_at": "2999-01-01T10:00:00+05:00"})
    assert not overdue({"status": "DONE", "due_at": "2020-01-01T10:00:00+05:00"})
    assert not overdue({"status": "OPEN", "due_at": None})
