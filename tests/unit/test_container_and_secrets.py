"""The synthesized container: environment and secrets per environment, no secret value anywhere,
and the database capacity arithmetic."""

from __future__ import annotations

import json
import re

import pytest

from config import catalog

APP_STACKS = ["ajuda-prod", "ajuda-staging", "ajuda-dev", "ajuda-local"]
SECRET_NAMES = re.compile(r"(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|CREDENTIALS?|ACCESS_KEY(_ID)?|SECRET_KEY|_URL_WITH_AUTH)$", re.I)


def container(synthesized, stack):
    task = synthesized.one(stack, "aws_ecs_task_definition", "service_task")
    return json.loads(task["container_definitions"])[0]


def environment(synthesized, stack) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(synthesized, stack)["environment"]}


def secrets(synthesized, stack) -> dict[str, str]:
    return {s["name"]: s["valueFrom"] for s in container(synthesized, stack)["secrets"]}


def test_prod_container_environment(synthesized):
    env = environment(synthesized, "ajuda-prod")
    origin = "https://chat.ajudadigital.tl"
    assert env["WEBUI_URL"] == origin and env["CORS_ALLOW_ORIGIN"] == origin
    assert env["GOOGLE_REDIRECT_URI"] == f"{origin}/oauth/google/callback"
    assert env["GOOGLE_CLIENT_ID"].endswith(".apps.googleusercontent.com")
    assert env["ENABLE_OAUTH_SIGNUP"] == "true" and env["ENABLE_LOGIN_FORM"] == "true"
    assert env["WEBUI_SESSION_COOKIE_SECURE"] == "true" and env["WEBUI_AUTH_COOKIE_SECURE"] == "true"
    assert env["VECTOR_DB"] == "pgvector" and env["PGVECTOR_CREATE_EXTENSION"] == "false"
    assert env["ENABLE_DB_MIGRATIONS"] == "false" and env["ENABLE_PERSISTENT_CONFIG"] == "false"
    assert env["STORAGE_PROVIDER"] == "s3" and "aws_s3_bucket" in env["S3_BUCKET_NAME"]
    assert env["S3_REGION_NAME"] == "us-east-1"
    assert env["WEBSOCKET_MANAGER"] == "redis" and env["ENABLE_WEBSOCKET_SUPPORT"] == "true"
    assert "aws_elasticache_replication_group" in env["AJUDA_REDIS_HOST"] and env["AJUDA_REDIS_TLS"] == "true"
    assert "aws_db_instance" in env["AJUDA_DB_HOST"] and env["AJUDA_DB_SSLMODE"] == "require"
    assert env["UVICORN_WORKERS"] == "1" and int(env["THREAD_POOL_SIZE"]) > 0
    assert env["OFFLINE_MODE"] == "true" and env["RAG_EMBEDDING_MODEL_AUTO_UPDATE"] == "false"
    assert env["DATABASE_POOL_SIZE"] == "10" and env["DATABASE_POOL_MAX_OVERFLOW"] == "10"


def test_prod_container_secrets_are_references_only(synthesized):
    found = secrets(synthesized, "ajuda-prod")
    assert set(found) == {"WEBUI_SECRET_KEY", "AJUDA_DB_USER", "AJUDA_DB_PASSWORD", "AJUDA_REDIS_PASSWORD",
                          "GOOGLE_CLIENT_SECRET", "WEBUI_ADMIN_PASSWORD", "OPENAI_API_KEYS", "RAG_OPENAI_API_KEY"}
    for name, value_from in found.items():
        assert re.fullmatch(r"\$\{aws_secretsmanager_secret\.[^.]+\.arn\}(:(username|password)::)?", value_from), name


def test_dev_container_differs_only_by_data(synthesized):
    env = environment(synthesized, "ajuda-dev")
    assert env["WEBUI_URL"] == env["CORS_ALLOW_ORIGIN"] == "https://dev.chat.ajudadigital.tl"
    assert env["DATABASE_POOL_SIZE"] == "5"
    assert set(environment(synthesized, "ajuda-prod")) == set(env)
    assert set(secrets(synthesized, "ajuda-dev")) == set(secrets(synthesized, "ajuda-prod"))


def test_local_runs_without_oauth_and_cache(synthesized):
    env = environment(synthesized, "ajuda-local")
    assert env["ENABLE_OAUTH_SIGNUP"] == "false" and "GOOGLE_CLIENT_ID" not in env
    assert env["WEBUI_SESSION_COOKIE_SECURE"] == "false"
    assert env["CORS_ALLOW_ORIGIN"].startswith("http://${aws_lb.")
    assert "AJUDA_REDIS_HOST" not in env


@pytest.mark.parametrize("stack", APP_STACKS)
def test_no_secret_in_plain_environment(synthesized, stack):
    env = environment(synthesized, stack)
    assert env["CORS_ALLOW_ORIGIN"] != "*"
    for name in env:
        assert not SECRET_NAMES.search(name), name
    assert not any(name.startswith("S3_") and "KEY" in name for name in env)
    # URLs carrying credentials are composed inside the container by the entrypoint only.
    assert not {"DATABASE_URL", "PGVECTOR_DB_URL", "REDIS_URL", "WEBSOCKET_REDIS_URL"} & set(env)


KEY_SHAPES = [
    re.compile(r"AKIA[0-9A-Z]{16}"),                       # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),     # PEM private key
    re.compile(r"GOCSPX-[A-Za-z0-9_-]{20,}"),              # Google OAuth client secret
    re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),  # AWS secret access key shape
]


# AWS managed policy ARNs are public names that can have a secret key's shape
# ("role/AWSBackupServiceRolePolicyForBackup" is 40 such characters).
AWS_MANAGED_POLICY_ARN = re.compile(r"arn:aws:iam::aws:policy/[A-Za-z0-9/_+=,.@-]+")


def test_no_secret_value_in_any_synthesized_file(synthesized):
    for path in synthesized.outdir.rglob("*.json"):
        text = AWS_MANAGED_POLICY_ARN.sub("", path.read_text())
        for shape in KEY_SHAPES:
            assert not shape.search(text), f"{path}: {shape.pattern}"
    for stack, document in synthesized.stacks.items():
        for resource_type, resources in document.get("resource", {}).items():
            for name, body in resources.items():
                for attribute in ("password", "auth_token", "secret_string", "master_password"):
                    value = body.get(attribute)
                    assert value is None or str(value).startswith("${"), f"{stack} {resource_type}.{name}.{attribute}"


def test_emulator_credentials_only_in_emulator_stacks(synthesized):
    for stack, document in synthesized.stacks.items():
        provider = document["provider"]["aws"][0]
        assert ("access_key" in provider) == stack.startswith(("ajuda-local", "local-"))


@pytest.mark.parametrize("stack", APP_STACKS)
def test_database_connections_fit_the_instance(synthesized, stack):
    env = environment(synthesized, stack)
    per_task = 2 * (int(env["DATABASE_POOL_SIZE"]) + int(env["DATABASE_POOL_MAX_OVERFLOW"])) + \
        int(env["PGVECTOR_POOL_SIZE"]) + int(env["PGVECTOR_POOL_MAX_OVERFLOW"])
    max_tasks = synthesized.one(stack, "aws_appautoscaling_target")["max_capacity"]
    surge_percent = synthesized.one(stack, "aws_ecs_service", "service_")["deployment_maximum_percent"]
    instance_class = synthesized.one(stack, "aws_db_instance")["instance_class"]
    # A release at max_count: the rolling update's old and new tasks, plus the one-off migration task.
    peak = (max_tasks * surge_percent // 100 + 1) * per_task
    # RDS keeps 3 + 2 slots for (rds_)superusers: the app role cannot use them.
    assert peak <= catalog.rds_default_max_connections(instance_class) - 5, (stack, peak)
    database_stack = f"{stack}-database"
    if database_stack in synthesized.stacks:
        assert synthesized.one(database_stack, "postgresql_role")["connection_limit"] == peak


@pytest.mark.parametrize("stack,maintenance,work", [("ajuda-prod", 1048576, 16384), ("ajuda-dev", 262144, 4096)])
def test_pgvector_memory_parameters_scale_with_the_class(synthesized, stack, maintenance, work):
    parameters = {p["name"]: p["value"] for p in synthesized.one(stack, "aws_db_parameter_group")["parameter"]}
    assert (int(parameters["maintenance_work_mem"]), int(parameters["work_mem"])) == (maintenance, work)


@pytest.mark.parametrize("stack", ["ajuda-prod", "ajuda-dev"])
def test_cache_is_encrypted_authenticated_and_private(synthesized, stack):
    group = synthesized.one(stack, "aws_elasticache_replication_group")
    assert group["transit_encryption_enabled"] is True and group["at_rest_encryption_enabled"] == "true"
    assert group["auth_token"].startswith("${aws_secretsmanager_secret_version.")
    assert group["engine"] == "valkey"
    subnets = synthesized.one(stack, "aws_elasticache_subnet_group")["subnet_ids"]
    assert all("app" in s for s in subnets)
