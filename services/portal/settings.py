from __future__ import annotations

from shared.settings import CommonSettings


class PortalSettings(CommonSettings):
    portal_port: int = 8001
    portal_token_ttl_seconds: int = 3600
    #: a signed request older than this (its created_at) is refused as DOCUMENT_STALE
    portal_document_max_age_hours: float = 24
    portal_attachment_max_bytes: int = 10 * 1024 * 1024
    #: per applicant and day (429 QUOTA_EXCEEDED beyond)
    portal_daily_requests: int = 100
    portal_daily_attachments: int = 300
    portal_daily_attachment_bytes: int = 500 * 1024 * 1024
    #: new accounts per client address (429 RATE_LIMITED beyond)
    portal_registrations: str = "30/hour"
