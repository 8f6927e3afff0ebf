"""The project's PKI: a development CA shaped like Kazakhstan's national CA, detached
CMS signatures, and reading what a certificate says about its holder.

- :class:`DevCA` (``ca.py``) issues individual, employee and system certificates;
- :func:`sign_detached` / :func:`verify_detached` (``cms.py``) make and check CMS signatures,
  refusing with :class:`SignatureError` carrying an ``ECP_*`` code;
- :class:`CertInfo` (``certinfo.py``) reads IIN, BIN, roles, key usage … of any certificate.
"""
from .ca import DevCA, Issued
from .certinfo import CertInfo, cert_info, has_signing_right, load_certificate
from .cms import SignatureError, VerifyReport, sign_detached, verify_detached

__all__ = [
    "CertInfo",
    "DevCA",
    "Issued",
    "SignatureError",
    "VerifyReport",
    "cert_info",
    "has_signing_right",
    "load_certificate",
    "sign_detached",
    "verify_detached",
]
