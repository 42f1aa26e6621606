"""The release command end to end against the emulator, on the shared deployment.

A release is a configuration change (here an AJUDA_CONFIG_FILE bump of the image tag, as a pull
request would change RELEASES); ``scripts/release.sh local <tag>`` plans, applies the saved plan
(a new task definition revision), runs the migration task, moves the service and waits for the
deployment. moto runs no containers: tools/emulator/patches.py ends run-task tasks with the exit code in
EMULATOR_EXIT_CODE (default 0) and fails a deployment whose task definition says
EMULATOR_ROLLOUT=FAILED, so the failure paths run through the same code as a real release.
"""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest

from tests.support.cdktf_project import ROOT
from tools.emulator import patches
from tools.release import STARTED_BY

STACK, CLUSTER, SERVICE = "ajuda-local", "open-webui-cluster", "open-webui-service"
NEW_TAG = "v0.12.5-emulator"


def _ecs(endpoint: str):
    return boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="emulator", aws_secret_access_key="emulator")


def _running(ecs) -> str:
    return ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["taskDefinition"]


@pytest.fixture(scope="module")
def release_env(deployment, tmp_path_factory):
    overrides = tmp_path_factory.mktemp("release") / "release.json"
    overrides.write_text(json.dumps({"local": {"service": {"image_tag": NEW_TAG}}}))
    return {**deployment["project"].env, "AJUDA_CONFIG_FILE": str(overrides),
            "CDKTF_OUTDIR": str(deployment["local_dir"] / "cdktf.out"),
            "AWS_ENDPOINT_URL": deployment["endpoint"], "RELEASE_POLL_SECONDS": "1"}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)


def test_the_release_command_migrates_then_moves_the_service(deployment, release_env):
    ecs = _ecs(deployment["endpoint"])
    before = _running(ecs)
    result = _run(["bash", "scripts/release.sh", "local", NEW_TAG], release_env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    after = _running(ecs)
    assert after != before
    (container,) = ecs.describe_task_definition(taskDefinition=after)["taskDefinition"]["containerDefinitions"]
    assert container["image"].endswith(f"/ajuda-digital:{NEW_TAG}")
    # The migration ran from the new revision, to completion, before the service moved to it.
    stopped = ecs.list_tasks(cluster=CLUSTER, startedBy=STARTED_BY, desiredStatus="STOPPED")["taskArns"]
    (migration,) = ecs.describe_tasks(cluster=CLUSTER, tasks=stopped)["tasks"]
    assert migration["taskDefinitionArn"] == after
    assert [c["exitCode"] for c in migration["containers"]] == [0]
    overrides = json.loads(deployment["outputs"]["migration_overrides"])
    assert migration["overrides"]["containerOverrides"] == overrides["containerOverrides"]
    log = result.stderr
    assert log.index("migrations done") < log.index("deployment ecs-svc/") < log.index("is steady on")
    # The previous revision stays registered: a rollback can still start it.
    assert ecs.describe_task_definition(taskDefinition=before)["taskDefinition"]["status"] == "ACTIVE"
    (primary,) = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["deployments"]
    assert primary["rolloutState"] == "COMPLETED"


def test_an_unreviewed_tag_is_refused_before_anything_changes(deployment, release_env):
    result = _run(["bash", "scripts/release.sh", "local", "v9.9.9"], release_env)
    assert result.returncode != 0 and "RELEASES in config/environments.py" in result.stderr
    assert "planning" not in result.stderr


def _broken_revision(ecs, variable: str, value: str) -> str:
    """A copy of the running revision whose emulated container misbehaves as told."""
    current = ecs.describe_task_definition(taskDefinition=_running(ecs))["taskDefinition"]
    (container,) = current["containerDefinitions"]
    container["environment"] = [*container.get("environment", []), {"name": variable, "value": value}]
    keys = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu", "memory")
    return ecs.register_task_definition(**{k: current[k] for k in keys if k in current},
                                        containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]


@pytest.mark.parametrize("variable,value,message", [
    (patches.EXIT_CODE_VARIABLE, "1", "the migration task failed (exit code 1"),
    (patches.ROLLOUT_VARIABLE, "FAILED", "ECS rolled the service back"),
])
def test_a_failed_step_fails_the_rollout_and_the_service_keeps_its_release(deployment, release_env, tmp_path,
                                                                           variable, value, message):
    ecs = _ecs(deployment["endpoint"])
    before = _running(ecs)
    outputs = {**deployment["outputs"], "task_definition_arn": _broken_revision(ecs, variable, value)}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    result = _run([sys.executable, "-m", "tools.release", "rollout", "--outputs", str(path),
                   "--poll-seconds", "1"], release_env)
    assert result.returncode == 1 and message in result.stderr, result.stderr[-3000:]
    assert _running(ecs) == before
