from __future__ import annotations

from shared.settings import CommonSettings


class GatewaySettings(CommonSettings):
    gateway_port: int = 8002
    #: after this many unconfirmed deliveries the message is DELIVERY_STOPPED
    gateway_max_attempts: int = 50
