"""Demo operators of the regional providers besides Almaty (which ``egov/demo.py`` already has).

Same shape as ``egov.demo.OPERATORS``: username, password, full name, IIN (valid check digit),
roles of the process definitions, the roles written into the signing certificate, and the
organisation's BIN and name (from ``shared.providers``). Heads and deputy heads get a certificate
with a signing right (``first_head`` / ``sign``); the others ``employee``.

The Transport Control Inspection (S1 Mangistau, step 4) is an outside body; in the simulator its
inspector works in the provider's workstation under the provider's BIN with the role ``inspection``.

``egov.demo`` adds them to its operators, so ``egov up`` seeds them with their certificates.
"""
from __future__ import annotations

from shared.providers import PROVIDERS


def _ops(provider_key: str, people: list[tuple[str, str, str, str, list[str], list[str]]]) -> list[dict]:
    p = PROVIDERS[provider_key]
    return [{"username": u, "password": pw, "full_name": name, "iin": iin, "roles": roles, "cert_roles": cert,
             "bin": p.bin, "org": p.name_ru} for u, pw, name, iin, roles, cert in people]


OPERATORS: list[dict] = [
    *_ops("mangistau-transport", [
        ("mng-clerk", "Clerk-2026!", "ЖАКСЫЛЫКОВА АЛИЯ КАИРОВНА", "850520403034", ["clerk"], ["employee"]),
        ("mng-head", "Head-2026!", "КУАНЫШЕВ БОЛАТ СЕРИКОВИЧ", "760302302025", ["head"], ["first_head"]),
        ("mng-dept-head", "Dept-2026!", "ТАСМАГАМБЕТОВ АРМАН ЕРЛАНОВИЧ", "820707304047", ["department_head"],
         ["employee"]),
        ("mng-executor", "Exec-2026!", "НУРГАЛИЕВ ДАНИЯР АСКАРОВИЧ", "800115301010", ["executor"], ["employee"]),
        ("mng-inspector", "Insp-2026!", "УТЕПОВ МАРАТ ЖАНБОЛАТОВИЧ", "790909305055", ["inspection"], ["employee"]),
    ]),
    *_ops("zhambyl-transport", [
        ("zhm-clerk", "Clerk-2026!", "АБДРАХМАНОВА ГУЛЬНАР ТЕМИРОВНА", "830211406065", ["clerk"], ["employee"]),
        ("zhm-head", "Head-2026!", "САДЫКОВ ЕРЖАН МУХТАРОВИЧ", "710404307071", ["head"], ["first_head"]),
        ("zhm-deputy", "Deputy-2026!", "ОРАЗБАЕВ КАЙРАТ НУРЛАНОВИЧ", "740616308088", ["deputy_head"], ["sign"]),
        ("zhm-dept-head", "Dept-2026!", "БЕКОВ АЙДАР САМАТОВИЧ", "810818309095", ["department_head"], ["employee"]),
        ("zhm-specialist", "Spec-2026!", "ЕСЕНОВА АЙЖАН БАУЫРЖАНОВНА", "901010401119", ["specialist"], ["employee"]),
    ]),
    *_ops("aktobe-construction", [
        ("akt-clerk", "Clerk-2026!", "КАРИМОВА САУЛЕ ЕРБОЛОВНА", "841212402121", ["clerk"], ["employee"]),
        ("akt-head", "Head-2026!", "ИСМАГУЛОВ РУСЛАН ТАЛГАТОВИЧ", "731121303136", ["head"], ["first_head"]),
        ("akt-executor", "Exec-2026!", "ЖУНУСОВ АЛМАС КАНАТОВИЧ", "880330304148", ["executor"], ["employee"]),
        ("akt-executor2", "Exec2-2026!", "ТУЛЕГЕНОВА ДИНА МАРАТОВНА", "780125405157", ["executor"], ["employee"]),
    ]),
]
