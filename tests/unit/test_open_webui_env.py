"""modules/open_webui.py: the Open WebUI container's env and secrets (fast: no cdktf import)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from modules import open_webui as ow

ROOT = Path(__file__).resolve().parents[2]

DB_SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ajuda/app-db-AbCdEf"
KEY_SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ajuda/webui-key-AbCdEf"
REDIS_SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ajuda/redis-AbCdEf"
GOOGLE_SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ajuda/google-AbCdEf"


def settings(**overrides) -> ow.OpenWebUISettings:
    values = dict(
        public_url="https://ajuda.example.tl",
        aws_region="eu-west-1",
        documents_bucket="ajuda-docs",
        database_host="db.internal",
        database_port="5432",
        database_name="ajuda",
        database_credentials_secret_arn=DB_SECRET,
        webui_secret_key_secret_arn=KEY_SECRET,
        redis_host="master.ajuda.cache.amazonaws.com",
        redis_auth_secret_arn=REDIS_SECRET,
        google_client_id="123-abc.apps.googleusercontent.com",
        google_client_secret_arn=GOOGLE_SECRET,
    )
    values.update(overrides)
    return ow.OpenWebUISettings(**values)


@pytest.fixture
def env() -> dict[str, str]:
    return ow.container_environment(settings())


@pytest.fixture
def secrets() -> dict[str, str]:
    return ow.container_secrets(settings())


def test_module_does_not_import_cdktf():
    code = "import sys, modules.open_webui; print(sorted(m for m in sys.modules if m.split('.')[0] in ('cdktf', 'constructs', 'jsii')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_all_values_are_strings(env, secrets):
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in {**env, **secrets}.items())


def test_urls_and_cors_are_the_exact_origin(env):
    assert env["WEBUI_URL"] == "https://ajuda.example.tl"
    assert env["CORS_ALLOW_ORIGIN"] == "https://ajuda.example.tl"
    assert "*" not in env["CORS_ALLOW_ORIGIN"]


def test_cors_never_wildcard_even_for_http_alb_dns():
    env = ow.container_environment(settings(public_url="http://ajuda-123.eu-west-1.elb.amazonaws.com"))
    assert env["CORS_ALLOW_ORIGIN"] == "http://ajuda-123.eu-west-1.elb.amazonaws.com"


def test_token_public_url_passes_through():
    url = "https://${aws_route53_record.app.fqdn}"
    s = settings(public_url=url)
    env = ow.container_environment(s)
    assert env["WEBUI_URL"] == url == env["CORS_ALLOW_ORIGIN"]
    assert env["GOOGLE_REDIRECT_URI"] == url + "/oauth/google/callback"
    assert env["WEBUI_SESSION_COOKIE_SECURE"] == "true"


@pytest.mark.parametrize("bad", ["ajuda.example.tl", "https://ajuda.example.tl/", "https://a.tl/path", "*", ""])
def test_public_url_must_be_a_bare_origin(bad):
    with pytest.raises(ValueError):
        settings(public_url=bad)


def test_no_static_s3_keys_at_all(env):
    assert env["STORAGE_PROVIDER"] == "s3"
    assert env["S3_BUCKET_NAME"] == "ajuda-docs"
    assert env["S3_REGION_NAME"] == "eu-west-1"
    for key in ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert key not in env
        assert key not in ow.container_secrets(settings())


def test_migrations_off_for_the_service_and_on_for_the_migration_task(env):
    assert env["ENABLE_DB_MIGRATIONS"] == "false"
    assert ow.migration_overrides() == {"ENABLE_DB_MIGRATIONS": "true"}
    assert ow.MIGRATION_COMMAND == ("migrate",)
    override = ow.migration_container_override("open-webui")
    assert override == {
        "name": "open-webui",
        "command": ["migrate"],
        "environment": [{"name": "ENABLE_DB_MIGRATIONS", "value": "true"}],
    }


def test_pgvector_in_the_same_database_without_creating_the_extension(env):
    assert env["VECTOR_DB"] == "pgvector"
    assert env["PGVECTOR_CREATE_EXTENSION"] == "false"
    assert env["PGVECTOR_POOL_SIZE"] == "3" and env["PGVECTOR_POOL_MAX_OVERFLOW"] == "2"
    assert "PGVECTOR_DB_URL" not in env  # composed by the entrypoint (it holds the password)
    assert ow.container_environment(settings(extension_managed_externally=False))["PGVECTOR_CREATE_EXTENSION"] == "true"


def test_database_pool_settings(env):
    assert env["DATABASE_POOL_SIZE"] == "10"
    assert env["DATABASE_POOL_MAX_OVERFLOW"] == "10"
    assert env["DATABASE_POOL_TIMEOUT"] == "30"
    assert env["DATABASE_POOL_RECYCLE"] == "300"
    assert env["DATABASE_USER_ACTIVE_STATUS_UPDATE_INTERVAL"] == "60"


def test_entrypoint_inputs_not_open_webui_database_parts(env):
    assert env["AJUDA_DB_HOST"] == "db.internal"
    assert env["AJUDA_DB_PORT"] == "5432"
    assert env["AJUDA_DB_NAME"] == "ajuda"
    assert env["AJUDA_DB_SSLMODE"] == "require"
    for name in ("DATABASE_URL", "DATABASE_USER", "DATABASE_PASSWORD", "DATABASE_HOST", "DATABASE_PORT",
                 "DATABASE_NAME", "DATABASE_TYPE"):
        assert name not in env


def test_redis_urls_are_never_in_plain_env(env):
    for name in ("REDIS_URL", "WEBSOCKET_REDIS_URL", "AJUDA_REDIS_PASSWORD"):
        assert name not in env
    assert env["AJUDA_REDIS_HOST"] == "master.ajuda.cache.amazonaws.com"
    assert env["AJUDA_REDIS_PORT"] == "6379"
    assert env["AJUDA_REDIS_TLS"] == "true"
    assert env["WEBSOCKET_MANAGER"] == "redis"
    assert env["ENABLE_WEBSOCKET_SUPPORT"] == "true"


def test_redis_tls_follows_the_auth_token_unless_set():
    no_auth = ow.container_environment(settings(redis_auth_secret_arn=None))
    assert no_auth["AJUDA_REDIS_TLS"] == "false"
    forced = ow.container_environment(settings(redis_auth_secret_arn=None, redis_tls=True))
    assert forced["AJUDA_REDIS_TLS"] == "true"


def test_without_redis_no_redis_settings():
    s = settings(redis_host=None, redis_auth_secret_arn=None)
    env = ow.container_environment(s)
    assert not any(k.startswith("AJUDA_REDIS") for k in env)
    assert "WEBSOCKET_MANAGER" not in env
    assert "AJUDA_REDIS_PASSWORD" not in ow.container_secrets(s)
    with pytest.raises(ValueError):
        settings(redis_host=None)  # a token without a host


def test_single_worker_threads_and_proxy(env):
    assert env["UVICORN_WORKERS"] == "1"
    assert env["THREAD_POOL_SIZE"] == "40"
    assert env["FORWARDED_ALLOW_IPS"] == "*"


def test_offline_start(env):
    assert env["OFFLINE_MODE"] == "true"
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["RAG_EMBEDDING_MODEL_AUTO_UPDATE"] == "false"
    assert env["RAG_RERANKING_MODEL_AUTO_UPDATE"] == "false"
    assert env["WHISPER_MODEL_AUTO_UPDATE"] == "false"


def test_config_comes_from_code_every_start(env):
    assert env["ENABLE_PERSISTENT_CONFIG"] == "false"
    assert env["ENABLE_OAUTH_PERSISTENT_CONFIG"] == "false"


def test_cookies_secure_only_for_https(env):
    assert env["WEBUI_SESSION_COOKIE_SECURE"] == "true"
    assert env["WEBUI_AUTH_COOKIE_SECURE"] == "true"
    assert env["WEBUI_SESSION_COOKIE_SAME_SITE"] == "lax"
    assert env["WEBUI_AUTH_COOKIE_SAME_SITE"] == "lax"
    http = ow.container_environment(settings(public_url="http://ajuda-123.eu-west-1.elb.amazonaws.com"))
    assert http["WEBUI_SESSION_COOKIE_SECURE"] == "false"
    assert http["WEBUI_AUTH_COOKIE_SECURE"] == "false"


def test_google_oauth_with_the_login_form_kept(env, secrets):
    assert env["GOOGLE_CLIENT_ID"] == "123-abc.apps.googleusercontent.com"
    assert env["GOOGLE_REDIRECT_URI"] == "https://ajuda.example.tl/oauth/google/callback"
    assert env["ENABLE_OAUTH_SIGNUP"] == "true"
    assert env["OAUTH_MERGE_ACCOUNTS_BY_EMAIL"] == "false"
    assert env["OAUTH_ALLOWED_DOMAINS"] == "*"
    assert env["ENABLE_LOGIN_FORM"] == "true"
    assert env["ENABLE_PASSWORD_AUTH"] == "true"
    assert env["ENABLE_SIGNUP"] == "false"
    assert env["DEFAULT_USER_ROLE"] == "pending"
    assert "GOOGLE_CLIENT_SECRET" not in env
    assert secrets["GOOGLE_CLIENT_SECRET"] == GOOGLE_SECRET
    assert "OPENID_PROVIDER_URL" not in env  # Google's discovery URL is built in (config.py:2755)


def test_allowed_domains_and_signup_switches():
    env = ow.container_environment(
        settings(oauth_allowed_domains=("example.tl", "gov.tl"), enable_signup=True, enable_oauth_signup=False)
    )
    assert env["OAUTH_ALLOWED_DOMAINS"] == "example.tl,gov.tl"
    assert env["ENABLE_SIGNUP"] == "true"
    assert env["ENABLE_OAUTH_SIGNUP"] == "false"


def test_without_google_no_oauth():
    s = settings(google_client_id=None, google_client_secret_arn=None)
    env = ow.container_environment(s)
    assert env["ENABLE_OAUTH_SIGNUP"] == "false"
    assert not any(k.startswith("GOOGLE_") for k in env)
    assert "GOOGLE_CLIENT_SECRET" not in ow.container_secrets(s)


def test_google_id_and_secret_go_together():
    with pytest.raises(ValueError):
        settings(google_client_secret_arn=None)
    with pytest.raises(ValueError):
        settings(google_client_id=None)


def test_secrets_are_only_arns(secrets):
    assert secrets == {
        "WEBUI_SECRET_KEY": KEY_SECRET,
        "AJUDA_DB_USER": f"{DB_SECRET}:username::",
        "AJUDA_DB_PASSWORD": f"{DB_SECRET}:password::",
        "AJUDA_REDIS_PASSWORD": REDIS_SECRET,
        "GOOGLE_CLIENT_SECRET": GOOGLE_SECRET,
    }
    for value in secrets.values():
        assert value.startswith("arn:aws:secretsmanager:")


def test_token_arns_keep_the_json_key_suffix():
    s = settings(database_credentials_secret_arn="${aws_secretsmanager_secret.app_db.arn}")
    assert ow.container_secrets(s)["AJUDA_DB_PASSWORD"] == "${aws_secretsmanager_secret.app_db.arn}:password::"


def test_env_and_secrets_do_not_overlap(env, secrets):
    assert not set(env) & set(secrets)


def test_no_secret_material_in_plain_env(env):
    secret_name = re.compile(r"(PASSWORD|SECRET|TOKEN|SECRET_KEY|ACCESS_KEY_ID|SECRET_ACCESS_KEY)$")
    for name in env:
        assert not secret_name.search(name), name
    for value in env.values():
        assert "arn:aws:secretsmanager" not in value


def test_secret_arns_for_the_execution_role():
    assert ow.secret_arns(settings()) == [KEY_SECRET, DB_SECRET, REDIS_SECRET, GOOGLE_SECRET]
    assert ow.secret_arns(settings(redis_host=None, redis_auth_secret_arn=None, google_client_id=None,
                                   google_client_secret_arn=None)) == [KEY_SECRET, DB_SECRET]


def test_max_database_connections_per_task():
    # 2 SQLAlchemy engines (sync + async) x (10 + 10) + pgvector (3 + 2)
    assert ow.max_database_connections_per_task(settings()) == 45
    small = settings(database_pool_size=5, database_pool_max_overflow=0, vector_pool_size=1, vector_pool_max_overflow=0)
    assert ow.max_database_connections_per_task(small) == 11


@pytest.mark.parametrize(
    "field,value",
    [("database_sslmode", "required"), ("default_user_role", "owner"), ("database_pool_size", 0),
     ("vector_pool_size", 0), ("database_pool_max_overflow", -1), ("user_active_status_update_interval", 180)],
)
def test_invalid_settings_are_rejected(field, value):
    with pytest.raises(ValueError):
        settings(**{field: value})


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings().public_url = "https://other.tl"  # type: ignore[misc]
