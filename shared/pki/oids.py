"""Object identifiers of the national CA (НУЦ РК) conventions, REFERENCE.md §3.

Holder roles travel in Extended Key Usage as OIDs; the kind of certificate is
told by its Certificate Policies.
"""
from __future__ import annotations

from cryptography.x509.oid import ObjectIdentifier

#: role name -> EKU OID (the order is the order roles are written into a certificate)
ROLE_OIDS: dict[str, str] = {
    "individual": "1.2.398.3.3.4.1.1",
    "legal_entity": "1.2.398.3.3.4.1.2",
    "first_head": "1.2.398.3.3.4.1.2.1",
    "sign": "1.2.398.3.3.4.1.2.2",
    "sign_financial": "1.2.398.3.3.4.1.2.3",
    "hr": "1.2.398.3.3.4.1.2.4",
    "employee": "1.2.398.3.3.4.1.2.5",
}
ROLE_BY_OID: dict[str, str] = {oid: name for name, oid in ROLE_OIDS.items()}

#: short names accepted on the command line (`--role head`)
ROLE_ALIASES: dict[str, str] = {"head": "first_head", "ceo": "first_head", "financial": "sign_financial"}

#: roles that may sign on behalf of an organisation
SIGNING_RIGHT_ROLES = frozenset({"first_head", "sign"})

POLICY_LEGAL_SIGN = "1.2.398.3.3.2.1"  # an organisation's (employee's) signing certificate
POLICY_INDIVIDUAL_SIGN = "1.2.398.3.3.2.3"  # an individual's SIGN certificate
POLICY_AUTH = "1.2.398.3.3.2.4"  # an AUTH certificate

#: signature algorithm OID -> name (Java style, as NCANode prints them)
SIGN_ALG_NAMES: dict[str, str] = {
    "1.2.840.113549.1.1.11": "SHA256withRSA",
    "1.2.840.113549.1.1.12": "SHA384withRSA",
    "1.2.840.113549.1.1.13": "SHA512withRSA",
    "1.2.840.113549.1.1.5": "SHA1withRSA",
    "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.2.840.10045.4.3.2": "SHA256withECDSA",
    "1.2.840.10045.4.3.3": "SHA384withECDSA",
    "1.2.840.10045.4.3.4": "SHA512withECDSA",
    # GOST (the system cannot use these keys, only name them)
    "1.2.398.3.10.1.1.2.3.1": "GOST34310-2004",
    "1.2.398.3.10.1.1.2.3.2": "GOST3410-2015",
}


def role_name(name: str) -> str:
    """The canonical role name for ``name`` or an alias of it; ValueError if unknown."""
    canonical = ROLE_ALIASES.get(name, name)
    if canonical not in ROLE_OIDS:
        raise ValueError(f"unknown role {name!r}; known: {', '.join(ROLE_OIDS)}")
    return canonical


def role_oid(name: str) -> ObjectIdentifier:
    """The EKU OID of a role name (or alias)."""
    return ObjectIdentifier(ROLE_OIDS[role_name(name)])
