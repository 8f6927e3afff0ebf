"""A newcomer adds a regional variant by adding data, not code: a copy of the regulations with an
eleventh variant — S2 in a region no variant served (Karaganda), its provider and its staff — and
the whole system run on that copy (``EGOV_REGULATIONS_DIR``) takes an application there from the
portal to a signed certificate."""
from __future__ import annotations

import shutil

import pytest

from shared import regulations
from shared.envelope import canonical

from .conftest import running_system
from .test_chain import new_applicant

pytestmark = pytest.mark.integration

PROVIDER = '''
[karaganda-transport]
bin = "050440004560"
bin_source = "simulator"
names_source = "simulator"
name_ru = "ГУ \\"Управление пассажирского транспорта и автомобильных дорог Карагандинской области\\""
name_kk = "\\"Қарағанды облысының жолаушылар көлігі және автомобиль жолдары басқармасы\\" ММ"
region = "karaganda"

[[karaganda-transport.operators]]
username = "kar-clerk"
password = "Clerk-2026!"
full_name = "ТЕСТОВА АЙНУР СЕРИКОВНА"
iin = "870101410012"
roles = ["clerk"]
cert_roles = ["employee"]

[[karaganda-transport.operators]]
username = "kar-head"
password = "Head-2026!"
full_name = "ТЕСТОВ БАУЫРЖАН АСКАРОВИЧ"
iin = "720202320022"
roles = ["head"]
cert_roles = ["first_head"]

[[karaganda-transport.operators]]
username = "kar-specialist"
password = "Spec-2026!"
full_name = "ТЕСТОВ ДАМИР НУРЛАНОВИЧ"
iin = "910303330039"
roles = ["specialist"]
cert_roles = ["employee"]
'''


@pytest.fixture
def regulations_copy(tmp_path, monkeypatch):
    folder = tmp_path / "regulations"
    shutil.copytree(regulations.regulations_dir(), folder)
    with (folder / "providers.toml").open("a", encoding="utf-8") as f:
        f.write(PROVIDER)
    # the Almaty definition as the template of the new one: same steps, its own region and provider
    almaty = (folder / "variants" / "S2-almaty.toml").read_text(encoding="utf-8")
    (folder / "variants" / "S2-karaganda.toml").write_text(
        almaty.replace('id = "S2-almaty"', 'id = "S2-karaganda"').replace('region = "almaty"', 'region = "karaganda"')
        .replace('provider = "almaty-transport"', 'provider = "karaganda-transport"')
        .replace('number_prefix = "ITI-ALA"', 'number_prefix = "ITI-KAR"'), encoding="utf-8")
    monkeypatch.setenv("EGOV_REGULATIONS_DIR", str(folder))
    regulations.reload()
    yield folder
    monkeypatch.delenv("EGOV_REGULATIONS_DIR")
    regulations.reload()


def test_an_eleventh_variant_added_as_data_runs_end_to_end(regulations_copy, tmp_path):
    assert "S2-karaganda" in regulations.all_processes() and "karaganda" in regulations.regions()
    with running_system(tmp_path / "egov") as system:
        c = system.client
        catalogue = {s["code"]: s for s in c.portal("GET", "/services").json()}
        assert "karaganda" in {v["region"] for v in catalogue["S2"]["variants"]}
        iin, _, token, signer = new_applicant(system, tmp_path)
        doc = c.prepare_document(token, iin, region="karaganda")
        r = c.submit(token, doc, signer.sign(canonical(doc)))
        assert r.status_code == 202, r.text
        request_id = r.json()["request_id"]
        number = c.wait_status(token, request_id, {"REGISTERED", "IN_PROCESSING"})["application_number"]
        c.run_almaty_s2(number, staff="kar")
        c.wait_status(token, request_id, {"COMPLETED"})
        result = c.portal("GET", f"/requests/{request_id}/result", token).json()
        assert result["document"]["number"].startswith("ITI-KAR")
        assert result["document"]["provider"]["bin"] == "050440004560"
