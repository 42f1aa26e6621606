"""The Open WebUI (v0.12.4) container's configuration: the one source of truth.

Pure Python on purpose (no cdktf import): the values may be Terraform token
strings such as ``"${aws_s3_bucket.x.bucket}"`` and are treated as opaque text,
so the unit tests of this module run in milliseconds.

What goes where
---------------
* ``container_environment`` - plain ECS ``environment``. Never a secret value.
* ``container_secrets``     - ECS ``secrets`` (NAME -> valueFrom), only ARNs.
* The image's entrypoint (``docker/ajuda-entrypoint.sh``) turns the ``AJUDA_*``
  inputs into ``DATABASE_URL``, ``PGVECTOR_DB_URL``, ``REDIS_URL`` and
  ``WEBSOCKET_REDIS_URL`` with the credentials URL-encoded. We deliberately do
  NOT use Open WebUI's own ``DATABASE_USER``/``DATABASE_PASSWORD``/
  ``DATABASE_HOST``... inputs: open_webui/env.py:271-298 (v0.12.4) joins them
  into ``DATABASE_URL`` with an f-string and no URL-encoding, so a generated
  password containing ``@ : / # %`` breaks the URL.

Source references below are to the open-webui 0.12.4 wheel
(``open_webui/...``); see the notes in the hand-over report for the full table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from config import capacity, catalog

# Path of the Google callback. v0.12.4 serves both "/oauth/{provider}/login/callback"
# and the legacy "/oauth/{provider}/callback" with the same handler
# (open_webui/main.py:2945-2946); the URI must match the one registered in the
# Google Cloud console exactly.
GOOGLE_CALLBACK_PATH = "/oauth/google/callback"

# The one-off migration task runs the same image and task definition with this
# command (docker/ajuda-entrypoint.sh "migrate" mode).
MIGRATION_COMMAND: tuple[str, ...] = ("migrate",)

# The image's (EXPOSE 8080 and its HEALTHCHECK in Dockerfile): not a setting, start.sh listens here.
CONTAINER_PORT = 8080
HEALTH_CHECK_PATH = "/health"  # open_webui/main.py:3075, no DB/Redis access: a liveness probe

_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_USER_ROLES = ("pending", "user", "admin")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _is_token(value: str) -> bool:
    """True when the value is (or contains) a Terraform token, known only at apply time."""
    return "${" in value


@dataclass(frozen=True)
class OpenWebUISettings:
    public_url: str  # exact site origin users open: "https://ajuda.example.tl" (no path, no trailing "/")
    aws_region: str
    documents_bucket: str
    database_host: str
    database_port: str
    database_name: str
    database_credentials_secret_arn: str  # JSON secret {"username": ..., "password": ...} of the APP role
    webui_secret_key_secret_arn: str  # plain-string secret
    redis_host: str | None = None
    redis_port: str = str(catalog.VALKEY_PORT)
    redis_auth_secret_arn: str | None = None  # plain-string secret (ElastiCache AUTH token)
    redis_tls: bool | None = None  # None: TLS exactly when an AUTH token is used (ElastiCache requires it then)
    google_client_id: str | None = None
    google_client_secret_arn: str | None = None  # plain-string secret
    enable_signup: bool = False  # email/password self sign-up
    enable_oauth_signup: bool = True
    oauth_merge_accounts_by_email: bool = False
    oauth_allowed_domains: tuple[str, ...] = ()  # () = any domain ("*")
    default_user_role: str = "pending"
    database_sslmode: str = "require"
    database_pool_size: int = 10
    database_pool_max_overflow: int = 10
    database_pool_timeout: int = 30
    database_pool_recycle: int = 300
    vector_pool_size: int = 3
    vector_pool_max_overflow: int = 2
    thread_pool_size: int = 40
    user_active_status_update_interval: int = 60
    forwarded_allow_ips: str = "*"
    webui_name: str = "Ajuda Digital"
    run_migrations: bool = False
    extension_managed_externally: bool = True  # -> PGVECTOR_CREATE_EXTENSION=false
    admin_email: str | None = None  # the operator's account, created at start-up while no user exists
    admin_password_secret_arn: str | None = None  # plain-string secret, generated
    admin_plugins: bool = False  # Functions / Tools / tool servers: admin-supplied Python in the task
    longest_answer_seconds: int | None = None  # bound of one model call (AIOHTTP_CLIENT_TIMEOUT)
    # The model gateway (modules/model_gateway.py): OpenAI-compatible base URL ".../v1" and its key.
    model_gateway_url: str | None = None
    model_gateway_key_secret_arn: str | None = None  # plain-string secret ("sk-...")
    chat_models: tuple[str, ...] = ()  # the names the gateway serves them under
    default_model: str | None = None
    embedding_model: str | None = None  # the gateway's name for the embedding model
    embedding_dimension: int = 1536  # Open WebUI's own default vector length

    def __post_init__(self) -> None:
        url = self.public_url
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"public_url must start with https:// or http://, got {url!r}")
        if not _is_token(url):
            rest = url.split("://", 1)[1]
            if not rest or "/" in rest or "?" in rest or "#" in rest:
                raise ValueError(f"public_url must be a bare origin (scheme://host[:port]), got {url!r}")
        if self.database_sslmode not in _SSL_MODES:
            raise ValueError(f"database_sslmode must be one of {_SSL_MODES}, got {self.database_sslmode!r}")
        if self.default_user_role not in _USER_ROLES:
            raise ValueError(f"default_user_role must be one of {_USER_ROLES}, got {self.default_user_role!r}")
        if bool(self.google_client_id) != bool(self.google_client_secret_arn):
            raise ValueError("google_client_id and google_client_secret_arn go together (both or neither)")
        if bool(self.admin_email) != bool(self.admin_password_secret_arn):
            raise ValueError("admin_email and admin_password_secret_arn go together (both or neither)")
        if self.redis_auth_secret_arn and not self.redis_host:
            raise ValueError("redis_auth_secret_arn without redis_host")
        if self.database_pool_size < 1 or self.vector_pool_size < 1:
            # 0 would switch Open WebUI to NullPool (a connection per query).
            raise ValueError("pool sizes must be >= 1")
        if min(self.database_pool_max_overflow, self.vector_pool_max_overflow) < 0:
            raise ValueError("pool overflows must be >= 0")
        if not 0 < self.user_active_status_update_interval < 180:
            # open_webui/env.py:360: "keep under the 180s active-user window".
            raise ValueError("user_active_status_update_interval must be in (0, 180) seconds")
        if bool(self.model_gateway_url) != bool(self.model_gateway_key_secret_arn):
            raise ValueError("model_gateway_url and model_gateway_key_secret_arn go together (both or neither)")
        if self.model_gateway_url and (not self.chat_models or self.default_model not in self.chat_models
                                       or not self.embedding_model):
            raise ValueError("a model gateway needs chat_models, a default_model among them and an embedding_model")
        if not 0 < self.embedding_dimension <= 2000:
            # config.py:664: above 2000 pgvector needs halfvec, which this deployment does not switch on.
            raise ValueError("embedding_dimension must be in 1..2000")

    @property
    def is_https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def uses_redis_tls(self) -> bool:
        if self.redis_tls is not None:
            return self.redis_tls
        return bool(self.redis_auth_secret_arn)

    @property
    def google_redirect_uri(self) -> str:
        return self.public_url + GOOGLE_CALLBACK_PATH


def container_environment(s: OpenWebUISettings) -> dict[str, str]:
    """Plain environment of the Open WebUI container. Contains no secret value."""
    env: dict[str, str] = {
        # --- identity / URLs ---------------------------------------------------------
        "WEBUI_NAME": s.webui_name,  # env.py:969 appends " (Open WebUI)" (licence branding)
        "WEBUI_URL": s.public_url,  # config.py:1689; base of OAuth redirects (utils/oauth.py:573)
        # config.py:2192 splits on ";" and validates each origin; "*" only logs a warning, so
        # pin the one origin. socket/main.py:80 reuses it for the Socket.IO CORS check.
        "CORS_ALLOW_ORIGIN": s.public_url,
        # --- configuration authority ------------------------------------------------------
        # config.py:3352 + models/config.py:135-148: with persistence off every key is read
        # from the environment on each start (what Terraform says is what runs). Admin-panel
        # edits then live only in that task's memory (models/config.py:204-208): manage
        # settings in code. oauth.* keys are env-authoritative anyway (config.py:3353).
        "ENABLE_PERSISTENT_CONFIG": "false",
        "ENABLE_OAUTH_PERSISTENT_CONFIG": "false",
        # --- database ----------------------------------------------------------------------
        # DATABASE_URL / PGVECTOR_DB_URL are composed by the entrypoint from these inputs.
        "AJUDA_DB_HOST": s.database_host,
        "AJUDA_DB_PORT": s.database_port,
        "AJUDA_DB_NAME": s.database_name,
        "AJUDA_DB_SSLMODE": s.database_sslmode,
        # env.py:157 defaults to True and config.py:82-83 then runs Alembic on import in every
        # replica at once; only the one-off migration task runs them (migration_overrides()).
        "ENABLE_DB_MIGRATIONS": _flag(s.run_migrations),
        # internal/db.py:408-416 (sync engine) and :487-495 (async engine) each get this pool.
        "DATABASE_POOL_SIZE": str(s.database_pool_size),
        "DATABASE_POOL_MAX_OVERFLOW": str(s.database_pool_max_overflow),
        "DATABASE_POOL_TIMEOUT": str(s.database_pool_timeout),
        "DATABASE_POOL_RECYCLE": str(s.database_pool_recycle),
        "DATABASE_USER_ACTIVE_STATUS_UPDATE_INTERVAL": str(s.user_active_status_update_interval),  # env.py:360-364
        # --- vector store (same PostgreSQL database, pgvector) ---------------------------------
        "VECTOR_DB": "pgvector",  # config.py:509 (default would be chroma on local disk)
        # config.py:672 + retrieval/vector/dbs/pgvector.py:117: the app role cannot CREATE
        # EXTENSION; the database stack creates "vector" as the owner.
        "PGVECTOR_CREATE_EXTENSION": _flag(not s.extension_managed_externally),
        "PGVECTOR_POOL_SIZE": str(s.vector_pool_size),  # config.py:679-715, pgvector.py:94-103
        "PGVECTOR_POOL_MAX_OVERFLOW": str(s.vector_pool_max_overflow),
        "PGVECTOR_POOL_TIMEOUT": str(s.database_pool_timeout),
        "PGVECTOR_POOL_RECYCLE": str(s.database_pool_recycle),
        # --- file storage --------------------------------------------------------------------
        # config.py:156-167. No S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY at all:
        # storage/provider.py:119-135 then builds the boto3 client without keys, so the
        # default chain uses the task role.
        "STORAGE_PROVIDER": "s3",
        "S3_BUCKET_NAME": s.documents_bucket,
        "S3_REGION_NAME": s.aws_region,
        # --- server / concurrency ------------------------------------------------------------
        "UVICORN_WORKERS": "1",  # env.py:462; scale with tasks, not workers (pools multiply per worker)
        "THREAD_POOL_SIZE": str(s.thread_pool_size),  # config.py:2161, main.py:371-379 (AnyIO + asyncio executor)
        # Uvicorn honours X-Forwarded-For/-Proto only from these addresses or networks (uvicorn
        # 0.54 _TrustedHosts). `open-webui serve` reads it (open_webui/__init__.py:90); upstream
        # start.sh hard-codes --forwarded-allow-ips '*' (open-webui issue #22539), so the
        # Dockerfile rewrites that flag to this variable. The stack passes the ALB subnets' CIDRs.
        "FORWARDED_ALLOW_IPS": s.forwarded_allow_ips,
        # --- realtime (Socket.IO) --------------------------------------------------------------
        # env.py:473; with it the browser uses transports ['websocket'] only
        # (src/routes/+layout.svelte setupSocket), so no ALB stickiness is needed.
        "ENABLE_WEBSOCKET_SUPPORT": "true",
        # --- offline start: never contact Hugging Face ---------------------------------------------
        # env.py:1225-1229 sets HF_HUB_OFFLINE=1 and disables the version check;
        # config.py:1020-1048/1575 turn the model auto-updates off; retrieval/utils.py:1760
        # then resolves the embedding model from the image's SENTENCE_TRANSFORMERS_HOME only.
        "OFFLINE_MODE": "true",
        "HF_HUB_OFFLINE": "1",
        "RAG_EMBEDDING_MODEL_AUTO_UPDATE": "false",
        "RAG_RERANKING_MODEL_AUTO_UPDATE": "false",
        "WHISPER_MODEL_AUTO_UPDATE": "false",
        # --- model connections -----------------------------------------------------------------
        # config.py:243/325: both default to on, with Ollama at localhost:11434 and OpenAI at
        # https://api.openai.com/v1 (empty key): every GET /api/models (each page load) then calls
        # them (the integration tier's egress sink caught it). No Ollama in this architecture; the
        # OpenAI connection is switched on for the model gateway by model_environment() below.
        "ENABLE_OLLAMA_API": "false",
        "ENABLE_OPENAI_API": "false",
        # --- cookies ---------------------------------------------------------------------------
        # env.py:777-786. "Secure" only over https, or browsers drop the cookie on http.
        "WEBUI_SESSION_COOKIE_SECURE": _flag(s.is_https),
        "WEBUI_AUTH_COOKIE_SECURE": _flag(s.is_https),
        # lax: the OAuth state cookie must come back on Google's top-level GET redirect.
        "WEBUI_SESSION_COOKIE_SAME_SITE": "lax",
        "WEBUI_AUTH_COOKIE_SAME_SITE": "lax",
        # --- sign-in ---------------------------------------------------------------------------
        # Email/password stays available next to Google. The docs' "ENABLE_LOGIN_FORM must be
        # False when ENABLE_OAUTH_SIGNUP is True" no longer matches the code: the form flag only
        # gates the form and /signup (routers/auths.py:865-868); OAuth sign-in/sign-up only
        # checks ENABLE_OAUTH_SIGNUP / OAUTH_MERGE_ACCOUNTS_BY_EMAIL (utils/oauth.py:2073-2162).
        "ENABLE_LOGIN_FORM": "true",
        "ENABLE_PASSWORD_AUTH": "true",  # config.py:1698, routers/auths.py:670
        "ENABLE_SIGNUP": _flag(s.enable_signup),  # config.py:1692
        "DEFAULT_USER_ROLE": s.default_user_role,  # config.py:1754
    }

    env.update(_operator_safety(s))

    if s.google_client_id:
        env.update(
            {
                "ENABLE_OAUTH_SIGNUP": _flag(s.enable_oauth_signup),  # config.py:2576
                # utils/oauth.py:2077: off by default. On, a Google login with the email of an
                # existing password account takes that account over (no email_verified check).
                "OAUTH_MERGE_ACCOUNTS_BY_EMAIL": _flag(s.oauth_merge_accounts_by_email),
                "OAUTH_ALLOWED_DOMAINS": ",".join(s.oauth_allowed_domains) or "*",  # config.py:2702
                "GOOGLE_CLIENT_ID": s.google_client_id,  # config.py:2587, registered at :2748
                # config.py:2594/2757: fixed redirect URI, so every replica sends the same one.
                "GOOGLE_REDIRECT_URI": s.google_redirect_uri,
            }
        )
    else:
        env["ENABLE_OAUTH_SIGNUP"] = "false"

    if s.redis_host:
        env.update(
            {
                "AJUDA_REDIS_HOST": s.redis_host,
                "AJUDA_REDIS_PORT": s.redis_port,
                "AJUDA_REDIS_TLS": _flag(s.uses_redis_tls),
                # env.py:476; socket/main.py:102-127 fans events out through Redis pub/sub.
                # REDIS_URL / WEBSOCKET_REDIS_URL (env.py:381, :493) come from the entrypoint.
                "WEBSOCKET_MANAGER": "redis",
            }
        )
    env.update(model_environment(s))
    return env


def _operator_safety(s: OpenWebUISettings) -> dict[str, str]:
    """Who owns the site, what an admin may run in the task, how long one answer may take."""
    env = {
        # utils/plugin.py:210/262 and routers/functions.py:52: with ENABLE_PLUGINS off (env.py:1206,
        # the master switch over ENABLE_TOOLS / ENABLE_FUNCTIONS / ENABLE_TOOL_SERVERS) no
        # admin-uploaded Python is exec()'d in the task, which holds the task role's credentials.
        "ENABLE_PLUGINS": _flag(s.admin_plugins),
        # env.py:1212: otherwise main.py's lifespan pip-installs what stored Tools/Functions name in
        # their front matter at every start (code from PyPI, and a call to the internet).
        "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS": "false",
    }
    if s.admin_email:
        # main.py:401 + utils/auth.py:631: at start-up, before uvicorn accepts a connection, the
        # lifespan creates this admin (password from WEBUI_ADMIN_PASSWORD) when no user exists, so
        # the first sign-up is never promoted (routers/auths.py:831, utils/oauth.py:2188).
        env["WEBUI_ADMIN_EMAIL"] = s.admin_email
    if s.longest_answer_seconds is not None:
        # env.py:614: unset means no limit at all on a model call; utils/session_pool.py:43 applies
        # it as the total of every model request, streamed answers included.
        env["AIOHTTP_CLIENT_TIMEOUT"] = str(s.longest_answer_seconds)
    return env


def model_environment(s: OpenWebUISettings) -> dict[str, str]:
    """Chat and retrieval embeddings through the model gateway (empty without one)."""
    if not s.model_gateway_url:
        return {}
    return {
        # config.py:325-348: one connection, the gateway; its key is OPENAI_API_KEYS (a secret).
        "ENABLE_OPENAI_API": "true",
        "OPENAI_API_BASE_URLS": s.model_gateway_url,
        # config.py:355 + routers/openai.py:615-631: with model_ids the model list is built from
        # configuration, so a page load never calls the gateway, the embedding model is not offered
        # as a chat model, and a gateway outage does not empty the model picker.
        "OPENAI_API_CONFIGS": json.dumps({"0": {"enable": True, "model_ids": list(s.chat_models)}}, separators=(",", ":")),
        "DEFAULT_MODELS": s.default_model or "",  # config.py:1702, comma-separated model ids
        # config.py:1009-1106: embeddings from the gateway, so no task loads a local model.
        "RAG_EMBEDDING_ENGINE": "openai",
        "RAG_OPENAI_API_BASE_URL": s.model_gateway_url,
        "RAG_EMBEDDING_MODEL": s.embedding_model or "",
        # config.py:660 + retrieval/vector/dbs/pgvector.py:55-77: the vector column's length; the
        # migration task creates the table with it (docker/ajuda_migrate.py).
        "PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH": str(s.embedding_dimension),
    }


def container_secrets(s: OpenWebUISettings) -> dict[str, str]:
    """ECS ``secrets``: NAME -> valueFrom (a secret ARN, or ``ARN:json-key::``)."""
    db = s.database_credentials_secret_arn
    secrets = {
        "WEBUI_SECRET_KEY": s.webui_secret_key_secret_arn,  # JWTs, session cookie (OAuth state), encryption
        "AJUDA_DB_USER": f"{db}:username::",
        "AJUDA_DB_PASSWORD": f"{db}:password::",
    }
    if s.redis_auth_secret_arn:
        secrets["AJUDA_REDIS_PASSWORD"] = s.redis_auth_secret_arn
    if s.google_client_secret_arn:
        secrets["GOOGLE_CLIENT_SECRET"] = s.google_client_secret_arn
    if s.admin_password_secret_arn:
        secrets["WEBUI_ADMIN_PASSWORD"] = s.admin_password_secret_arn
    if s.model_gateway_key_secret_arn:
        # One key, two readers: the chat connection (config.py:340) and retrieval (config.py:1106).
        secrets["OPENAI_API_KEYS"] = s.model_gateway_key_secret_arn
        secrets["RAG_OPENAI_API_KEY"] = s.model_gateway_key_secret_arn
    return secrets


def secret_arns(s: OpenWebUISettings) -> list[str]:
    """The secrets the task execution role must read (GetSecretValue), without JSON-key suffixes."""
    arns = [s.webui_secret_key_secret_arn, s.database_credentials_secret_arn]
    arns += [a for a in (s.redis_auth_secret_arn, s.google_client_secret_arn, s.admin_password_secret_arn,
                         s.model_gateway_key_secret_arn) if a]
    return list(dict.fromkeys(arns))


def migration_overrides() -> dict[str, str]:
    """Environment overrides for the one-off migration task (command: ``MIGRATION_COMMAND``).

    The entrypoint's ``migrate`` mode calls Alembic directly (what config.py:66-79 does at
    import), so the flag is belt and braces: should anything import open_webui.config in
    that task, it migrates rather than starting half-migrated.
    """
    return {"ENABLE_DB_MIGRATIONS": "true"}


def migration_container_override(container_name: str) -> dict[str, Any]:
    """The ``containerOverrides`` item for ``aws ecs run-task`` / boto3 ``run_task``."""
    return {
        "name": container_name,
        "command": list(MIGRATION_COMMAND),
        "environment": [{"name": k, "value": v} for k, v in sorted(migration_overrides().items())],
    }


def max_database_connections_per_task(s: OpenWebUISettings) -> int:
    """Upper bound of PostgreSQL connections one task (one uvicorn worker) can open.

    internal/db.py builds TWO pooled engines from DATABASE_URL - the sync one (startup config,
    /health/db pings via asyncio.to_thread) and the async one (all requests) - each with
    DATABASE_POOL_SIZE + DATABASE_POOL_MAX_OVERFLOW; the pgvector client builds a third
    from PGVECTOR_DB_URL (retrieval/vector/dbs/pgvector.py:94-103).
    """
    return connections_per_task(s.database_pool_size, s.database_pool_max_overflow,
                                s.vector_pool_size, s.vector_pool_max_overflow)


def connections_per_task(pool_size: int, pool_max_overflow: int, vector_pool_size: int, vector_pool_max_overflow: int) -> int:
    """The arithmetic behind ``max_database_connections_per_task``: config/capacity.py, shared with validation."""
    return capacity.pool_connections(pool_size, pool_max_overflow, vector_pool_size, vector_pool_max_overflow)
