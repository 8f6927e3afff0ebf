"""Issuance by the НУЦ: what an issuance request says, how every field of it is checked, and
the certificate the development CA signs for the requester's own key (PKCS#10).

Pure functions (no database, no network): the API (``router.py``) and the offline
``egov pki issue`` call the same :func:`certify`, so a request is refused with the same
catalogue code whichever way it comes:

* ``CSR_INVALID`` — the CSR does not parse, is not signed by its own key, or its key is not
  one the CA certifies (RSA 2048..8192 with e = 65537, EC P-256 / P-384);
* ``IIN_BIN_INVALID`` — an IIN or BIN fails its check digit, date or type digits (``shared/iin.py``);
* ``CERT_PROFILE_INVALID`` — a name, organisation, system id, role, usage or date that does
  not fit the profile.

The subject is made by the CA from the profile, never copied from the CSR.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ApiError
from shared.iin import validate_bin, validate_iin
from shared.pki import oids
from shared.pki.ca import SYSTEMS_ORG, DevCA, _validity, check_public_key

Profile = Literal["individual", "employee", "system"]
Usage = Literal["sign", "auth"]

#: roles an employee certificate may carry besides the implied ``legal_entity``
EMPLOYEE_ROLES = tuple(r for r in oids.ROLE_OIDS if r not in ("individual", "legal_entity"))
#: one word of a person's name: letters (any script), joined by a hyphen or an apostrophe
_NAME_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_SYSTEM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: dates before this are not sane for a certificate of this CA
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_NAME = 200
MAX_ORGANIZATION = 200
MAX_CSR = 16 * 1024


class IssueRequest(BaseModel):
    """A certificate for the key of ``csr``, with the holder's data of ``profile``."""

    model_config = ConfigDict(extra="forbid")

    csr: str = Field(max_length=MAX_CSR, description="PKCS#10 certificate request, PEM; only its key is used")
    profile: Profile = Field(description="individual | employee | system")
    usage: Usage = Field("sign", description="sign (SIGN key) | auth (AUTH key); a system certificate is sign")
    iin: str | None = Field(None, max_length=32, description="the holder's IIN (individual, employee)",
                            examples=["860717450455"])
    bin: str | None = Field(None, max_length=32, description="the organisation's BIN (employee)")
    organization: str | None = Field(None, max_length=1024, description="the organisation's name (employee)")
    full_name: str | None = Field(None, max_length=1024,
                                  description="SURNAME NAME [PATRONYMIC] (individual, employee)")
    system_id: str | None = Field(None, max_length=256, description="the information system's id (system)")
    roles: list[str] = Field(default_factory=list, max_length=16,
                             description=f"employee roles: {', '.join(EMPLOYEE_ROLES)} (aliases: head, ceo, financial)")
    not_before: datetime | None = Field(None, description="default: now (minus a minute); no zone means UTC")
    not_after: datetime | None = Field(None, description="default: one year after not_before; no zone means UTC")


@dataclass(frozen=True)
class Checked:
    """An issuance request whose every field passed: what the certificate will say."""

    profile: str
    usage: str
    not_before: datetime
    not_after: datetime
    iin: str | None = None
    bin: str | None = None
    organization: str | None = None
    full_name: str | None = None
    system_id: str | None = None
    roles: tuple[str, ...] = ()


def _profile_error(detail: str) -> ApiError:
    return ApiError("CERT_PROFILE_INVALID", detail=detail)


def load_csr(pem: str | bytes) -> x509.CertificateSigningRequest:
    """The PKCS#10 request in ``pem``, signed by its own key (proof of possession), for a key the
    CA certifies; ``CSR_INVALID`` otherwise."""
    data = pem.encode() if isinstance(pem, str) else pem
    if len(data) > MAX_CSR:
        raise ApiError("CSR_INVALID", detail="the request is too large")
    try:
        csr = x509.load_pem_x509_csr(data)
        public_key = csr.public_key()
        signed = csr.is_signature_valid
    except Exception as exc:
        raise ApiError("CSR_INVALID", detail=f"not a PEM PKCS#10 request: {exc}"[:300]) from None
    if not signed:
        raise ApiError("CSR_INVALID", detail="the request is not signed by the key it carries")
    try:
        check_public_key(public_key)
    except ValueError as exc:
        raise ApiError("CSR_INVALID", detail=str(exc)) from None
    return csr


def check_full_name(value: str | None) -> str:
    """SURNAME NAME [PATRONYMIC...]: 2 to 5 words of letters (hyphen and apostrophe inside a word),
    at most 200 characters, "SURNAME NAME" (the CN) at most 64."""
    if value is None or not value.strip():
        raise _profile_error("full_name is required (SURNAME NAME [PATRONYMIC])")
    words = value.split()
    if not 2 <= len(words) <= 5:
        raise _profile_error("full_name must be 2 to 5 words: SURNAME NAME [PATRONYMIC]")
    for word in words:
        if not _NAME_WORD.fullmatch(word):
            raise _profile_error(f"full_name may hold letters, '-' and an apostrophe only, not {word!r}"[:200])
    name = " ".join(words)
    if len(name) > MAX_NAME or len(" ".join(words[:2])) > 64:
        raise _profile_error(f"full_name is too long (at most {MAX_NAME} characters, surname and name 64)")
    return name


def check_organization(value: str | None) -> str:
    """An organisation's name: 2..200 printable characters with at least one letter, no control
    characters; surrounding spaces dropped."""
    if value is None or not value.strip():
        raise _profile_error("organization is required for an employee certificate")
    name = " ".join(value.split())
    if len(name) > MAX_ORGANIZATION or len(name) < 2:
        raise _profile_error(f"organization must be 2 to {MAX_ORGANIZATION} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise _profile_error("organization must not contain control characters")
    if not any(ch.isalpha() for ch in name):
        raise _profile_error("organization must contain letters")
    return name


def check_system_id(value: str | None) -> str:
    if value is None or not _SYSTEM_ID.fullmatch(value):
        raise _profile_error("system_id must be 1 to 64 of A-Z a-z 0-9 _ . - (starting with a letter or digit)")
    return value


def check_roles(values: list[str]) -> tuple[str, ...]:
    """An employee's roles, canonical names in certificate order; at least one, each known."""
    if not values:
        raise _profile_error(f"an employee certificate needs at least one role of {', '.join(EMPLOYEE_ROLES)}")
    names = set()
    for value in values:
        try:
            name = oids.role_name(value)
        except ValueError:
            name = None
        if name not in EMPLOYEE_ROLES and name != "legal_entity":
            raise _profile_error(f"unknown role {value!r}; known: {', '.join(EMPLOYEE_ROLES)}"[:300])
        names.add(name)
    return tuple(r for r in oids.ROLE_OIDS if r in names and r != "legal_entity")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def check_dates(ca: DevCA, not_before: datetime | None, not_after: datetime | None, *,
                max_days: int) -> tuple[datetime, datetime]:
    """The validity window: the defaults of the CA (from now, one year); not_after later than
    not_before, at most ``max_days`` long, from 2000 on, and not past the issuing CA's own expiry."""
    try:
        start, end = _validity(_utc(not_before), _utc(not_after))
    except ValueError as exc:
        raise _profile_error(str(exc)) from None
    except OverflowError:
        raise _profile_error("a date is out of range") from None
    if start < EARLIEST:
        raise _profile_error(f"not_before must be {EARLIEST.date()} or later")
    if end - start > timedelta(days=max_days):
        raise _profile_error(f"a certificate is valid at most {max_days} days")
    ca_end = ca.issuing_cert.not_valid_after_utc
    if end > ca_end:
        raise _profile_error(f"not_after must not be later than the issuing CA's own expiry ({ca_end.isoformat()})")
    return start.replace(microsecond=0), end.replace(microsecond=0)


def check_request(ca: DevCA, req: IssueRequest, *, max_days: int) -> Checked:
    """Every field of ``req`` against its profile; the first one that fails raises its code."""
    article = "an" if req.profile[0] in "aeiou" else "a"

    def absent(*names: str) -> None:
        for name in names:
            if getattr(req, name) not in (None, []):
                raise _profile_error(f"{name} is not part of {article} {req.profile} certificate")

    if req.profile == "individual":
        absent("bin", "organization", "system_id", "roles")
        iin = validate_iin(req.iin or "").iin
        fields = dict(iin=iin, full_name=check_full_name(req.full_name))
    elif req.profile == "employee":
        absent("system_id")
        iin = validate_iin(req.iin or "").iin
        bin_ = validate_bin(req.bin or "").bin
        fields = dict(iin=iin, bin=bin_, organization=check_organization(req.organization),
                      full_name=check_full_name(req.full_name), roles=check_roles(req.roles))
    else:
        absent("iin", "bin", "organization", "full_name", "roles")
        if req.usage != "sign":
            raise _profile_error("a system certificate has no AUTH variant (usage sign)")
        fields = dict(system_id=check_system_id(req.system_id))
    start, end = check_dates(ca, req.not_before, req.not_after, max_days=max_days)
    return Checked(profile=req.profile, usage=req.usage, not_before=start, not_after=end, **fields)


def certify(ca: DevCA, req: IssueRequest, *, max_days: int) -> x509.Certificate:
    """Check ``req`` (CSR first, then the profile) and sign the certificate for the CSR's key."""
    csr = load_csr(req.csr)
    c = check_request(ca, req, max_days=max_days)
    key = csr.public_key()
    when = dict(not_before=c.not_before, not_after=c.not_after)
    if c.profile == "individual":
        return ca.certify_individual(key, c.iin, c.full_name, usage=c.usage, **when)
    if c.profile == "employee":
        return ca.certify_employee(key, c.iin, c.bin, c.organization, c.full_name, list(c.roles),
                                   usage=c.usage, **when)
    return ca.certify_system(key, c.system_id, **when)


def profile_of(cert: x509.Certificate) -> str:
    """What a certificate of this CA is, from its extensions (for certificates recorded from files)."""
    try:
        eku = {oid.dotted_string for oid in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    except x509.ExtensionNotFound:
        eku = set()
    if x509.oid.ExtendedKeyUsageOID.TIME_STAMPING.dotted_string in eku:
        return "tsa"
    if oids.ROLE_OIDS["legal_entity"] in eku:
        return "employee"
    if oids.ROLE_OIDS["individual"] in eku:
        return "individual"
    orgs = cert.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)
    if any(a.value == SYSTEMS_ORG for a in orgs):
        return "system"
    return "other"
