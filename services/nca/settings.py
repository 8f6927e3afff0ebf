from __future__ import annotations

from shared.settings import CommonSettings


class NcaSettings(CommonSettings):
    nca_port: int = 8005
    #: a CRL's nextUpdate and an OCSP answer's nextUpdate are this many seconds after thisUpdate
    nca_validity_seconds: int = 3600
