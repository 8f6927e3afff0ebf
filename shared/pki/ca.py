"""A development certificate authority that issues certificates shaped like the
national CA's (REFERENCE.md §3, fixtures/nca-test/README.md).

The CA lives in a directory: ``root.pem``, ``root.key.pem``, ``issuing.pem``,
``issuing.key.pem``. :meth:`DevCA.load_or_create` makes them once (under a lock
file, so concurrent processes agree on one CA) and loads them afterwards.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import oids

DEFAULT_BASE_URL = "http://127.0.0.1:8005"
ROOT_CN = "ҰКО EGOV-SIM ROOT (DEV)"
ISSUING_CN = "ҰКО EGOV-SIM 3.0 (RSA DEV)"
SYSTEMS_ORG = "egov-sim systems"

Usage = Literal["sign", "auth"]
KeyType = Literal["rsa", "ec"]

_FILES = ("root.key.pem", "root.pem", "issuing.key.pem", "issuing.pem")


# --- small helpers ------------------------------------------------------------------


def _new_key(key_type: str):
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key type {key_type!r} (rsa or ec)")


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _validity(not_before: datetime | None, not_after: datetime | None) -> tuple[datetime, datetime]:
    """Defaults: from a minute ago for one year; a given bound keeps the window one year long."""
    now = datetime.now(timezone.utc)
    year = timedelta(days=365)
    if not_before is None and not_after is None:
        return now - timedelta(minutes=1), now + year
    if not_before is None:
        not_before = min(now - timedelta(minutes=1), not_after - year)
    if not_after is None:
        not_after = not_before + year
    if not_after <= not_before:
        raise ValueError("not_after must be later than not_before")
    return not_before, not_after


def _person_name(full_name: str) -> tuple[list[x509.NameAttribute], str | None]:
    """CN = surname and first name, SN = surname, GN = patronymic (the rest), as real certificates have."""
    words = full_name.split()
    if not words:
        raise ValueError("full_name is empty")
    attrs = [
        x509.NameAttribute(NameOID.COMMON_NAME, " ".join(words[:2])),
        x509.NameAttribute(NameOID.SURNAME, words[0]),
    ]
    return attrs, (" ".join(words[2:]) or None)


# --- issued material -----------------------------------------------------------------


@dataclass
class Issued:
    """A freshly issued key and certificate, with the chain (issuing CA + root) as PEM."""

    key_pem: bytes
    cert_pem: bytes
    chain_pem: bytes
    cert: x509.Certificate

    @property
    def key(self):
        return serialization.load_pem_private_key(self.key_pem, password=None)

    def write(self, out_dir: Path) -> None:
        """Write ``key.pem`` (0600), ``cert.pem`` and ``chain.pem`` into ``out_dir``."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(out_dir / "key.pem", self.key_pem, 0o600)
        _write_atomic(out_dir / "cert.pem", self.cert_pem)
        _write_atomic(out_dir / "chain.pem", self.chain_pem)


# --- the CA ---------------------------------------------------------------------------


@dataclass
class DevCA:
    """A root and an issuing CA kept in ``directory``; issues end-entity certificates whose
    CRL / OCSP / CA Issuers URLs start with ``base_url``."""

    directory: Path
    root_cert: x509.Certificate
    root_key: rsa.RSAPrivateKey = field(repr=False)
    issuing_cert: x509.Certificate
    issuing_key: rsa.RSAPrivateKey = field(repr=False)
    base_url: str = DEFAULT_BASE_URL

    # -- persistence --

    @classmethod
    def load_or_create(cls, directory: Path, base_url: str = DEFAULT_BASE_URL) -> "DevCA":
        """Load the CA kept in ``directory``, creating it on first use.

        Creation happens under an exclusive lock on ``directory/.lock`` and each file
        is written atomically, so when several processes start at once the first one
        creates the CA and the others load it.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not all((directory / name).exists() for name in _FILES):
                    cls._create(directory)
                return cls._load(directory, base_url)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @classmethod
    def _load(cls, directory: Path, base_url: str) -> "DevCA":
        def key(name):
            return serialization.load_pem_private_key((directory / name).read_bytes(), password=None)

        def cert(name):
            return x509.load_pem_x509_certificate((directory / name).read_bytes())

        return cls(
            directory=directory,
            root_cert=cert("root.pem"),
            root_key=key("root.key.pem"),
            issuing_cert=cert("issuing.pem"),
            issuing_key=key("issuing.key.pem"),
            base_url=base_url.rstrip("/"),
        )

    @staticmethod
    def _create(directory: Path) -> None:
        """Make a root (10 years) and an issuing CA (5 years) signed by it, and store them."""
        now = datetime.now(timezone.utc) - timedelta(minutes=1)
        root_key, issuing_key = _new_key("rsa"), _new_key("rsa")
        root_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
                               x509.NameAttribute(NameOID.COMMON_NAME, ROOT_CN)])
        issuing_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
                                  x509.NameAttribute(NameOID.COMMON_NAME, ISSUING_CN)])

        def ca_cert(subject, key, issuer, issuer_key, years, path_length):
            builder = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(issuer)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + timedelta(days=365 * years + years // 4))
                .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
                .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
                )
            )
            return builder.sign(issuer_key, hashes.SHA256())

        root = ca_cert(root_name, root_key, root_name, root_key, 10, None)
        issuing = ca_cert(issuing_name, issuing_key, root_name, root_key, 5, 0)
        _write_atomic(directory / "root.key.pem", _key_pem(root_key), 0o600)
        _write_atomic(directory / "root.pem", _cert_pem(root))
        _write_atomic(directory / "issuing.key.pem", _key_pem(issuing_key), 0o600)
        _write_atomic(directory / "issuing.pem", _cert_pem(issuing))

    # -- trust material --

    def roots(self) -> list[x509.Certificate]:
        """The trust anchors (the root)."""
        return [self.root_cert]

    def intermediates(self) -> list[x509.Certificate]:
        return [self.issuing_cert]

    def roots_pem(self) -> bytes:
        return _cert_pem(self.root_cert)

    def chain_pem(self) -> bytes:
        """The issuing CA then the root, PEM."""
        return _cert_pem(self.issuing_cert) + _cert_pem(self.root_cert)

    @property
    def crl_url(self) -> str:
        return f"{self.base_url}/crl/issuing.crl"

    @property
    def ocsp_url(self) -> str:
        return f"{self.base_url}/ocsp"

    @property
    def ca_issuers_url(self) -> str:
        return f"{self.base_url}/cert/issuing.cer"

    # -- issuance --

    def issue_individual(
        self,
        iin: str,
        full_name: str,
        *,
        usage: Usage = "sign",
        key_type: KeyType = "rsa",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Issued:
        """An individual's SIGN (policy .2.3) or AUTH (policy .2.4) certificate, role "individual"."""
        policy = oids.POLICY_INDIVIDUAL_SIGN if usage == "sign" else oids.POLICY_AUTH
        return self._issue_person(iin, full_name, None, None, ["individual"], usage, policy,
                                  key_type, not_before, not_after)

    def issue_employee(
        self,
        iin: str,
        bin: str,
        org: str,
        full_name: str,
        roles: list[str],
        *,
        usage: Usage = "sign",
        key_type: KeyType = "rsa",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Issued:
        """An organisation employee's certificate: O=<org>, OU=BIN<bin>, roles legal_entity + ``roles``.

        SIGN certificates carry policy 1.2.398.3.3.2.1, AUTH ones 1.2.398.3.3.2.4.
        """
        wanted = {"legal_entity"} | {oids.role_name(r) for r in roles}
        ordered = [name for name in oids.ROLE_OIDS if name in wanted]
        policy = oids.POLICY_LEGAL_SIGN if usage == "sign" else oids.POLICY_AUTH
        return self._issue_person(iin, full_name, bin, org, ordered, usage, policy,
                                  key_type, not_before, not_after)

    def issue_system(
        self,
        system_id: str,
        *,
        key_type: KeyType = "rsa",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Issued:
        """An information system's certificate: CN=<system_id>, O=egov-sim systems, C=KZ;
        digitalSignature + nonRepudiation, EKU clientAuth + emailProtection.

        emailProtection is there so that a system's signatures pass a plain
        ``openssl cms -verify`` (default purpose S/MIME signing), as API.md requires.
        """
        subject = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, system_id),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, SYSTEMS_ORG),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
        ])
        ku = _key_usage(digital_signature=True, content_commitment=True)
        eku = [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
        return self._issue(subject, ku, eku, None, key_type, not_before, not_after)

    def _issue_person(self, iin, full_name, bin, org, roles, usage, policy, key_type, not_before, not_after):
        if usage not in ("sign", "auth"):
            raise ValueError(f"usage must be 'sign' or 'auth', not {usage!r}")
        if not (len(iin) == 12 and iin.isdigit()):
            raise ValueError(f"IIN must be 12 digits: {iin!r}")
        if bin is not None and not (len(bin) == 12 and bin.isdigit()):
            raise ValueError(f"BIN must be 12 digits: {bin!r}")
        attrs, patronymic = _person_name(full_name)
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{iin}"))
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"))
        if org is not None:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"BIN{bin}"))
        if patronymic:
            attrs.append(x509.NameAttribute(NameOID.GIVEN_NAME, patronymic))
        if usage == "sign":
            ku = _key_usage(digital_signature=True, content_commitment=True)
            eku = [ExtendedKeyUsageOID.EMAIL_PROTECTION]
        else:
            ku = _key_usage(digital_signature=True, key_encipherment=True)
            eku = [ExtendedKeyUsageOID.CLIENT_AUTH]
        eku += [oids.role_oid(r) for r in roles]
        return self._issue(x509.Name(attrs), ku, eku, policy, key_type, not_before, not_after)

    def _issue(self, subject, key_usage, eku, policy, key_type, not_before, not_after) -> Issued:
        """Sign an end-entity certificate with the issuing CA: KU (critical), EKU, policy,
        AKI/SKI, CRL distribution point and AIA (OCSP, CA Issuers)."""
        key = _new_key(key_type)
        start, end = _validity(not_before, not_after)
        issuing_ski = self.issuing_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.issuing_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(key_usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuing_ski), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.CRLDistributionPoints([
                    x509.DistributionPoint([x509.UniformResourceIdentifier(self.crl_url)], None, None, None)
                ]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityInformationAccess([
                    x509.AccessDescription(x509.AuthorityInformationAccessOID.CA_ISSUERS,
                                           x509.UniformResourceIdentifier(self.ca_issuers_url)),
                    x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP,
                                           x509.UniformResourceIdentifier(self.ocsp_url)),
                ]),
                critical=False,
            )
        )
        if policy:
            builder = builder.add_extension(
                x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(policy), None)]),
                critical=False,
            )
        cert = builder.sign(self.issuing_key, hashes.SHA256())
        return Issued(key_pem=_key_pem(key), cert_pem=_cert_pem(cert), chain_pem=self.chain_pem(), cert=cert)


def _key_usage(**flags: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})
