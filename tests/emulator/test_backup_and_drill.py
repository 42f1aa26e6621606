"""AWS Backup as deployed, and the restore drill's AWS calls, on the tier's one local deployment.

The drill (tools/restore_drill.py) runs against the deployed `local` stack in moto: a point-in-time
restore of the deployed instance, the documents bucket's versions at the instant, one task from the
deployed task definition. It must create only new resources and remove them all, and leave the live
instance and bucket as they were. No container runs in moto, so the HTTP check is a stand-in that
reads the restored bucket; the real check runs in tests/integration/test_7_restore_drill.py.

This file sorts before test_local_deploy.py, whose last tests destroy the deployment.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request

import boto3
import pytest

from tests.emulator.conftest import REGION, STACK
from tests.support import bucket_history
from tests.support.cdktf_project import ROOT
from tools import restore_drill

BUCKET = "openwebui-ajudadigital-local"
CLUSTER = "open-webui-cluster"


def aws(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="emulator", aws_secret_access_key="emulator")


def test_vault_plan_and_compliance_lock_are_deployed(deployment):
    backup = aws("backup", deployment["endpoint"])
    vault = backup.describe_backup_vault(BackupVaultName=f"{STACK}-backup")
    assert vault["EncryptionKeyArn"].startswith("arn:aws:kms:")
    assert vault["Locked"] is True
    assert (vault["MinRetentionDays"], vault["MaxRetentionDays"]) == (7, 400)
    (plan,) = [p for p in backup.list_backup_plans()["BackupPlansList"] if p["BackupPlanName"] == f"{STACK}-backup"]
    rules = {r["RuleName"]: r for r in backup.get_backup_plan(BackupPlanId=plan["BackupPlanId"])["BackupPlan"]["Rules"]}
    assert {name: r["Lifecycle"]["DeleteAfterDays"] for name, r in rules.items()} == {"daily": 35, "monthly": 365}
    role = aws("iam", deployment["endpoint"]).get_role(RoleName=f"{STACK}-restore-drill")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def _inventory(endpoint: str) -> dict:
    return {
        "instances": sorted(i["DBInstanceIdentifier"] for i in aws("rds", endpoint).describe_db_instances()["DBInstances"]),
        "buckets": sorted(b["Name"] for b in aws("s3", endpoint).list_buckets()["Buckets"]),
        "running_tasks": aws("ecs", endpoint).list_tasks(cluster=CLUSTER, desiredStatus="RUNNING")["taskArns"],
    }


def _live_versions(endpoint: str) -> list:
    listed = aws("s3", endpoint).list_object_versions(Bucket=BUCKET)
    return sorted((e["Key"], e["VersionId"]) for e in listed.get("Versions", []) + listed.get("DeleteMarkers", []))


def _hold_tasks_running(endpoint: str, hold: bool) -> None:
    """moto's documented state manager: without it a task moves one state on on every DescribeTasks."""
    path, body = (("set-transition", {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1_000_000}})
                  if hold else ("unset-transition", {"model_name": "ecs::task"}))
    request = urllib.request.Request(f"{endpoint}/moto-api/state-manager/{path}", data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="module")
def local_env(deployment, monkeypatch_module):
    import config

    monkeypatch_module.setenv("AJUDA_EMULATOR_ENDPOINT", deployment["endpoint"])
    (env,) = config.load(["local"], overrides_file="")
    return env


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def drilled(deployment, local_env):
    endpoint = deployment["endpoint"]
    instant, expected = bucket_history.write_history(aws("s3", endpoint), BUCKET)
    before, live_versions = _inventory(endpoint), _live_versions(endpoint)
    live_db = aws("rds", endpoint).describe_db_instances(DBInstanceIdentifier=f"{STACK}-postgres")["DBInstances"][0]
    seen: dict = {}

    def probe(url: str) -> dict:
        report = seen["drill"].report
        restored = aws("s3", endpoint)
        seen["url"] = url
        seen["objects"] = {o["Key"]: restored.get_object(Bucket=report["bucket"], Key=o["Key"])["Body"].read()
                           for o in restored.list_objects_v2(Bucket=report["bucket"]).get("Contents", [])}
        seen["instance"] = aws("rds", endpoint).describe_db_instances(DBInstanceIdentifier=report["instance"])["DBInstances"][0]
        seen["task"] = aws("ecs", endpoint).describe_tasks(cluster=CLUSTER, tasks=[report["task"]])["tasks"][0]
        seen["inventory"] = _inventory(endpoint)
        return {"health_db": "not run: moto runs no container"}

    drill = restore_drill.Drill(local_env, lambda service: aws(service, endpoint),
                                waits=restore_drill.Waits(timeout_seconds=60, poll_seconds=0.2), probe=probe)
    seen["drill"] = drill
    _hold_tasks_running(endpoint, True)
    try:
        report = drill.run(instant.isoformat())
    finally:
        _hold_tasks_running(endpoint, False)
    return {"report": report, "seen": seen, "before": before, "live_versions": live_versions, "live_db": live_db,
            "expected": expected}


def test_the_drill_creates_only_new_resources_while_it_runs(drilled):
    report, during, before = drilled["report"], drilled["seen"]["inventory"], drilled["before"]
    assert report["result"] == "passed", report
    assert set(during["instances"]) - set(before["instances"]) == {report["instance"]}
    assert set(during["buckets"]) - set(before["buckets"]) == {report["bucket"]}
    assert set(during["running_tasks"]) - set(before["running_tasks"]) == {report["task"]}
    assert set(before["instances"]) <= set(during["instances"]) and set(before["buckets"]) <= set(during["buckets"])


def test_the_bucket_copy_holds_the_versions_current_at_the_instant(drilled):
    assert drilled["seen"]["objects"] == drilled["expected"]


def test_the_database_copy_uses_the_live_network_parameters_and_key(drilled):
    restored, live = drilled["seen"]["instance"], drilled["live_db"]
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == live["DBSubnetGroup"]["DBSubnetGroupName"]
    assert ({g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]}
            == {g["VpcSecurityGroupId"] for g in live["VpcSecurityGroups"]})
    assert ([g["DBParameterGroupName"] for g in restored["DBParameterGroups"]]
            == [g["DBParameterGroupName"] for g in live["DBParameterGroups"]])
    assert restored["KmsKeyId"] == live["KmsKeyId"]


def test_the_task_runs_the_deployed_definition_on_the_copy_under_the_drill_role(drilled, deployment):
    task, report = drilled["seen"]["task"], drilled["report"]
    (service,) = aws("ecs", deployment["endpoint"]).describe_services(
        cluster=CLUSTER, services=["open-webui-service"])["services"]
    assert task["taskDefinitionArn"] == service["taskDefinition"]
    overrides = task["overrides"]
    assert overrides["taskRoleArn"].endswith(f":role/{STACK}-restore-drill")
    (container,) = overrides["containerOverrides"]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["S3_BUCKET_NAME"] == report["bucket"]
    assert environment["AJUDA_DB_HOST"] == drilled["seen"]["instance"]["Endpoint"]["Address"]
    assert environment["AJUDA_REDIS_DISABLED"] == "true"
    assert drilled["seen"]["url"].endswith(":8080")


def test_afterwards_everything_created_is_gone_and_the_live_data_untouched(drilled, deployment):
    endpoint, report = deployment["endpoint"], drilled["report"]
    assert _inventory(endpoint) == drilled["before"]
    assert _live_versions(endpoint) == drilled["live_versions"]
    assert sorted(report["created"]) == sorted(report["removed"]) and len(report["created"]) == 3
    assert not report.get("teardown_failures")


@pytest.mark.parametrize("timestamp", ["last tuesday", "2099-01-01T00:00:00Z", "2020-01-01T00:00:00Z"])
def test_the_command_refuses_a_bad_timestamp_and_creates_nothing(deployment, timestamp):
    endpoint = deployment["endpoint"]
    before = _inventory(endpoint)
    result = subprocess.run(["bash", str(ROOT / "scripts" / "restore-drill.sh"), "local", timestamp],
                            env={**deployment["project"].env, "AJUDA_EMULATOR_ENDPOINT": endpoint},
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert _inventory(endpoint) == before
