"""The paper form of a result: what the seeds hand out at the ЦОН for S1 and S2 ("на бумажном
носителе"), printed as a PDF (reportlab) from the provider's signed electronic result. It carries a
QR code with the document's number and the link where anyone checks it (ИС ГБД ЕЛ's public
registry), and says that the electronic original is signed with the provider's ЭЦП. Text in the
result's language; DejaVu Sans (Debian's fonts-dejavu-core) for Cyrillic and Kazakh letters."""
from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

LABELS = {
    "ru": {"number": "Номер", "date": "Дата", "holder": "Получатель услуги", "provider": "Услугодатель",
           "reason": "Основание отказа", "details": "Сведения", "application": "Заявление",
           "signed": "Электронный оригинал подписан ЭЦП услугодателя. Проверка подлинности:",
           "testing": "Тестирование"},
    "kk": {"number": "Нөмірі", "date": "Күні", "holder": "Көрсетілетін қызметті алушы",
           "provider": "Көрсетілетін қызметті беруші", "reason": "Бас тарту негізі", "details": "Мәліметтер",
           "application": "Өтініш",
           "signed": "Электрондық түпнұсқаға көрсетілетін қызметті берушінің ЭЦҚ-сы қойылған. Түпнұсқалығын тексеру:",
           "testing": "Тестілеу"},
}


@cache
def _fonts() -> tuple[str, str]:
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    return "DejaVuSans", "DejaVuSans-Bold"


def _lines(text: str, font: str, size: float, width: float) -> list[str]:
    out, line = [], ""
    for word in str(text).split():
        probe = f"{line} {word}".strip()
        if line and pdfmetrics.stringWidth(probe, font, size) > width:
            out.append(line)
            line = word
        else:
            line = probe
    return out + ([line] if line else [])


def _flat(details, prefix: str = "") -> list[tuple[str, str]]:
    """The form's fields as "a.b: value" lines."""
    if isinstance(details, dict):
        return [kv for k, v in details.items() for kv in _flat(v, f"{prefix}{k}.")]
    if isinstance(details, list):
        return [(prefix.rstrip("."), ", ".join(map(str, details)))]
    return [(prefix.rstrip("."), str(details))]


def result_pdf(result: dict, verify_url: str) -> bytes:
    """The paper form of ``result`` ({kind, document, signature}), one A4 page or more."""
    regular, bold = _fonts()
    doc = result["document"]
    lang = "kk" if doc.get("language") == "kk" else "ru"
    t = LABELS[lang]
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(str(doc.get("title") or doc.get("title_ru") or result.get("kind")))
    width, height = A4
    left, right = 20 * mm, width - 20 * mm
    y = height - 25 * mm

    def write(text: str, *, font: str = regular, size: float = 10.5, gap: float = 1.45) -> None:
        nonlocal y
        for line in _lines(text, font, size, right - left):
            if y < 30 * mm:
                c.showPage()
                y = height - 25 * mm
            c.setFont(font, size)
            c.drawString(left, y, line)
            y -= size * gap

    provider = doc.get("provider") or {}
    write(doc.get("provider_name") or provider.get(f"name_{lang}") or provider.get("name_ru") or "", font=bold, size=11)
    y -= 4 * mm
    write(doc.get("title") or doc.get("title_ru") or "", font=bold, size=15)
    y -= 2 * mm
    number = doc.get("number") or doc.get("application_number") or ""
    write(f"{t['number']}: {number}", font=bold, size=12)
    write(f"{t['date']}: {doc.get('date', '')}")
    write(f"{t['application']}: {doc.get('application_number', '')}")
    holder = doc.get("holder") or {}
    write(f"{t['holder']}: {holder.get('name') or ''} ({holder.get('iin_bin', '')})")
    write(f"{t['provider']}: БИН {provider.get('bin', '')}")
    if doc.get("testing_at"):
        write(f"{t['testing']}: {doc['testing_at']}, {doc.get('testing_place', '')}")
    if doc.get("kind") == "refusal":
        y -= 2 * mm
        write(f"{t['reason']}: {doc.get('reason') or ''}")
    if doc.get("details"):
        y -= 2 * mm
        write(t["details"], font=bold)
        for key, value in _flat(doc["details"]):
            write(f"{key}: {value}", size=9.5)

    # the QR code: the number and where to check it
    qr = QrCodeWidget(f"{number} {verify_url}")
    x0, y0, x1, y1 = qr.getBounds()
    side = 32 * mm
    drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
    drawing.add(qr)
    if y < 30 * mm + side:
        c.showPage()
        y = height - 25 * mm
    renderPDF.draw(drawing, c, left, 22 * mm)
    c.setFont(regular, 8.5)
    ty = 22 * mm + side - 4 * mm
    for line in _lines(t["signed"], regular, 8.5, right - left - side - 6 * mm) + [verify_url]:
        c.drawString(left + side + 6 * mm, ty, line)
        ty -= 11
    c.showPage()
    c.save()
    return buf.getvalue()


def verify_url(document: dict) -> str:
    """Where anyone checks a licence or certificate by its number: ИС ГБД ЕЛ's public registry
    (``EGOV_PUBLIC_REGISTRY_URL``, else e_licensing on this host); a refusal has no public entry."""
    import os

    base = os.environ.get("EGOV_PUBLIC_REGISTRY_URL") or (
        f"http://{os.environ.get('EGOV_HOST', '127.0.0.1')}:{os.environ.get('EGOV_E_LICENSING_PORT', '8003')}")
    if document.get("kind") == "refusal" or not document.get("number"):
        return f"{base.rstrip('/')}/api/v1/permits"
    return f"{base.rstrip('/')}/api/v1/permits/{document['number']}"
