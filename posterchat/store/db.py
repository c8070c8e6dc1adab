"""Engines, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ..errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000
MIGRATION_LOCK_ID = 7_254_301  # PostgreSQL advisory lock, so instances starting together migrate one at a time
SCHEMA_HEAD = "0003"  # the newest revision in migrations/versions (tests/test_store.py keeps them in step)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, a busy timeout and foreign keys."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError("setting POSTERCHAT_DATABASE_URL is not a database URL; e.g. sqlite:///data/posterchat.db") from None
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema up to date with Alembic, which is loaded only when there is something to do."""
    if schema_revision(engine) == SCHEMA_HEAD:
        return  # Alembic and its templates would otherwise stay in every server's memory (~12 MB)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # before the import, which logs its plugins
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def schema_revision(engine: Engine) -> str | None:
    """The revision the database is at, None when it has never been migrated."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def dialect_insert(dialect: str):
    """The dialect's INSERT, which has ON CONFLICT; a dialect's module is imported only where it is used (~2 MB)."""
    return importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
