from __future__ import annotations

from shared.settings import CommonSettings


class RegistriesSettings(CommonSettings):
    registries_port: int = 8006
    #: bearer token of the admin API (/api/v1/admin); made and kept in
    #: <data dir>/secrets/registries-admin.token (its hex) when empty
    registries_admin_token: str = ""
    #: a sync call delivered longer ago than this is not answered (its caller has given up)
    registries_sync_max_age_seconds: float = 60.0
