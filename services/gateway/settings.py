from __future__ import annotations

from shared.settings import CommonSettings


class GatewaySettings(CommonSettings):
    gateway_port: int = 8002
    #: after this many unconfirmed deliveries the message is DELIVERY_STOPPED (and dead-lettered)
    gateway_max_attempts: int = 50
    #: the longest a sync call waits for the recipient's reply (a call may ask for less)
    gateway_sync_timeout_seconds: float = 10.0
    #: seconds between message-log seals (Merkle root signed + RFC 3161 time-stamp)
    gateway_log_seal_seconds: float = 10.0
    #: bearer token of the admin API; made and kept in <data dir>/secrets/gateway-admin.token when empty
    gateway_admin_token: str = ""
