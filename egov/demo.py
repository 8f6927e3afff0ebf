"""The demo people ``egov up`` seeds: applicants of the portal and operators of the provider.

Every one of them gets real certificates from the development НУЦ (SIGN and AUTH keys), kept
in ``<data dir>/pki/demo/<username>/{sign,auth}/``. ``egov demo accounts`` prints this list.
"""
from __future__ import annotations

from pathlib import Path

from shared.regulations import providers

APPLICANTS = [
    {"username": "860717450455", "kind": "IIN", "password": "Aigul-2026!", "full_name": "ИВАНОВА АЙГУЛЬ СЕРИКОВНА",
     "iin": "860717450455"},
    {"username": "921201450129", "kind": "IIN", "password": "Madina-2026!", "full_name": "СЕРИКОВА МАДИНА АСКАРОВНА",
     "iin": "921201450129"},
    {"username": "100340005775", "kind": "BIN", "password": "DemoTrans-2026!", "full_name": "ТОО «Демо Транс»",
     "iin": "790302312018", "signer_name": "АХМЕТОВ ЕРЛАН БОЛАТОВИЧ", "org": "ТОО «Демо Транс»",
     "cert_roles": ["first_head"]},
]


def operators() -> list[dict]:
    """Every provider's demo staff (``regulations/providers.toml``), with the provider's BIN and name."""
    return [{**o, "bin": p.bin, "org": p.name_ru} for p in providers().values() for o in p.operators]


OPERATORS = operators()
#: the Almaty provider, whose staff the README's walk-through uses
ALMATY = providers()["almaty-transport"]


def con_operators() -> list[dict]:
    """The ЦОН's demo operators (``regulations/con.toml``), employees of the ЦОН's BIN."""
    from shared.regulations.con import con

    desk = con()
    return [{**o, "bin": desk.bin, "org": desk.name_ru, "roles": ["con_operator"]} for o in desk.operators]


def key_dir(data_dir: Path, username: str, usage: str) -> Path:
    return data_dir / "pki" / "demo" / username / usage


def issue_all(ca, data_dir: Path) -> None:
    """Issue SIGN and AUTH certificates to every demo person who has none yet."""
    for person in APPLICANTS + operators() + con_operators():
        for usage in ("sign", "auth"):
            d = key_dir(data_dir, person["username"], usage)
            if (d / "cert.pem").exists():
                continue
            if person.get("bin") or person.get("kind") == "BIN":
                bin_ = person.get("bin") or person["username"]
                issued = ca.issue_employee(person["iin"], bin_, person["org"],
                                           person.get("signer_name") or person["full_name"],
                                           person["cert_roles"], usage=usage)
            else:
                issued = ca.issue_individual(person["iin"], person["full_name"], usage=usage)
            issued.write(d)


def accounts(data_dir: Path) -> dict:
    def keys(p):
        return {u: {"key": str(key_dir(data_dir, p["username"], u) / "key.pem"),
                    "cert": str(key_dir(data_dir, p["username"], u) / "cert.pem")} for u in ("sign", "auth")}

    return {
        "portal": {"applicants": [
            {"username": a["username"], "password": a["password"], "kind": a["kind"], "full_name": a["full_name"],
             "signer_iin": a["iin"], "roles": a.get("cert_roles", ["individual"]), "organisation_bin":
             a["username"] if a["kind"] == "BIN" else None, **keys(a)} for a in APPLICANTS]},
        "provider_arm": {"operators": [
            {"username": o["username"], "password": o["password"], "full_name": o["full_name"], "iin": o["iin"],
             "roles": o["roles"], "certificate_roles": o["cert_roles"], "organisation_bin": o["bin"],
             "organisation": o["org"], **keys(o)} for o in operators()]},
        "con": {"operators": [
            {"username": o["username"], "password": o["password"], "full_name": o["full_name"], "iin": o["iin"],
             "region": o["region"], "organisation_bin": o["bin"], "organisation": o["org"], **keys(o)}
            for o in con_operators()]},
    }
