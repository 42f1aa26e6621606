"""docker/ajuda-entrypoint.sh against a real PostgreSQL (scram password auth over TCP).

The bundled PostgreSQL has no TLS, so connections use sslmode=prefer, and sslmode=require is
shown to be honoured by the client refusing the non-TLS server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from tests.entrypoint.conftest import APP_DATABASE, APP_ROLE, HOSTILE_PASSWORD
from tests.integration import processes
from tests.support import missing

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "ajuda-entrypoint.sh"
REQUIRED = ["AJUDA_DB_HOST", "AJUDA_DB_PORT", "AJUDA_DB_NAME", "AJUDA_DB_USER", "AJUDA_DB_PASSWORD"]
REDIS_TOKEN = "tok(en)$+@:/%25# 'q\"\\-ElastiCache"

# Connects with the URLs the entrypoint exported and reports what it saw (to a file, so the
# entrypoint's own stdout/stderr can be checked for leaks separately).
PROBE = r"""
import json, os, sys
import psycopg2
report = {"env": {k: os.environ.get(k) for k in (
    "DATABASE_URL", "PGVECTOR_DB_URL", "REDIS_URL", "WEBSOCKET_REDIS_URL", "AJUDA_DB_PASSWORD",
    "AJUDA_REDIS_PASSWORD", "DATABASE_PASSWORD", "ENABLE_DB_MIGRATIONS")}, "argv": sys.argv[1:]}
if os.environ.get("PROBE_CONNECT") == "1":
    for name in ("DATABASE_URL", "PGVECTOR_DB_URL"):
        conn = psycopg2.connect(os.environ[name])
        with conn.cursor() as cur:
            cur.execute("select current_user, current_database(), ssl from pg_stat_ssl where pid = pg_backend_pid()")
            report[name] = list(cur.fetchone())
        conn.close()
with open(os.environ["PROBE_REPORT"], "w") as f:
    json.dump(report, f)
"""


def run_entrypoint(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AJUDA_", "DATABASE_", "REDIS_"))}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout, check=False,
    )


def run_probe(tmp_path: Path, env: dict[str, str], connect: bool = True) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp_path / "report.json"
    result = run_entrypoint(
        {**env, "PROBE_REPORT": str(report), "PROBE_CONNECT": "1" if connect else "0"},
        sys.executable, "-c", PROBE, "--flag", "a b",
    )
    assert result.returncode == 0, result.stderr
    return result, json.loads(report.read_text())


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in {secret, quote(secret, safe="")}:
            assert form not in text, "a secret appeared in the entrypoint's output"


def test_connects_with_a_hostile_password(app_database, tmp_path):
    result, report = run_probe(tmp_path, {**app_database, "AJUDA_DB_SSLMODE": "prefer"})

    assert report["DATABASE_URL"] == [APP_ROLE, APP_DATABASE, False]
    assert report["PGVECTOR_DB_URL"] == [APP_ROLE, APP_DATABASE, False]
    assert report["argv"] == ["--flag", "a b"]  # exec "$@" keeps the arguments intact
    env = report["env"]
    assert env["PGVECTOR_DB_URL"] == env["DATABASE_URL"]
    assert env["DATABASE_URL"].startswith("postgresql://") and env["DATABASE_URL"].endswith("?sslmode=prefer")
    url = urlsplit(env["DATABASE_URL"])
    assert unquote(url.username) == APP_ROLE and unquote(url.password) == HOSTILE_PASSWORD
    assert env["AJUDA_DB_PASSWORD"] is None  # raw secret unset before exec
    assert env["DATABASE_PASSWORD"] is None
    assert_no_secret(result.stdout + result.stderr, HOSTILE_PASSWORD)


def test_sslmode_defaults_to_require_and_is_honoured(app_database, tmp_path):
    _, report = run_probe(tmp_path, app_database, connect=False)
    assert report["env"]["DATABASE_URL"].endswith("?sslmode=require")
    # The client really applies it: this server has no TLS, so require must refuse to connect.
    env = {**app_database, "PROBE_REPORT": str(tmp_path / "r.json"), "PROBE_CONNECT": "1"}
    result = run_entrypoint(env, sys.executable, "-c", PROBE)
    assert result.returncode != 0
    assert "server does not support SSL" in result.stderr
    assert_no_secret(result.stdout + result.stderr, HOSTILE_PASSWORD)


def test_wrong_password_is_rejected_by_the_server(app_database, tmp_path):
    """The probe really authenticates: a different password must fail."""
    env = {**app_database, "AJUDA_DB_PASSWORD": HOSTILE_PASSWORD + "x", "AJUDA_DB_SSLMODE": "prefer",
           "PROBE_REPORT": str(tmp_path / "r.json"), "PROBE_CONNECT": "1"}
    result = run_entrypoint(env, sys.executable, "-c", PROBE)
    assert result.returncode != 0
    assert "password authentication failed" in result.stderr


@pytest.mark.parametrize("missing", REQUIRED)
def test_missing_variable_fails_clearly(app_database, missing):
    env = {k: v for k, v in app_database.items() if k != missing}
    result = run_entrypoint(env, "true")
    assert result.returncode == 64
    assert f"required environment variable {missing} is not set" in result.stderr
    assert result.stdout == ""
    assert_no_secret(result.stdout + result.stderr, HOSTILE_PASSWORD)


def test_empty_variable_counts_as_missing(app_database):
    result = run_entrypoint({**app_database, "AJUDA_DB_HOST": ""}, "true")
    assert result.returncode == 64 and "AJUDA_DB_HOST" in result.stderr


def test_every_missing_variable_is_named():
    result = run_entrypoint({}, "true")
    assert result.returncode == 64
    for name in REQUIRED:
        assert name in result.stderr


def test_invalid_sslmode_is_rejected(app_database):
    result = run_entrypoint({**app_database, "AJUDA_DB_SSLMODE": "required"}, "true")
    assert result.returncode == 64 and "AJUDA_DB_SSLMODE" in result.stderr


@pytest.mark.parametrize("name", ["ajuda docs", "a/b", "a%20b", "db?x=1"])
def test_database_names_needing_encoding_are_rejected(app_database, name):
    """SQLAlchemy percent-decodes user and password but not the database name."""
    result = run_entrypoint({**app_database, "AJUDA_DB_NAME": name}, "true")
    assert result.returncode == 64 and "AJUDA_DB_NAME" in result.stderr


def test_no_command_is_an_error(app_database):
    result = run_entrypoint(app_database)
    assert result.returncode == 64 and "no command" in result.stderr


def test_redis_urls_use_tls_and_the_encoded_token(app_database, tmp_path):
    env = {**app_database, "AJUDA_REDIS_HOST": "master.ajuda.cache.amazonaws.com", "AJUDA_REDIS_PORT": "6379",
           "AJUDA_REDIS_PASSWORD": REDIS_TOKEN}
    result, report = run_probe(tmp_path, env, connect=False)
    redis_url = report["env"]["REDIS_URL"]
    assert report["env"]["WEBSOCKET_REDIS_URL"] == redis_url
    parts = urlsplit(redis_url)
    assert parts.scheme == "rediss"
    assert parts.hostname == "master.ajuda.cache.amazonaws.com" and parts.port == 6379 and parts.path == "/0"
    assert parts.username == "" and unquote(parts.password) == REDIS_TOKEN
    assert report["env"]["AJUDA_REDIS_PASSWORD"] is None
    assert_no_secret(result.stdout + result.stderr, REDIS_TOKEN, HOSTILE_PASSWORD)


def test_redis_without_token_is_plain_unless_told(app_database, tmp_path):
    _, report = run_probe(tmp_path, {**app_database, "AJUDA_REDIS_HOST": "redis.local"}, connect=False)
    assert report["env"]["REDIS_URL"] == "redis://redis.local:6379/0"
    _, report = run_probe(tmp_path, {**app_database, "AJUDA_REDIS_HOST": "redis.local", "AJUDA_REDIS_TLS": "true"},
                          connect=False)
    assert report["env"]["REDIS_URL"] == "rediss://redis.local:6379/0"


def test_no_redis_host_means_no_redis_urls(app_database, tmp_path):
    _, report = run_probe(tmp_path, app_database, connect=False)
    assert report["env"]["REDIS_URL"] is None and report["env"]["WEBSOCKET_REDIS_URL"] is None


def test_redis_token_without_host_is_an_error(app_database):
    result = run_entrypoint({**app_database, "AJUDA_REDIS_PASSWORD": REDIS_TOKEN}, "true")
    assert result.returncode == 64 and "AJUDA_REDIS_HOST" in result.stderr
    assert_no_secret(result.stdout + result.stderr, REDIS_TOKEN)


def test_migrate_mode_runs_the_migration_script_with_migrations_enabled(app_database, tmp_path):
    """Dispatch only: the script itself is docker/ajuda_migrate.py (see test_migrate_script_*)."""
    fake = tmp_path / "fake_migrate.py"
    fake.write_text(PROBE)
    report_path = tmp_path / "migrate.json"
    result = run_entrypoint(
        {**app_database, "AJUDA_DB_SSLMODE": "prefer", "AJUDA_MIGRATE_SCRIPT": str(fake), "AJUDA_PYTHON": sys.executable,
         "PROBE_REPORT": str(report_path), "PROBE_CONNECT": "1"},
        "migrate", "--extra",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["env"]["ENABLE_DB_MIGRATIONS"] == "true"
    assert report["argv"] == ["--extra"]
    assert report["DATABASE_URL"][0] == APP_ROLE
    assert_no_secret(result.stdout + result.stderr, HOSTILE_PASSWORD)


def test_migrate_script_fails_without_a_postgres_url():
    result = subprocess.run(
        [sys.executable, str(ROOT / "docker" / "ajuda_migrate.py")],
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    assert "DATABASE_URL is not a postgresql:// URL" in result.stderr


def test_migrate_script_redacts_the_password_in_errors(tmp_path):
    """A failure inside the migration (here: open_webui missing) must not echo the password."""
    url = f"postgresql://{quote(APP_ROLE, safe='')}:{quote(HOSTILE_PASSWORD, safe='')}@127.0.0.1:1/x?sslmode=require"
    stub = tmp_path / "backend"
    (stub / "open_webui").mkdir(parents=True)
    (stub / "open_webui" / "__init__.py").write_text("")
    (stub / "open_webui" / "env.py").write_text(
        "import os\nraise RuntimeError('cannot start with ' + os.environ['DATABASE_URL'])\n"
    )
    (stub / "alembic").mkdir()
    (stub / "alembic" / "__init__.py").write_text("")
    (stub / "alembic" / "command.py").write_text("")
    (stub / "alembic" / "config.py").write_text("class Config: pass\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "docker" / "ajuda_migrate.py")],
        env={**os.environ, "DATABASE_URL": url, "AJUDA_BACKEND_DIR": str(stub)},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    assert "cannot start with" in result.stderr and "FAILED" in result.stderr
    assert_no_secret(result.stdout + result.stderr, HOSTILE_PASSWORD)


def test_real_open_webui_migrations_run_and_are_idempotent(postgres_server, app_database, tmp_path):
    """Open WebUI's own Alembic migrations through `ajuda-entrypoint migrate`, twice (needs the Open WebUI
    venv of scripts/integration-env.sh, or AJUDA_OWUI_PYTHON: skipped without it, failed under CI=true)."""
    import psycopg2
    from psycopg2 import sql

    owui_python = processes.owui_python()
    if not owui_python.exists():
        missing(f"no python that can import open_webui 0.12.4 at {owui_python} (AJUDA_OWUI_PYTHON)")

    database = "ajuda_migrations"
    admin = psycopg2.connect(postgres_server.dsn())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(APP_ROLE)))
    admin.close()
    owner = psycopg2.connect(postgres_server.dsn(database))
    owner.autocommit = True
    owner.cursor().execute("CREATE EXTENSION vector")  # done by the database stack in AWS, not the app role
    owner.close()

    env = {**app_database, "AJUDA_DB_NAME": database, "AJUDA_DB_SSLMODE": "prefer",
           "AJUDA_PYTHON": str(owui_python), "AJUDA_MIGRATE_SCRIPT": str(ROOT / "docker" / "ajuda_migrate.py"),
           "WEBUI_SECRET_KEY": "test-only-key", "DATA_DIR": str(tmp_path)}
    for _ in range(2):
        result = run_entrypoint(env, "migrate", timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "database is at the latest revision" in result.stderr
        assert_no_secret(result.stdout + result.stderr, HOSTILE_PASSWORD)

    conn = psycopg2.connect(postgres_server.dsn(database))
    with conn.cursor() as cur:
        cur.execute("select count(*) from alembic_version")
        assert cur.fetchone() == (1,)
        cur.execute("select distinct tableowner from pg_tables where schemaname = 'public'")
        assert cur.fetchall() == [(APP_ROLE,)]
    conn.close()
