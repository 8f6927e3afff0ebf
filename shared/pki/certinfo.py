"""What a certificate says about its holder, read the way NCANode reads national CA
certificates (REFERENCE.md §3–4).

Works on any X.509 certificate, including real НУЦ ones and GOST ones whose keys
``cryptography`` cannot use: only names and extensions are read, never the key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from . import oids

#: names for DN attributes that RFC 4514 leaves as dotted OIDs
_DN_NAMES = {
    NameOID.SURNAME: "SURNAME",
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.GIVEN_NAME: "G",
    NameOID.EMAIL_ADDRESS: "E",
}


def load_certificate(data: bytes) -> x509.Certificate:
    """Parse a certificate given as PEM or DER; ValueError if it is neither."""
    data = bytes(data)
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def dn_string(name: x509.Name) -> str:
    """The RFC 4514 string of a name (SURNAME, SERIALNUMBER, G, E spelled out)."""
    return name.rfc4514_string(_DN_NAMES)


@dataclass
class CertInfo:
    iin: str | None
    bin: str | None
    organization: str | None
    common_name: str | None
    surname: str | None
    given_name: str | None  # the G attribute: the patronymic in Kazakh certificates
    country: str | None
    locality: str | None
    email: str | None
    dn: str
    serial_number: str  # hex
    not_before: datetime
    not_after: datetime
    key_usage: str | None  # "SIGN", "AUTH" or None (e.g. a CA certificate)
    roles: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    issuer_dn: str = ""
    issuer_common_name: str | None = None
    ocsp_urls: list[str] = field(default_factory=list)
    crl_urls: list[str] = field(default_factory=list)
    sign_alg: str = ""

    @property
    def full_name(self) -> str | None:
        """CN and the patronymic together."""
        parts = [p for p in (self.common_name, self.given_name) if p]
        return " ".join(parts) or None

    @classmethod
    def from_certificate(cls, cert: x509.Certificate) -> "CertInfo":
        """Read the subject (IIN from SERIALNUMBER=IIN…, BIN from OU=BIN…), key usage
        (SIGN if nonRepudiation, AUTH if keyEncipherment), roles from EKU, policies,
        revocation endpoints and the signature algorithm."""
        subject = cert.subject
        serial_attr = _attr(subject, NameOID.SERIAL_NUMBER)
        bin_ = next(
            (ou[3:] for ou in _attrs(subject, NameOID.ORGANIZATIONAL_UNIT_NAME) if ou.upper().startswith("BIN")),
            None,
        )
        return cls(
            iin=serial_attr[3:] if serial_attr and serial_attr.upper().startswith("IIN") else None,
            bin=bin_,
            organization=_attr(subject, NameOID.ORGANIZATION_NAME),
            common_name=_attr(subject, NameOID.COMMON_NAME),
            surname=_attr(subject, NameOID.SURNAME),
            given_name=_attr(subject, NameOID.GIVEN_NAME),
            country=_attr(subject, NameOID.COUNTRY_NAME),
            locality=_attr(subject, NameOID.LOCALITY_NAME),
            email=_attr(subject, NameOID.EMAIL_ADDRESS) or _san_email(cert),
            dn=dn_string(subject),
            serial_number=_hex(cert.serial_number),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            key_usage=_key_usage(cert),
            roles=_roles(cert),
            policies=_policies(cert),
            issuer_dn=dn_string(cert.issuer),
            issuer_common_name=_attr(cert.issuer, NameOID.COMMON_NAME),
            ocsp_urls=_ocsp_urls(cert),
            crl_urls=_crl_urls(cert),
            sign_alg=oids.SIGN_ALG_NAMES.get(cert.signature_algorithm_oid.dotted_string,
                                             cert.signature_algorithm_oid.dotted_string),
        )

    def to_dict(self) -> dict:
        """JSON-ready, shaped like NCANode's certificate (REFERENCE.md §4)."""
        return {
            "subject": {
                "commonName": self.common_name,
                "surname": self.surname,
                "givenName": self.given_name,
                "iin": self.iin,
                "bin": self.bin,
                "organization": self.organization,
                "country": self.country,
                "locality": self.locality,
                "email": self.email,
                "dn": self.dn,
            },
            "issuer": {"commonName": self.issuer_common_name, "dn": self.issuer_dn},
            "serialNumber": self.serial_number,
            "notBefore": self.not_before.isoformat(),
            "notAfter": self.not_after.isoformat(),
            "keyUsage": self.key_usage,
            "keyUser": list(self.roles),
            "signAlg": self.sign_alg,
            "policies": list(self.policies),
            "revocationEndpoints": {"ocsp": list(self.ocsp_urls), "crl": list(self.crl_urls)},
        }


def cert_info(cert: x509.Certificate) -> CertInfo:
    return CertInfo.from_certificate(cert)


def has_signing_right(info: CertInfo, bin: str) -> bool:
    """True if the certificate belongs to organisation ``bin`` and its roles include
    first head or right to sign."""
    return info.bin is not None and info.bin == bin and bool(oids.SIGNING_RIGHT_ROLES & set(info.roles))


# --- readers ----------------------------------------------------------------------------


def _attrs(name: x509.Name, oid) -> list[str]:
    return [str(a.value) for a in name.get_attributes_for_oid(oid)]


def _attr(name: x509.Name, oid) -> str | None:
    values = _attrs(name, oid)
    return values[0] if values else None


def _hex(n: int) -> str:
    text = format(n, "x")
    return text if len(text) % 2 == 0 else "0" + text


def _ext(cert: x509.Certificate, cls):
    """The value of an extension, or None if absent (or unreadable)."""
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _key_usage(cert: x509.Certificate) -> str | None:
    ku = _ext(cert, x509.KeyUsage)
    if ku is None:
        return None
    if ku.content_commitment:
        return "SIGN"
    if ku.key_encipherment:
        return "AUTH"
    return None


def _roles(cert: x509.Certificate) -> list[str]:
    eku = _ext(cert, x509.ExtendedKeyUsage) or []
    return [oids.ROLE_BY_OID[o.dotted_string] for o in eku if o.dotted_string in oids.ROLE_BY_OID]


def _policies(cert: x509.Certificate) -> list[str]:
    return [p.policy_identifier.dotted_string for p in (_ext(cert, x509.CertificatePolicies) or [])]


def _uris(names) -> list[str]:
    return [n.value for n in names or () if isinstance(n, x509.UniformResourceIdentifier)]


def _ocsp_urls(cert: x509.Certificate) -> list[str]:
    aia = _ext(cert, x509.AuthorityInformationAccess) or []
    return _uris(d.access_location for d in aia if d.access_method == AuthorityInformationAccessOID.OCSP)


def _crl_urls(cert: x509.Certificate) -> list[str]:
    return [url for dp in (_ext(cert, x509.CRLDistributionPoints) or []) for url in _uris(dp.full_name)]


def _san_email(cert: x509.Certificate) -> str | None:
    san = _ext(cert, x509.SubjectAlternativeName)
    emails = san.get_values_for_type(x509.RFC822Name) if san else []
    return emails[0] if emails else None
