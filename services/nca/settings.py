from __future__ import annotations

from shared.settings import CommonSettings


class NcaSettings(CommonSettings):
    nca_port: int = 8005
    #: a CRL's nextUpdate and an OCSP answer's nextUpdate are this many seconds after thisUpdate
    nca_validity_seconds: int = 3600
    #: failed CA operator logins in a row before the operator is locked for ``nca_lockout_seconds``
    nca_max_failed_logins: int = 5
    nca_lockout_seconds: int = 300
    #: the longest validity window of a certificate issued through the API or ``egov pki issue``
    nca_max_validity_days: int = 1096
