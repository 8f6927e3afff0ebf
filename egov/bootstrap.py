"""Set-up before the services start: НУЦ keys, system certificates, migrations, seed data."""
from __future__ import annotations

import asyncio
import secrets

from shared.db.migrate import upgrade
from shared.pki.ca import DevCA
from shared.settings import CommonSettings
from shared.topics import SystemId

from . import demo

#: the services that own a database, in start order
SERVICES = ("nca", "gateway", "registries", "e_licensing", "provider_arm", "portal", "con")
#: processes without a database of their own, started after the services: the web pages (docs/web.md)
FRONTENDS = ("web",)
#: every process the launcher starts, in start order
PROCESSES = SERVICES + FRONTENDS
SYSTEMS = (SystemId.GATEWAY, SystemId.PORTAL, SystemId.E_LICENSING, SystemId.PROVIDER_ARM, *SystemId.REGISTRIES,
           SystemId.CON)


def ensure_pki(settings: CommonSettings) -> DevCA:
    """The development НУЦ (the only place that creates it), its operator's password
    (``secrets/nca-operator.password``), and a certificate + gateway password for every
    information system and the demo people."""
    from services.nca import operators

    ca = DevCA.load_or_create(settings.pki_dir / "ca", base_url=settings.nca_url)
    operators.ensure_password(settings.data_dir)
    (settings.pki_dir / "roots.pem").write_bytes(ca.roots_pem())
    for system_id in SYSTEMS:
        d = settings.pki_dir / "systems" / system_id
        if not (d / "cert.pem").exists():
            ca.issue_system(system_id, key_type="ec").write(d)  # ECDSA P-256: a third of RSA-2048's signing cost
        pw = d / "password"
        if not pw.exists():
            pw.write_text(secrets.token_urlsafe(24))
            pw.chmod(0o600)
    demo.issue_all(ca, settings.data_dir)
    return ca


def migrate(settings: CommonSettings) -> None:
    for service in SERVICES:
        upgrade(service, settings.database_url(service))


async def seed_nca(settings: CommonSettings) -> None:
    """The nca's database: the CA operator's password hash, and every certificate the bootstrap
    issued directly (so that it can be revoked by serial)."""
    from services.nca import operators
    from services.nca import seed as nca_seed

    ca = DevCA.load(settings.pki_dir / "ca", base_url=settings.nca_url)
    password = operators.ensure_password(settings.data_dir)
    certificates = await asyncio.to_thread(nca_seed.issued_files, settings.pki_dir, ca)
    db = settings.database("nca")
    try:
        async with db.session() as s:
            await nca_seed.seed(s, password, certificates)
    finally:
        await db.dispose()


async def seed(settings: CommonSettings) -> None:
    from services.con import seed as con_seed
    from services.gateway import seed as gateway_seed
    from services.portal import seed as portal_seed
    from services.provider_arm import seed as arm_seed
    from services.registries import seed as registries_seed

    await seed_nca(settings)

    creds = {}
    for system_id in SYSTEMS:
        d = settings.pki_dir / "systems" / system_id
        creds[system_id] = ((d / "password").read_text().strip(), (d / "cert.pem").read_bytes())
    for service, fn in (
        ("gateway", lambda s: gateway_seed.seed(s, creds)),
        ("portal", lambda s: portal_seed.seed(s, demo.APPLICANTS)),
        ("provider_arm", lambda s: arm_seed.seed(s, demo.operators())),
        ("registries", lambda s: registries_seed.seed(s, demo.APPLICANTS, demo.operators())),
        ("con", lambda s: con_seed.seed(s, demo.con_operators())),
    ):
        db = settings.database(service)
        try:
            async with db.session() as s:
                await fn(s)
        finally:
            await db.dispose()


def prepare(settings: CommonSettings) -> None:
    """Everything ``egov up`` does before it starts processes; safe to run again."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_pki(settings)
    migrate(settings)
    asyncio.run(seed(settings))
