"""The paper form of a result (shared/paper.py): a real PDF whose text says what the document is."""
from __future__ import annotations

import io

from pypdf import PdfReader

from shared.paper import result_pdf, verify_url

CERT = {"kind": "certificate", "signature": "MIIB", "document": {
    "kind": "certificate", "number": "ITI-ALA-2026-7K3Q", "title": "Халықаралық техникалық байқау сертификаты",
    "title_ru": "Международный сертификат технического осмотра", "language": "kk", "date": "2026-11-30",
    "application_number": "EL-2026-0000042", "holder": {"iin_bin": "860717450455", "name": "ИВАНОВА АЙГУЛЬ"},
    "provider": {"bin": "041140033217", "name_ru": "КГУ «Управление»", "name_kk": "«Басқарма» КММ"},
    "provider_name": "«Басқарма» КММ", "details": {"vehicle": {"vin": "XTA21099043576182", "year": 2019}}}}


def text(pdf: bytes) -> str:
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_a_certificate_prints_in_its_language_with_number_holder_and_where_to_check_it():
    url = verify_url(CERT["document"])
    assert url.endswith("/api/v1/permits/ITI-ALA-2026-7K3Q")
    pdf = result_pdf(CERT, url)
    assert pdf.startswith(b"%PDF-")
    t = text(pdf)
    for expected in ("Халықаралық техникалық байқау сертификаты", "Нөмірі: ITI-ALA-2026-7K3Q", "ИВАНОВА АЙГУЛЬ",
                     "860717450455", "XTA21099043576182", "permits/ITI-ALA-2026-7K3Q"):
        assert expected in t, expected


def test_a_refusal_prints_its_reasons_in_russian():
    refusal = {"kind": "refusal", "signature": "MIIB", "document": {
        "kind": "refusal", "title": "Мотивированный отказ в оказании государственной услуги", "language": "ru",
        "application_number": "EL-2026-0000043", "reason": "Диагностическая карта просрочена",
        "holder": {"iin_bin": "860717450455"}, "provider": {"bin": "041140033217", "name_ru": "КГУ"}}}
    t = text(result_pdf(refusal, verify_url(refusal["document"])))
    assert "Основание отказа: Диагностическая карта просрочена" in t and "EL-2026-0000043" in t


def qr(pdf: bytes) -> list[str]:
    """The QR codes of the last page, as a phone reads them: the page rendered by PDFium, decoded by zxing-cpp."""
    import pypdfium2
    import zxingcpp

    doc = pypdfium2.PdfDocument(pdf)
    try:
        image = doc[len(doc) - 1].render(scale=2).to_pil()
    finally:
        doc.close()
    return [(c.format.name, c.text) for c in zxingcpp.read_barcodes(image)]


def test_the_qr_code_carries_the_number_and_the_link_to_check_it(monkeypatch):
    monkeypatch.setenv("EGOV_PUBLIC_REGISTRY_URL", "https://elicense.example.kz/")
    url = verify_url(CERT["document"])
    assert url == "https://elicense.example.kz/api/v1/permits/ITI-ALA-2026-7K3Q"
    assert qr(result_pdf(CERT, url)) == [("QRCode", f"ITI-ALA-2026-7K3Q {url}")]
    # a result too long for one page: the QR code is on the last one
    long = {**CERT, "document": {**CERT["document"], "details": {f"field_{i}": "значение " * 8 for i in range(90)}}}
    pdf = result_pdf(long, url)
    assert len(PdfReader(io.BytesIO(pdf)).pages) > 1
    assert qr(pdf) == [("QRCode", f"ITI-ALA-2026-7K3Q {url}")]
