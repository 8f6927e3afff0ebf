"""Run a service's Alembic migrations against its own database.

Every service keeps its migrations in ``services/<name>/migrations`` and its
``env.py`` calls :func:`run_env`. ``egov up`` and the tests call :func:`upgrade`.
"""
from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(service: str, url: str) -> Config:
    location = Path(str(resources.files(f"services.{service}"))) / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(service: str, url: str) -> None:
    """Create the database if it is missing (PostgreSQL), then migrate it to head."""
    if not url.startswith("sqlite"):
        asyncio.run(create_database(url))
    command.upgrade(alembic_config(service, url), "head")


async def create_database(url: str) -> None:
    u = make_url(url)
    admin = create_async_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as c:
            exists = await c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database})
            if not exists:
                await c.execute(text(f'CREATE DATABASE "{u.database}"'))
    finally:
        await admin.dispose()


async def drop_database(url: str) -> None:
    u = make_url(url)
    admin = create_async_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as c:
            await c.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    render_as_batch = url.startswith("sqlite")

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=render_as_batch)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=render_as_batch)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())
