from __future__ import annotations

from shared.settings import CommonSettings


class WebSettings(CommonSettings):
    web_port: int = 8008
    #: the APIs the pages use; empty: ``http://<EGOV_HOST>:<EGOV_PORTAL_PORT>`` (and provider_arm's)
    web_portal_url: str = ""
    web_provider_arm_url: str = ""
    #: the ЦОН desk's API; empty: ``http://<EGOV_HOST>:<EGOV_CON_PORT>``
    web_con_url: str = ""
    #: what the launcher sets for every service (used when the URLs above are empty)
    portal_port: int = 8001
    provider_arm_port: int = 8004
    con_port: int = 8007
    #: mark the session cookies Secure (behind HTTPS)
    web_cookie_secure: bool = False
    #: seconds to wait for an API answer
    web_api_timeout: float = 30.0

    @property
    def portal_api(self) -> str:
        return (self.web_portal_url or f"http://{self.host}:{self.portal_port}").rstrip("/") + "/api/v1"

    @property
    def arm_api(self) -> str:
        return (self.web_provider_arm_url or f"http://{self.host}:{self.provider_arm_port}").rstrip("/") + "/api/v1"

    @property
    def con_api(self) -> str:
        return (self.web_con_url or f"http://{self.host}:{self.con_port}").rstrip("/") + "/api/v1"
