"""One :class:`Database` per service process: the engine and the session factory."""
from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import AsyncIterator

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


#: PostgreSQL's SQLSTATEs of a server that cannot serve now: class 08 (connection exception), 53
#: (insufficient resources: too many connections, out of memory or disk), 57P01–57P03 (terminated
#: by the administrator, crash shutdown, "the database system is shutting down / starting up")
_OUTAGE_SQLSTATE_CLASSES = ("08", "53")
_OUTAGE_SQLSTATES = {"57P01", "57P02", "57P03"}


def is_outage(exc: BaseException) -> bool:
    """The database (or another peer) could not be reached, or is restarting: a retryable 503, not a 500."""
    if isinstance(exc, (OperationalError, PoolTimeout, ConnectionError, TimeoutError)):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return (exc.connection_invalidated or isinstance(exc.orig, (OSError, ConnectionError))
            or sqlstate.startswith(_OUTAGE_SQLSTATE_CLASSES) or sqlstate in _OUTAGE_SQLSTATES
            or "connection" in str(exc.orig).lower())


class Database:
    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 5):
        """``pool_size`` / ``max_overflow``: the PostgreSQL connections kept open and opened beyond them
        under load (``CommonSettings.db_pool_size``, ``db_max_overflow``); SQLite has one file."""
        self.url = url
        kwargs: dict = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        #: sessions that only read: on SQLite they start a deferred transaction (no write lock)
        self.read_sessionmaker = async_sessionmaker(self.engine.execution_options(egov_read_only=True),
                                                    expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed once at the end, or rolled back on error.

        Callables appended to ``session.info["after_commit"]`` run once the commit is done.
        """
        async with self.sessionmaker() as s:
            async with s.begin():
                yield s
            for hook in s.info.pop("after_commit", []):
                hook()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads (one consistent snapshot; what it loaded stays usable after it).
        On SQLite it takes no write lock, so it never waits for — or holds up — a writer."""
        async with self.read_sessionmaker() as s:
            async with s.begin():
                yield s

    async def ping(self) -> None:
        async with self.engine.connect() as c:
            await c.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # SQLAlchemy, not the driver, starts transactions (see _sqlite_begin_immediate)
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin_immediate(conn) -> None:
    """Take SQLite's write lock when a writing transaction starts. A deferred transaction that
    reads and then writes fails at once with "database is locked" when another connection wrote
    in between; an immediate one waits (busy timeout) for its turn instead. Sessions from
    :meth:`Database.read` only read: a deferred BEGIN, which WAL lets run beside a writer."""
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("egov_read_only") else "BEGIN IMMEDIATE")
