"""Run Open WebUI's Alembic migrations once, then exit (the entrypoint's ``migrate`` mode).

This is what open_webui/config.py:66-79 (v0.12.4) does when ENABLE_DB_MIGRATIONS is true,
without importing open_webui.config itself (which would also copy the static files,
build the whole settings registry and the OAuth clients): Alembic's ``upgrade head``
with the packaged alembic.ini and migrations/ directory. migrations/env.py reads
DATABASE_URL (already composed by the entrypoint) through open_webui.env.

With VECTOR_DB=pgvector it then creates Open WebUI's pgvector table (document_chunk) and its
indexes, which the app otherwise creates at start-up outside Alembic: replicas booting at once on
a fresh database race on that CREATE TABLE and one of them dies (the integration tier reproduced
it). That step imports open_webui.config.

A PostgreSQL advisory lock serialises concurrent runs (two deploys at once); the
second run waits, then finds the schema at head and does nothing.

Output never contains the database password: errors are printed with it redacted.
"""

from __future__ import annotations

import os
import sys
import traceback
from urllib.parse import unquote, urlsplit

# Open WebUI's pgvector table (open_webui/retrieval/vector/dbs/pgvector.py).
VECTOR_TABLE = "document_chunk"
# Any fixed 64-bit number; shared by every run of this script.
ADVISORY_LOCK_KEY = 0x416A75646131  # "Ajuda1"


def _secrets_in(url: str) -> list[str]:
    password = urlsplit(url).password or ""
    return [s for s in {password, unquote(password)} if s]


def _redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _vector_column_dimension(connection) -> int | None:
    """The dimension of document_chunk.vector (pgvector keeps it in atttypmod), None without the table."""
    from sqlalchemy import text

    row = connection.execute(text(
        "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass(:table) AND attname = 'vector' "
        "AND NOT attisdropped"), {"table": VECTOR_TABLE}).first()
    return None if row is None else int(row[0])


def _drop_vectors_of_another_model(connection) -> None:
    """Drop document_chunk when its vectors have another length than the configured embedding model's.

    Vectors from another model (e.g. the image's local all-MiniLM-L6-v2 before embeddings moved to
    Bedrock Titan) cannot be compared with new ones, and Open WebUI refuses to start on a length
    mismatch (retrieval/vector/dbs/pgvector.py check_vector_length). The chunks are derived data:
    the files stay in S3 and the knowledge bases are re-indexed from them (README: Model gateway).
    """
    from sqlalchemy import text

    wanted = int(os.environ.get("PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH", "1536"))
    found = _vector_column_dimension(connection)
    if found is None or found == wanted:
        return
    rows = connection.execute(text(f"SELECT count(*) FROM {VECTOR_TABLE}")).scalar()
    connection.execute(text(f"DROP TABLE {VECTOR_TABLE}"))
    connection.commit()
    print(f"ajuda-migrate: {VECTOR_TABLE} held {rows} vectors of length {found} from another embedding model; "
          f"dropped it for length {wanted}: re-index the knowledge bases", file=sys.stderr, flush=True)


def _create_vector_schema() -> None:
    """Create what Open WebUI's pgvector client creates at start-up (document_chunk and its indexes).

    Done here, once, under the lock: replicas booting at once on a fresh database otherwise race
    on CREATE TABLE (UniqueViolation on pg_type_typname_nsp_index) and one of them dies.
    """
    if os.environ.get("VECTOR_DB", "").lower() != "pgvector":
        return
    # Imports open_webui.config (settings registry, static files): only in this branch.
    from open_webui.retrieval.vector.dbs.pgvector import PgvectorClient

    PgvectorClient()


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "")
    secrets = _secrets_in(database_url)
    try:
        if not database_url.startswith("postgresql://"):
            raise SystemExit("ajuda-migrate: DATABASE_URL is not a postgresql:// URL (run through the entrypoint)")
        # The official image runs from /app/backend, where the open_webui package lives.
        sys.path.insert(0, os.environ.get("AJUDA_BACKEND_DIR") or os.getcwd())

        from alembic import command
        from alembic.config import Config
        from open_webui.env import OPEN_WEBUI_DIR
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        alembic_cfg = Config(str(OPEN_WEBUI_DIR / "alembic.ini"))
        alembic_cfg.set_main_option("script_location", str(OPEN_WEBUI_DIR / "migrations"))

        lock_engine = create_engine(database_url, poolclass=NullPool)
        with lock_engine.connect() as lock:
            print("ajuda-migrate: waiting for the migration lock", file=sys.stderr, flush=True)
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            try:
                command.upgrade(alembic_cfg, "head")
                if os.environ.get("VECTOR_DB", "").lower() == "pgvector":
                    _drop_vectors_of_another_model(lock)
                _create_vector_schema()
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
        lock_engine.dispose()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            print(_redact(str(exc.code), secrets), file=sys.stderr)
            return 1
        return 0
    except BaseException:
        print(_redact(traceback.format_exc(), secrets), file=sys.stderr)
        print("ajuda-migrate: FAILED", file=sys.stderr)
        return 1
    print("ajuda-migrate: database is at the latest revision", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
