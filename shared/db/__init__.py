"""Async SQLAlchemy for SQLite (aiosqlite) and PostgreSQL (asyncpg), and Alembic per service."""
from shared.db.session import Database, is_outage, utcnow  # noqa: F401
