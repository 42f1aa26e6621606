"""The PostgreSQL log never holds the app role's password (issue #9, item 4).

RDS exports the PostgreSQL log to CloudWatch Logs, and PostgreSQL writes a CREATE/ALTER ROLE
statement verbatim, password included, whenever its logging settings select it (RDS User Guide,
"Turning on query logging for your RDS for PostgreSQL DB instance",
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Concepts.PostgreSQL.Query_Logging.html).
Here a real PostgreSQL runs with the logging parameters of the synthesized prod parameter group,
the database stack's own statements (``AppDatabaseAccess.sql``) run against it, and the server log
is searched for the password. Its own server: it needs neither Open WebUI nor the tier's cluster.
"""

from __future__ import annotations

import secrets

import pytest

from tests.support import missing, postgres

PROD_STACK = "ajuda-prod"


@pytest.fixture(scope="module")
def server():
    try:
        postgres.bin_dir()
    except postgres.PostgresUnavailable as exc:
        missing(str(exc))
    instance = postgres.start()
    try:
        yield instance
    finally:
        instance.stop()


def prod_logging_parameters(synthesized) -> dict[str, str]:
    (group,) = synthesized.resources(PROD_STACK, "aws_db_parameter_group").values()
    return {p["name"]: p["value"] for p in group["parameter"] if p["name"].startswith("log_")}


def _apply(server: postgres.PostgresServer, parameters: dict[str, str]) -> None:
    with server.superuser_cursor() as cur:
        for name, value in parameters.items():
            cur.execute(f"ALTER SYSTEM SET {name} = %s", [value])
        cur.execute("SELECT pg_reload_conf()")


def _log(server: postgres.PostgresServer) -> str:
    return (server.base_dir / "server.log").read_text(errors="replace")


def test_database_bootstrap_writes_no_password_to_the_log(synthesized, server):
    import config
    from stacks.database import app_database_access

    parameters = prod_logging_parameters(synthesized)
    assert "log_statement" in parameters, "the prod parameter group no longer sets log_statement"
    _apply(server, parameters)
    (prod,) = config.load(["prod"], overrides_file="")
    access = app_database_access(prod)
    password = "Pw-" + secrets.token_hex(12)
    with server.superuser_cursor() as cur:
        cur.execute(f'CREATE DATABASE "{access.database}"')
    with server.superuser_cursor(access.database) as cur:
        for statement in access.sql(password):
            cur.execute(statement)
        # A second apply fails on the existing role: the ERROR path must not echo the statement either.
        import psycopg2

        with pytest.raises(psycopg2.errors.DuplicateObject):
            cur.execute(access.sql(password)[1])
        # A rotation (the provider's ALTER ROLE ... PASSWORD).
        rotated = "Pw-" + secrets.token_hex(12)
        cur.execute(f'ALTER ROLE "{access.role}" PASSWORD %s', [rotated])
    log = _log(server)
    assert 'already exists' in log, "the failed CREATE ROLE was not logged at all: the log is not the server's"
    leaked = [line for line in log.splitlines() if password in line or rotated in line]
    assert not leaked, leaked

    # Control: with the setting this replaced (log_statement = ddl) the same search finds the password.
    _apply(server, {"log_statement": "ddl"})
    control = "Pw-" + secrets.token_hex(12)
    with server.superuser_cursor(access.database) as cur:
        cur.execute(f'ALTER ROLE "{access.role}" PASSWORD %s', [control])
    assert control in _log(server), "the log search cannot see a logged password"
    _apply(server, parameters)
