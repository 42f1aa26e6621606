"""The database stack: pgvector extension, Open WebUI's least-privilege role and its grants."""

from __future__ import annotations

import config
from modules.app_database_access import ROLE_KEYWORDS, AppDatabaseAccess
from stacks.database import app_database_access

STACK = "ajuda-prod-database"


def test_extension_role_and_grants(synthesized):
    extension = synthesized.one(STACK, "postgresql_extension")
    assert (extension["name"], extension["database"]) == ("vector", "openwebui")
    role = synthesized.one(STACK, "postgresql_role")
    assert role["name"] == "openwebui_app" and role["login"] is True
    for flag in ("superuser", "create_database", "create_role", "replication"):
        assert role[flag] is False, flag
    assert role["connection_limit"] > 0
    assert "password" not in role
    assert role["password_wo"].startswith("${jsondecode(ephemeral.aws_secretsmanager_secret_version.app-secret")
    grants = {(g["object_type"], g["role"]): g for g in synthesized.resources(STACK, "postgresql_grant").values()}
    assert grants[("database", "public")]["privileges"] == []
    app_grants = {k[0]: v for k, v in grants.items() if k[1] != "public"}
    assert sorted(app_grants["database"]["privileges"]) == ["CONNECT", "TEMPORARY"]
    assert sorted(app_grants["schema"]["privileges"]) == ["CREATE", "USAGE"]
    assert app_grants["schema"]["schema"] == "public"


def test_provider_connects_as_master_from_secrets_manager_with_tls(synthesized):
    provider = synthesized.stack(STACK)["provider"]["postgresql"][0]
    assert provider["sslmode"] == "require" and provider["superuser"] is False
    assert provider["password"].startswith("${jsondecode(ephemeral.aws_secretsmanager_secret_version.master-secret")
    assert "var.db_host" in provider["host"]
    variables = synthesized.stack(STACK)["variable"]
    assert variables["db_host"]["default"] == "" and variables["db_port"]["default"] == 5432


def test_the_sql_grants_the_role_exactly_the_attributes_the_stack_sets(synthesized):
    """The integration tier runs access.sql(); the stack creates postgresql_role: same attributes."""
    role = synthesized.one(STACK, "postgresql_role")
    (prod,) = [e for e in config.load(overrides_file="") if e.stack_name == "ajuda-prod"]
    create_role = app_database_access(prod).sql("pw")[1].split()
    assert set(ROLE_KEYWORDS) <= set(role), "a role attribute the SQL sets is left to the provider's default"
    for name, keyword in ROLE_KEYWORDS.items():
        assert (keyword if role[name] else "NO" + keyword) in create_role, name


def test_database_stack_keeps_state_remotely(synthesized):
    backend = synthesized.stack(STACK)["terraform"]["backend"]["s3"]
    assert backend["key"] == "ajuda-digital/ajuda-prod-database.tfstate" and backend["encrypt"] is True


def test_access_sql_matches_the_definition():
    access = AppDatabaseAccess(database="openwebui", role="openwebui_app", connection_limit=21)
    sql = access.sql("p'w")
    assert sql[0] == 'CREATE EXTENSION IF NOT EXISTS "vector"'
    assert '"openwebui_app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION CONNECTION LIMIT 21' in sql[1]
    assert sql[1].endswith("PASSWORD 'p''w'")
    assert sql[2:] == [
        'REVOKE ALL ON DATABASE "openwebui" FROM PUBLIC',
        'GRANT CONNECT, TEMPORARY ON DATABASE "openwebui" TO "openwebui_app"',
        'GRANT CREATE, USAGE ON SCHEMA "public" TO "openwebui_app"',
    ]


def test_database_stack_finds_what_the_application_stack_created(synthesized):
    """The two stacks keep separate state, so the database stack looks the instance and the app
    role's secret up by name: each name must be one the application stack actually gives."""
    for env_name in ("dev", "staging", "prod"):
        app, database = f"ajuda-{env_name}", f"ajuda-{env_name}-database"
        (lookup,) = synthesized.stack(database)["data"]["aws_db_instance"].values()
        created = {i["identifier"] for i in synthesized.resources(app, "aws_db_instance").values()}
        assert lookup["db_instance_identifier"] in created, env_name
        read = {e["secret_id"] for e in synthesized.stack(database)["ephemeral"]["aws_secretsmanager_secret_version"].values()
                if not e["secret_id"].startswith("${")}
        named = {s["name"] for s in synthesized.resources(app, "aws_secretsmanager_secret").values()}
        assert len(read) == 1 and read <= named, env_name
