from __future__ import annotations

from shared.settings import CommonSettings


class ProviderArmSettings(CommonSettings):
    provider_arm_port: int = 8004
    provider_arm_token_ttl_seconds: int = 8 * 3600
