"""The harness runs what the stack synthesized: nothing dropped, nothing unknown, secrets as ECS resolves them.

The first tests need only the synthesis (no server); the last one reads the environment of the
running replica processes.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from tests.integration import env_contract, synthesis


@pytest.fixture(scope="module")
def container(synthesized) -> dict:
    return synthesis.container_definition(synthesized)


@pytest.fixture(scope="module")
def stack_json(synthesized) -> dict:
    return synthesized.stack(synthesis.PROD_STACK)


def test_every_synthesized_setting_is_passed_through_or_a_known_replacement(container, stack_json):
    synthesized = {e["name"]: e["value"] for e in container["environment"]}
    unknown = {}
    for name, value in synthesized.items():
        if name in env_contract.REPLACEMENTS:
            continue
        try:  # passed through: its value must be known before the process starts
            synthesis.resolve_terraform_value(value, stack_json)
        except synthesis.UnresolvedReference as exc:
            unknown[name] = str(exc)
    assert not unknown, f"synthesized settings the harness cannot pass through (add a replacement?): {unknown}"

    stale = set(env_contract.REPLACEMENTS) - set(synthesized) - env_contract.PLATFORM_SETTINGS
    assert not stale, f"REPLACEMENTS entries the task definition no longer has: {sorted(stale)}"
    platform_in_task = env_contract.PLATFORM_SETTINGS & set(synthesized)
    assert not platform_in_task, f"the task definition now sets {platform_in_task}: stop replacing them"
    secrets = {s["name"] for s in container["secrets"]}
    assert not (secrets & set(env_contract.REPLACEMENTS)), "a secret is never replaced"
    # The image stand-ins never touch a setting of the task definition.
    assert not (set(env_contract.IMAGE_STAND_INS) & (set(synthesized) | secrets))


def test_replacements_are_only_endpoints_tls_origin_and_credentials():
    """The list stays the short one the issue allows; growing it needs a reason here."""
    assert set(env_contract.REPLACEMENTS) == {
        "AJUDA_DB_HOST", "AJUDA_DB_PORT", "AJUDA_DB_SSLMODE",
        "AJUDA_REDIS_HOST", "AJUDA_REDIS_PORT", "AJUDA_REDIS_TLS",
        "WEBUI_URL", "CORS_ALLOW_ORIGIN", "GOOGLE_REDIRECT_URI", "OPENAI_API_BASE_URLS", "RAG_OPENAI_API_BASE_URL",
        "WEBUI_SESSION_COOKIE_SECURE", "WEBUI_AUTH_COOKIE_SECURE",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3",
    }
    # Settings whose production value must reach the app untouched, named to keep them off the list.
    for name in ("ENABLE_SIGNUP", "ENABLE_DB_MIGRATIONS", "PGVECTOR_CREATE_EXTENSION", "STORAGE_PROVIDER",
                 "WEBSOCKET_MANAGER", "ENABLE_PERSISTENT_CONFIG", "OFFLINE_MODE", "DATABASE_POOL_SIZE"):
        assert name not in env_contract.REPLACEMENTS


def test_cookie_secure_flags_follow_the_scheme_as_synthesized(container):
    env = {e["name"]: e["value"] for e in container["environment"]}
    https = env["WEBUI_URL"].startswith("https://")
    assert env["WEBUI_AUTH_COOKIE_SECURE"] == env["WEBUI_SESSION_COOKIE_SECURE"] == ("true" if https else "false")
    assert env["GOOGLE_REDIRECT_URI"].startswith(env["WEBUI_URL"] + "/")
    assert env["CORS_ALLOW_ORIGIN"] == env["WEBUI_URL"]


def test_every_secret_reference_maps_to_a_secret_the_test_creates(container, stack_json):
    values = env_contract.secret_values(env_contract.Credentials(app_role="x"))
    referenced = {synthesis.secret_name_of_reference(s["valueFrom"], stack_json) for s in container["secrets"]}
    assert referenced == set(values), f"referenced {sorted(referenced)} vs created {sorted(values)}"


def test_app_database_secret_is_for_the_role_the_database_stack_creates(synthesized, stack_json):
    import config
    from stacks.database import app_database_access

    prod = next(e for e in config.load(overrides_file="") if e.stack_name == synthesis.PROD_STACK)
    versions = stack_json["resource"]["aws_secretsmanager_secret_version"]
    app = next(v for k, v in versions.items() if k.startswith("app-database-credentials"))
    assert f'"username" = "{app_database_access(prod).role}"' in app["secret_string_wo"]


def test_value_from_resolution_follows_ecs_semantics():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ajuda-prod/app-database-AbCdEf"
    store = {arn: json.dumps({"username": "u", "password": "p:w@x", "port": 5432})}
    seen = []

    def get(secret_arn, stage, version):
        seen.append((secret_arn, stage, version))
        return store[secret_arn]

    assert env_contract.resolve_value_from(arn, get) == store[arn]
    assert env_contract.resolve_value_from(arn + ":password::", get) == "p:w@x"
    assert env_contract.resolve_value_from(arn + ":port::", get) == "5432"
    assert env_contract.resolve_value_from(arn + ":username:AWSCURRENT:", get) == "u"
    assert seen[-1] == (arn, "AWSCURRENT", None)
    with pytest.raises(ValueError):
        env_contract.resolve_value_from(arn + ":password", get)


def test_image_environment_is_read_from_the_dockerfile():
    env = env_contract.image_environment()
    assert env["OFFLINE_MODE"] == "true" and env["PGVECTOR_CREATE_EXTENSION"] == "false"
    assert env["ENABLE_DB_MIGRATIONS"] == "false"


def _process_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode().split("=", 1) for item in raw.split(b"\0") if b"=" in item)


def test_running_replicas_have_the_synthesized_environment(cluster):
    """What the Open WebUI process really got, after the entrypoint's exec (same pid)."""
    replaced = cluster.replacement_values()
    creds = cluster.credentials
    for replica in cluster.replicas:
        env = _process_environ(replica.process.pid)
        assert "open-webui" in Path(f"/proc/{replica.process.pid}/cmdline").read_text()
        # UVICORN_WORKERS=1: the app runs in this one process, no worker children (the per-task
        # connection budget assumes one worker).
        children = Path(f"/proc/{replica.process.pid}/task/{replica.process.pid}/children").read_text().split()
        assert children == [], f"{replica.name} has child processes {children}"
        for name, value in cluster.synthesized_env.items():
            expected = replaced[name] if name in replaced else synthesis.resolve_terraform_value(value, cluster.stack_json)
            assert env.get(name) == expected, f"{replica.name}: {name}"
        assert env["ENABLE_DB_MIGRATIONS"] == "false" and env["ENABLE_SIGNUP"] == "false"
        # Secrets, resolved from moto as ECS does; the raw passwords are gone (unset by the entrypoint).
        assert env["WEBUI_SECRET_KEY"] == creds.webui_secret_key
        assert env["GOOGLE_CLIENT_SECRET"] == creds.google_client_secret
        assert env["AJUDA_DB_USER"] == creds.app_role
        assert "AJUDA_DB_PASSWORD" not in env and "AJUDA_REDIS_PASSWORD" not in env
        # The URLs the entrypoint composed carry the hostile credentials encoded.
        db = urlsplit(env["DATABASE_URL"])
        assert db.scheme == "postgresql" and db.hostname == cluster.postgres.host and db.port == cluster.postgres.port
        assert db.password == quote(creds.app_password, safe="") and db.query == "sslmode=disable"
        assert env["PGVECTOR_DB_URL"] == env["DATABASE_URL"]
        assert env["REDIS_URL"] == env["WEBSOCKET_REDIS_URL"] == cluster.redis.url()
        assert "S3_ENDPOINT_URL" not in env and "S3_ACCESS_KEY_ID" not in env
