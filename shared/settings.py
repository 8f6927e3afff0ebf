"""Settings shared by every service (pydantic-settings, prefix ``EGOV_``).

Each service adds its own settings class (``services/<name>/settings.py``) on top of
:class:`CommonSettings`, with the prefix ``EGOV_<SERVICE>_`` for what only it uses.
"""
from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.db import Database

DEFAULT_PORTS = {
    "portal": 8001,
    "gateway": 8002,
    "e_licensing": 8003,
    "provider_arm": 8004,
    "nca": 8005,
    "registries": 8006,
    "con": 8007,
    "web": 8008,
}


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EGOV_", extra="ignore")

    #: where SQLite files, the development CA and demo keys live
    data_dir: Path = Path(".egov")
    #: Kafka bootstrap servers (the embedded Tansu broker by default)
    broker: str = "127.0.0.1:9092"
    #: "sqlite" (embedded default) or a PostgreSQL server URL such as
    #: ``postgresql+asyncpg://postgres@127.0.0.1:5432`` — each service then uses its own
    #: database ``<db_prefix><service>`` on that server
    db_server: str = "sqlite"
    db_prefix: str = "egov_"
    host: str = "127.0.0.1"
    gateway_url: str = "http://127.0.0.1:8002"
    #: the НУЦ's base URL: written into every certificate issued (OCSP, CRL, CA issuers)
    nca_url: str = "http://127.0.0.1:8005"
    #: check every signer's certificate by OCSP (CRL as fallback); fail closed when neither answers
    check_revocation: bool = True
    #: how long an OCSP/CRL answer is reused before the НУЦ is asked again (never past its nextUpdate);
    #: when the НУЦ cannot be asked after that, checks fail with the retryable ECP_REVOCATION_UNKNOWN
    revocation_freshness_seconds: float = 300
    #: seconds between outbox relay polls (the relay is also woken on commit)
    outbox_poll_seconds: float = 0.5
    #: the gateway re-produces a message not confirmed within this many seconds
    redelivery_seconds: float = 5.0
    log_level: str = "INFO"
    #: an OTLP/HTTP collector for the traces (e.g. http://collector:4318); none: trace ids in the logs only
    otlp_endpoint: str = ""
    #: where rate-limit and lockout counters live: "memory://" (per process) or "redis://host:6379"
    rate_limit_storage: str = "memory://"
    #: failed logins per account, and per client address, before further attempts are refused (429 AUTH_LOCKED)
    login_failures: str = "5/5minutes"
    login_failures_per_address: str = "50/5minutes"
    #: the proxies (addresses or networks, comma-separated; "*" for any) whose X-Forwarded-For names the
    #: caller's address — the key of the per-address limits. Only a peer in this list is believed: the
    #: web pages (which pass the browser's address on), a reverse proxy. Loopback by default, where the
    #: web pages run in development; in a deployment, the web and proxy hosts only ("" believes no one)
    trusted_proxies: str = "127.0.0.1,::1"
    #: PostgreSQL connections each service process keeps open, and how many more it may open under
    #: load: every process × (both) must stay under the server's max_connections (100 by default)
    db_pool_size: int = 5
    db_max_overflow: int = 5

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    def database_url(self, service: str) -> str:
        if self.db_server == "sqlite":
            return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}"
        return f"{self.db_server.rstrip('/')}/{self.db_prefix}{service}"

    def database(self, service: str) -> Database:
        """The service's :class:`shared.db.Database`, its connection pool as these settings size it."""
        return Database(self.database_url(service), pool_size=self.db_pool_size, max_overflow=self.db_max_overflow)

    def system_credentials(self, system_id: str) -> tuple[Path, Path]:
        """Key and certificate of an information system, issued by the development CA."""
        d = self.pki_dir / "systems" / system_id
        return d / "key.pem", d / "cert.pem"
