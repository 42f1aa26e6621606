"""The database stack's least-privilege role is enough for Open WebUI, which never reaches for more."""

from __future__ import annotations

import re

from config.environments import PROD


def test_app_role_has_no_elevated_rights(cluster):
    role, database = cluster.access.role, cluster.access.database
    with cluster.superuser(database) as cur:
        cur.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit, rolconnlimit "
            "FROM pg_roles WHERE rolname = %s", [role])
        assert cur.fetchone() == (False, False, False, False, False, False, cluster.access.connection_limit)
        cur.execute("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s",
                    [role])
        assert cur.fetchone()[0] == 0, "the app role is a member of another role"
        # No CREATE on the database (needed for trusted extensions) and no superuser (needed for
        # untrusted ones such as vector): the role cannot create any extension.
        cur.execute("SELECT has_database_privilege(%s, %s, 'CREATE'), has_database_privilege(%s, %s, 'CONNECT')",
                    [role, database, role, database])
        assert cur.fetchone() == (False, True)
        cur.execute("SELECT has_database_privilege('public', %s, 'CONNECT')", [database])
        assert cur.fetchone() == (False,), "REVOKE ALL ON DATABASE ... FROM PUBLIC was not applied"


def test_extension_is_the_superusers_and_the_app_uses_it(cluster, uploaded_file):
    with cluster.superuser(cluster.access.database) as cur:
        cur.execute("SELECT r.rolsuper FROM pg_extension e JOIN pg_roles r ON r.oid = e.extowner "
                    "WHERE e.extname = 'vector'")
        assert cur.fetchone() == (True,)
        # Open WebUI's pgvector client created its table as the app role at start-up ...
        cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'document_chunk'")
        assert cur.fetchone() == (cluster.access.role,)
        # ... and the uploaded file's embeddings are in it: Titan Text Embeddings V2 through the
        # gateway, as long as the column (PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH = the configured dimension).
        cur.execute("SELECT vector::text FROM document_chunk WHERE collection_name = %s",
                    [f"file-{uploaded_file['id']}"])
        vectors = [[float(x) for x in row[0].strip("[]").split(",")] for row in cur.fetchall()]
    assert uploaded_file["status"] == "completed", uploaded_file["file"].get("data")
    assert vectors, "no chunk of the uploaded file in pgvector"
    dimension = int(cluster.synthesized_env["PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH"])
    assert dimension == PROD.models.embedding_dimension
    for vector in vectors:
        assert len(vector) == dimension and any(vector), f"not a {dimension}-dimension gateway embedding"


def _log_entries(log: str) -> list[str]:
    """Server log entries; a multi-line statement (a DO block) continues on unprefixed lines."""
    entries: list[str] = []
    for line in log.splitlines():
        if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line) or not entries:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    return entries


def test_app_never_attempted_create_extension(cluster, admin, uploaded_file):
    """The server log has every statement since the bootstrap (log_statement=all), with its user."""
    role = cluster.access.role
    # Positive control: the superuser runs the same DO block form Open WebUI would (a no-op: the
    # extension exists) and the detector below must see it under the superuser's name.
    with cluster.superuser(cluster.access.database) as cur:
        cur.execute("DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN\n"
                    "    CREATE EXTENSION IF NOT EXISTS vector;\n  END IF;\nEND $$;")
    entries = _log_entries(cluster.postgres_log())
    control = [e for e in entries if f" user={cluster.postgres.superuser} " in e
               and re.search(r"create\s+extension", e, re.IGNORECASE)]
    assert control, "the log scan cannot see a CREATE EXTENSION inside a DO block"
    entries = [e for e in entries if f" user={role} " in e]
    assert any("statement:" in e or "execute" in e for e in entries), "no statement of the app role logged"
    assert any("document_chunk" in e for e in entries), "the pgvector start-up statements are not in the log"
    attempts = [e for e in entries if re.search(r"create\s+extension", e, re.IGNORECASE)]
    assert not attempts, attempts[:3]
    assert "permission denied to create extension" not in cluster.postgres_log()


def test_migrations_ran_in_the_migration_task_only(cluster):
    migration_log = cluster.migration_log.read_text(errors="replace")
    assert "Running upgrade" in migration_log and "database is at the latest revision" in migration_log
    assert len(cluster.alembic_version()) == 1
    for replica in cluster.replicas:
        text = replica.log_text(0)
        assert "Running migrations" not in text and "Running upgrade" not in text, replica.name
