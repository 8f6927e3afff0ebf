from __future__ import annotations

from shared.settings import CommonSettings


class GatewaySettings(CommonSettings):
    gateway_port: int = 8002
    #: a message not confirmed this long after it was accepted (or resent) is DELIVERY_STOPPED and
    #: dead-lettered; until then it is redelivered with backoff from ``redelivery_seconds`` doubling
    #: up to ``gateway_redelivery_cap_seconds`` — an outage of the recipient or the НУЦ loses nothing
    gateway_delivery_ttl_seconds: float = 24 * 3600
    gateway_redelivery_cap_seconds: float = 30.0
    #: the longest a sync call waits for the recipient's reply (a call may ask for less)
    gateway_sync_timeout_seconds: float = 10.0
    #: how often a waiting sync call looks for a reply that another replica of the gateway received
    gateway_sync_poll_seconds: float = 0.2
    #: seconds between message-log seals (Merkle root signed + RFC 3161 time-stamp)
    gateway_log_seal_seconds: float = 10.0
    #: how often each gateway process re-reads its registries (systems, services, routes, ACL):
    #: a change made through another process's admin API is seen within this many seconds
    gateway_registry_refresh_seconds: float = 2.0
    #: messages one system may offer (429 RATE_LIMITED with Retry-After beyond)
    gateway_sender_rate: str = "2000/second"
    #: bearer token of the admin API; made and kept in <data dir>/secrets/gateway-admin.token when empty
    gateway_admin_token: str = ""
