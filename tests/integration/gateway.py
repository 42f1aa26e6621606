"""Boot the model gateway (LiteLLM) as ECS would, from its SYNTHESIZED task definition, on loopback.

The same rule as Open WebUI in ``env_contract.py``: every ``environment`` entry of the synthesized
gateway container reaches the process as synthesized, every ``secrets`` entry is resolved from
moto as ECS resolves ``valueFrom``, and only the entries in ``GATEWAY_REPLACEMENTS`` differ, each
for a reason. The process is the image's own entrypoint (``docker/gateway/entrypoint.sh``) running
the LiteLLM that ``scripts/integration-env.sh`` installs from ``docker/gateway/requirements.txt``
(hash-locked) into ``.venv-gateway``. Amazon Bedrock is ``tests/support/bedrock_standin.py``: it
checks each request's SigV4 signature for service ``bedrock`` and the configured Bedrock Region,
and authorizes each call against the gateway task role's synthesized IAM policy.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration import env_contract, harness, processes, synthesis
from tests.support.bedrock_standin import BedrockStandIn
from tests.support.paths import ROOT

GATEWAY_DOCKERFILE = ROOT / "docker" / "gateway" / "Dockerfile"
GATEWAY_ENTRYPOINT = ROOT / "docker" / "gateway" / "entrypoint.sh"
GATEWAY_VENV = ROOT / ".venv-gateway"
ACCOUNT = "123456789012"
_ACCOUNT_REFERENCE = re.compile(r"\$\{data\.aws_caller_identity\.[A-Za-z0-9_-]+\.account_id\}")

# The ONE list of what differs from the synthesized gateway task definition (test_8_gateway.py
# fails on a synthesized key outside it and on an entry here the task definition lost).
GATEWAY_REPLACEMENTS: dict[str, str] = {
    # -- synthesized settings ------------------------------------------------------------------
    # The container port (4000) -> a free loopback port: several gateways share this machine.
    "PORT": "container port -> a free loopback port",
    # A path on the task's scratch volume (/tmp): here the gateway's own work directory, so
    # parallel runs on one machine do not overwrite each other's rendered config.
    "AJUDA_GATEWAY_CONFIG_FILE": "the task's scratch volume -> the gateway's work directory",
    # -- not in the task definition: what the platform gives the task --------------------------
    # LiteLLM's Bedrock endpoint setting; unset in production (bedrock-runtime.<region>.amazonaws.com).
    "AWS_BEDROCK_RUNTIME_ENDPOINT": "Bedrock Runtime endpoint -> the stand-in on loopback",
    # The task role's credentials, served the way ECS serves them: a container credentials endpoint
    # (ECS sets AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against 169.254.170.2; FULL_URI + token is
    # the same provider in botocore, allowed on loopback). No static keys, as in production.
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "task role credentials endpoint -> the stand-in's",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "the token that endpoint requires",
}
GATEWAY_PLATFORM_SETTINGS = frozenset({"AWS_BEDROCK_RUNTIME_ENDPOINT", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN"})
# What the image provides that the venv does not have at the same place (none is synthesized).
GATEWAY_IMAGE_STAND_INS: dict[str, str] = {
    "PATH": "the image's PATH (python, litellm): the gateway venv's bin first",
    "HTTP_PROXY": "egress sink on loopback (records any call to the internet)",
    "HTTPS_PROXY": "egress sink on loopback",
    "NO_PROXY": "loopback services are reached directly",
}
# The entrypoint execs `litellm ... --host 0.0.0.0 "$@"` (all interfaces of the task's ENI). Here
# the last --host wins (click), so the bench listens on loopback only: an ECS `command` override.
LOOPBACK_COMMAND = ["--host", processes.LOCALHOST]


def gateway_python() -> Path:
    return Path(os.environ.get("AJUDA_GATEWAY_PYTHON") or GATEWAY_VENV / "bin" / "python")


def missing_requirements() -> list[str]:
    missing = []
    if not (gateway_python().parent / "litellm").exists():
        missing.append(f"the model gateway ({gateway_python().parent}/litellm): bash scripts/integration-env.sh")
    return missing


def container_definition(synthesized, stack: str = synthesis.PROD_STACK) -> dict:
    from modules import model_gateway

    for task in synthesized.resources(stack, "aws_ecs_task_definition").values():
        for container in json.loads(task["container_definitions"]):
            if container["name"] == model_gateway.CONTAINER_NAME:
                return container
    raise AssertionError(f"no {model_gateway.CONTAINER_NAME!r} container in {stack}")


def task_role_statements(synthesized, stack: str = synthesis.PROD_STACK, account: str = "123456789012") -> list[dict]:
    """The gateway task role's inline policy statements, as synthesized (what IAM would evaluate)."""
    from modules import model_gateway

    tasks = [t for t in synthesized.resources(stack, "aws_ecs_task_definition").values()
             if model_gateway.CONTAINER_NAME in t["container_definitions"]]
    role_ref = tasks[0]["task_role_arn"]  # ${aws_iam_role.<id>.arn}
    role_id = role_ref.split(".")[1]
    statements = []
    for item in synthesized.resources(stack, "aws_iam_role_policy").values():
        if item["role"] == f"${{aws_iam_role.{role_id}.id}}":
            # The account id is a data source (aws_caller_identity), known at apply time only.
            policy = _ACCOUNT_REFERENCE.sub(account, item["policy"])
            statements += json.loads(policy)["Statement"]
    assert statements, f"no inline policy on the gateway task role {role_id}"
    return statements


@dataclass
class GatewayProcess:
    """One LiteLLM proxy, as one ECS task of the gateway service."""

    env: dict[str, str]
    port: int
    workdir: Path
    stop_timeout: float
    process: subprocess.Popen | None = None
    log_paths: list[Path] = field(default_factory=list)
    ready_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://{processes.LOCALHOST}:{self.port}"

    @property
    def base_url(self) -> str:
        from modules import model_gateway

        return model_gateway.base_url(f"{processes.LOCALHOST}:{self.port}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        assert not self.running, "gateway already running"
        log = self.workdir / f"gateway.{len(self.log_paths) + 1}.log"
        self.log_paths.append(log)
        with open(log, "wb") as out:
            self.process = subprocess.Popen(["sh", str(GATEWAY_ENTRYPOINT), *LOOPBACK_COMMAND], env=self.env,
                                            cwd=str(self.workdir), stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float) -> float:
        from modules import model_gateway

        started = time.monotonic()
        while True:
            if not self.running:
                raise RuntimeError(f"gateway exited ({self.process and self.process.returncode}):\n{self.log_tail()}")
            if processes.http_status(self.url + model_gateway.HEALTH_CHECK_PATH) == 200:
                self.ready_seconds = time.monotonic() - started
                return self.ready_seconds
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"gateway not ready after {timeout:.0f}s:\n{self.log_tail()}")
            time.sleep(0.5)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        return processes.kill_group(self.process, self.stop_timeout)

    def log_text(self) -> str:
        return self.log_paths[-1].read_text(errors="replace") if self.log_paths else ""

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_text()[-chars:]


class ModelGateway:
    """The Bedrock stand-in plus one gateway process, configured from the synthesized stack."""

    def __init__(self, cluster: harness.Cluster) -> None:
        from modules import model_gateway

        self.cluster = cluster
        self.container = container_definition(cluster.synthesized, cluster.stack)
        self.synthesized_env = {e["name"]: e["value"] for e in self.container["environment"]}
        self.synthesized_secrets = {s["name"]: s["valueFrom"] for s in self.container["secrets"]}
        self.config = json.loads(self.synthesized_env[model_gateway.CONFIG_VARIABLE])
        regions = {m["litellm_params"]["aws_region_name"] for m in self.config["model_list"]}
        assert len(regions) == 1, f"one Bedrock Region expected, the config names {regions}"
        self.bedrock_region = regions.pop()
        self.workdir = cluster.workdir / "gateway"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.bedrock = BedrockStandIn(self.bedrock_region, account=ACCOUNT,
                                      policy=task_role_statements(cluster.synthesized, cluster.stack, ACCOUNT),
                                      chunk_delay=0.03)
        self.process: GatewayProcess | None = None

    @property
    def master_key(self) -> str:
        return self.process.env["LITELLM_MASTER_KEY"]

    def replacement_values(self, port: int) -> dict[str, str]:
        values = {"PORT": str(port), "AJUDA_GATEWAY_CONFIG_FILE": str(self.workdir / "litellm-config.json"),
                  "AWS_BEDROCK_RUNTIME_ENDPOINT": self.bedrock.endpoint}
        values.update({k: v for k, v in self.bedrock.client_environment().items() if k != "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"})
        assert values.keys() == GATEWAY_REPLACEMENTS.keys()
        return values

    def compose_environment(self, port: int) -> dict[str, str]:
        """image ENV < image stand-ins < synthesized environment (with replacements) < secrets."""
        env = env_contract.image_environment(GATEWAY_DOCKERFILE)
        egress = self.cluster.egress.url
        env.update({"PATH": f"{gateway_python().parent}:/usr/local/bin:/usr/bin:/bin", "HTTP_PROXY": egress,
                    "HTTPS_PROXY": egress, "NO_PROXY": "127.0.0.1,localhost"})
        replaced = self.replacement_values(port)
        for key, value in self.synthesized_env.items():
            env[key] = replaced[key] if key in replaced else synthesis.resolve_terraform_value(value, self.cluster.stack_json)
        env.update({k: v for k, v in replaced.items() if k in GATEWAY_PLATFORM_SETTINGS})
        env.update(self.cluster.resolved_secrets(self.synthesized_secrets))
        return env

    def start(self) -> ModelGateway:
        self.bedrock.start()
        port = processes.free_port()
        health = self.container.get("healthCheck", {})
        self.process = GatewayProcess(env=self.compose_environment(port), port=port, workdir=self.workdir,
                                      stop_timeout=float(self.container.get("stopTimeout", 30)))
        self.process.start()
        # LiteLLM imports for tens of seconds on a busy 2-core machine: startPeriod + margin.
        self.process.wait_ready(float(health.get("startPeriod", 60)) + 120)
        return self

    def stop(self) -> None:
        try:
            if self.process is not None:
                self.process.stop()
        finally:
            self.bedrock.stop()

    def openai_url_for_replicas(self) -> str:
        """The base URL Open WebUI is given in place of the internal load balancer's."""
        return self.process.base_url

