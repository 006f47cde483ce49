"""Engines and sessions, made when asked for (never at import)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def create_db_engine(url: str, **kwargs: Any) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Pool at least as large as the API's worker threads (settings.api_threads): an
        # overflow connection is closed on return, and reopening it costs more than a query.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
        engine = sa.create_engine(url, **kwargs)
    from lifeos.metrics import instrument_engine

    instrument_engine(engine)  # query latency and connections in use (/metrics)
    return engine


_engines: dict[str, sa.Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}
_lock = threading.Lock()


def get_engine(url: str) -> sa.Engine:
    """One engine (and pool) per URL per process, made once even when threads race for it."""
    engine = _engines.get(url)
    if engine is None:
        with _lock:
            engine = _engines.get(url)
            if engine is None:
                engine = _engines[url] = create_db_engine(url)
    return engine


def get_sessionmaker(url: str) -> sessionmaker[Session]:
    maker = _sessionmakers.get(url)
    if maker is None:
        engine = get_engine(url)
        with _lock:
            maker = _sessionmakers.setdefault(url, sessionmaker(engine, expire_on_commit=False))
    return maker


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A transaction: commit on success, roll back on any error."""
    with get_sessionmaker(url).begin() as session:
        yield session


def dispose_engines() -> None:
    """Close every pooled connection (tests, backup restore, process shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _sessionmakers.clear()
