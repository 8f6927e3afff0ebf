from __future__ import annotations

from shared.settings import CommonSettings


class PortalSettings(CommonSettings):
    portal_port: int = 8001
    portal_token_ttl_seconds: int = 3600
    #: failed logins in a row before the account is locked for ``portal_lockout_seconds``
    portal_max_failed_logins: int = 5
    portal_lockout_seconds: int = 300
    portal_attachment_max_bytes: int = 10 * 1024 * 1024
    portal_attachment_types: tuple[str, ...] = ("application/pdf", "image/jpeg", "image/png", "application/json", "text/plain")
