"""A development certificate authority that issues certificates shaped like the
national CA's (REFERENCE.md §3, fixtures/nca-test/README.md).

The CA lives in a directory: ``root.pem``, ``root.key.pem``, ``issuing.pem``,
``issuing.key.pem``. :meth:`DevCA.load_or_create` makes them once (under a lock
file, so concurrent processes agree on one CA) and loads them afterwards; only the
bootstrap (``egov up``, the test fixtures) calls it. Everything else uses
:meth:`DevCA.load`, which refuses (:class:`NoCA`) when there is no CA.

The ``certify_*`` methods sign a certificate for a public key the holder made (the key never
leaves the holder: the НУЦ's API takes a PKCS#10 request); the ``issue_*`` methods make a key
and certify it in one go, for the bootstrap and the tests.
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

#: the EC curves the CA certifies (RSA keys: 2048 to 8192 bits)
EC_CURVES = ("secp256r1", "secp384r1")
RSA_BITS = (2048, 8192)


class NoCA(FileNotFoundError):
    """There is no CA in the directory (only the bootstrap creates one)."""


# --- small helpers ------------------------------------------------------------------


def _new_key(key_type: str):
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key type {key_type!r} (rsa or ec)")


def check_public_key(public_key) -> None:
    """ValueError unless ``public_key`` is one the CA certifies: RSA of 2048..8192 bits
    (exponent 65537) or EC on P-256 / P-384."""
    if isinstance(public_key, rsa.RSAPublicKey):
        low, high = RSA_BITS
        if not low <= public_key.key_size <= high:
            raise ValueError(f"an RSA key must have {low} to {high} bits, not {public_key.key_size}")
        if public_key.public_numbers().e != 65537:
            raise ValueError("an RSA key must have the public exponent 65537")
        return
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in EC_CURVES:
            raise ValueError(f"an EC key must be on {' or '.join(EC_CURVES)}, not {public_key.curve.name}")
        return
    raise ValueError(f"unsupported key type {type(public_key).__name__} (RSA or EC)")


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
                if not cls.exists(directory):
                    cls._create(directory)
                return cls._load(directory, base_url)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def exists(directory: Path) -> bool:
        """True when ``directory`` holds a complete CA."""
        return all((Path(directory) / name).exists() for name in _FILES)

    @classmethod
    def load(cls, directory: Path, base_url: str = DEFAULT_BASE_URL) -> "DevCA":
        """Load the CA kept in ``directory``; :class:`NoCA` when there is none (never creates one)."""
        directory = Path(directory)
        if not cls.exists(directory):
            raise NoCA(f"no development CA in {directory}")
        return cls._load(directory, base_url)

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

    def issued(self, cert: x509.Certificate) -> bool:
        """True when ``cert`` names the issuing CA as its issuer and its signature verifies with
        the issuing CA's key."""
        if cert.issuer != self.issuing_cert.subject:
            return False
        try:
            cert.verify_directly_issued_by(self.issuing_cert)
            return True
        except Exception:
            return False

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

    # -- issuance: a new key and its certificate (bootstrap, tests) --

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
        """A new key and an individual's SIGN or AUTH certificate for it (:meth:`certify_individual`)."""
        key = _new_key(key_type)
        return self._issued(key, self.certify_individual(key.public_key(), iin, full_name, usage=usage,
                                                         not_before=not_before, not_after=not_after))

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
        """A new key and an organisation employee's certificate for it (:meth:`certify_employee`)."""
        key = _new_key(key_type)
        return self._issued(key, self.certify_employee(key.public_key(), iin, bin, org, full_name, roles,
                                                       usage=usage, not_before=not_before, not_after=not_after))

    def issue_system(
        self,
        system_id: str,
        *,
        key_type: KeyType = "rsa",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Issued:
        """A new key and an information system's certificate for it (:meth:`certify_system`)."""
        key = _new_key(key_type)
        return self._issued(key, self.certify_system(key.public_key(), system_id,
                                                     not_before=not_before, not_after=not_after))

    def _issued(self, key, cert: x509.Certificate) -> Issued:
        return Issued(key_pem=_key_pem(key), cert_pem=_cert_pem(cert), chain_pem=self.chain_pem(), cert=cert)

    # -- certification: a certificate for the holder's public key --

    def certify_individual(
        self,
        public_key,
        iin: str,
        full_name: str,
        *,
        usage: Usage = "sign",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> x509.Certificate:
        """An individual's SIGN (policy .2.3) or AUTH (policy .2.4) certificate, role "individual"."""
        policy = oids.POLICY_INDIVIDUAL_SIGN if usage == "sign" else oids.POLICY_AUTH
        return self._certify_person(public_key, iin, full_name, None, None, ["individual"], usage, policy,
                                    not_before, not_after)

    def certify_employee(
        self,
        public_key,
        iin: str,
        bin: str,
        org: str,
        full_name: str,
        roles: list[str],
        *,
        usage: Usage = "sign",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> x509.Certificate:
        """An organisation employee's certificate: O=<org>, OU=BIN<bin>, roles legal_entity + ``roles``.

        SIGN certificates carry policy 1.2.398.3.3.2.1, AUTH ones 1.2.398.3.3.2.4.
        """
        wanted = {"legal_entity"} | {oids.role_name(r) for r in roles}
        ordered = [name for name in oids.ROLE_OIDS if name in wanted]
        policy = oids.POLICY_LEGAL_SIGN if usage == "sign" else oids.POLICY_AUTH
        return self._certify_person(public_key, iin, full_name, bin, org, ordered, usage, policy,
                                    not_before, not_after)

    def certify_system(
        self,
        public_key,
        system_id: str,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> x509.Certificate:
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
        return self._certify(public_key, subject, ku, eku, None, not_before, not_after)

    def _certify_person(self, public_key, iin, full_name, bin, org, roles, usage, policy, not_before, not_after):
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
        return self._certify(public_key, x509.Name(attrs), ku, eku, policy, not_before, not_after)

    def _certify(self, public_key, subject, key_usage, eku, policy, not_before, not_after) -> x509.Certificate:
        """Sign an end-entity certificate for ``public_key`` with the issuing CA: KU (critical), EKU,
        policy, AKI/SKI, CRL distribution point and AIA (OCSP, CA Issuers); a random 159-bit serial
        (positive, at most 20 octets: RFC 5280 §4.1.2.2)."""
        check_public_key(public_key)
        start, end = _validity(not_before, not_after)
        issuing_ski = self.issuing_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.issuing_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(key_usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuing_ski), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
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
        return builder.sign(self.issuing_key, hashes.SHA256())


def _key_usage(**flags: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})
