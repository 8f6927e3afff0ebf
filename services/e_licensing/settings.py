from __future__ import annotations

from shared.settings import CommonSettings


class ELicensingSettings(CommonSettings):
    e_licensing_port: int = 8003
