from __future__ import annotations

from shared.settings import CommonSettings


class ConSettings(CommonSettings):
    con_port: int = 8007
    con_token_ttl_seconds: int = 8 * 3600
    #: how long a queue ticket (POST /queue) can be called: a working day
    con_queue_ticket_ttl_seconds: int = 12 * 3600
    #: a scanned document may be this large
    con_attachment_max_bytes: int = 10 * 1024 * 1024
    #: how old the operator's signed form (its created_at) may be
    con_document_max_age_hours: float = 24
    #: how long a lookup in ГБД ФЛ / ГБД ЮЛ / ЕНИС may be used for a form
    con_lookup_max_age_minutes: float = 120
