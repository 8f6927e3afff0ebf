from __future__ import annotations

from shared.settings import CommonSettings


class ProviderArmSettings(CommonSettings):
    provider_arm_port: int = 8004
    provider_arm_token_ttl_seconds: int = 8 * 3600
    #: seconds between runs of the overdue check (tasks past their due time → alert to the head)
    provider_arm_overdue_check_seconds: float = 60.0
