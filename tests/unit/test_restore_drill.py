"""The restore drill's logic (tools/restore_drill.py): the instant, the guard, the bucket at an instant,
and one whole drill against in-process moto that creates only new resources and removes them.

No cdktf import: these run in a second.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from config.environments import PROD
from tests.support import bucket_history
from tools import restore_drill
from tools.emulator import patches
from tools.restore_drill import (
    DrillError,
    GuardedClient,
    GuardError,
    Journal,
    LiveResources,
    parse_instant,
    versions_at,
)

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
REGION = "us-east-1"
LIVE_DB, LIVE_BUCKET = "ajuda-prod-postgres", "openwebui-ajudadigital"


# --- the instant ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,message", [
    ("yesterday", "is not a timestamp"),
    ("", "is not a timestamp"),
    ("2026-11-25T13:00:00", "has no time zone"),
    ("2026-11-25T14:00:01Z", "is in the future"),
    ("2026-11-26T08:00:00+09:00", "is in the future"),
    ("2026-11-10T13:59:59Z", "is before the retention window"),
])
def test_a_bad_instant_is_refused_with_a_clear_reason(text, message):
    with pytest.raises(DrillError, match=message):
        parse_instant(text, now=NOW, retention_days=14)


def test_the_instances_own_restorable_range_narrows_the_window():
    earliest, latest = NOW - timedelta(days=2), NOW - timedelta(minutes=5)
    with pytest.raises(DrillError, match="before the retention window"):
        parse_instant("2026-11-22T14:00:00Z", now=NOW, retention_days=14, earliest=earliest, latest=latest)
    with pytest.raises(DrillError, match="not restorable yet"):
        parse_instant("2026-11-25T13:58:00Z", now=NOW, retention_days=14, earliest=earliest, latest=latest)


def test_a_good_instant_is_returned_in_utc():
    instant = parse_instant("2026-11-25T20:30:00+09:00", now=NOW, retention_days=14)
    assert instant == datetime(2026, 11, 25, 11, 30, tzinfo=UTC)


def test_the_window_is_the_shorter_of_database_and_bucket_retention():
    env = replace(PROD, storage=replace(PROD.storage, noncurrent_version_expiration_days=7))
    assert restore_drill.retention_days(env) == 7
    assert restore_drill.retention_days(PROD) == PROD.database.backup_retention_days


# --- the bucket at an instant ------------------------------------------------------------------------

def _at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def test_versions_at_picks_the_version_current_at_the_instant():
    versions = [
        {"Key": "a", "VersionId": "a1", "LastModified": _at(-10)},
        {"Key": "a", "VersionId": "a2", "LastModified": _at(+10)},  # overwritten after: a1 wins
        {"Key": "b", "VersionId": "b1", "LastModified": _at(-10)},  # deleted after: still there
        {"Key": "c", "VersionId": "c1", "LastModified": _at(+5)},  # written after: absent
        {"Key": "d", "VersionId": "d1", "LastModified": _at(-20)},  # deleted before: absent
        {"Key": "e", "VersionId": "e1", "LastModified": _at(0)},  # written at the instant: there
    ]
    markers = [{"Key": "b", "VersionId": "bx", "LastModified": _at(+1)},
               {"Key": "d", "VersionId": "dx", "LastModified": _at(-15)}]
    assert versions_at(versions, markers, NOW) == {"a": "a1", "b": "b1", "e": "e1"}


def test_a_put_and_a_delete_in_the_same_second_resolve_to_the_delete_unless_s3_says_otherwise():
    same = _at(-3)
    put = {"Key": "k", "VersionId": "v1", "LastModified": same}
    marker = {"Key": "k", "VersionId": "m1", "LastModified": same}
    assert versions_at([put], [marker], NOW) == {}
    assert versions_at([{**put, "IsLatest": True}], [marker], NOW) == {"k": "v1"}


# --- the guard -------------------------------------------------------------------------------------

class _Fake:
    """Stands in for a boto3 client: records what reached it."""

    class meta:
        class service_model:
            service_name = "fake"

    def __init__(self) -> None:
        self.reached: list[str] = []

    def __getattr__(self, name):
        return lambda **params: self.reached.append(name)


@pytest.mark.parametrize("operation,params", [
    ("delete_bucket", {"Bucket": LIVE_BUCKET}),
    ("put_object", {"Bucket": LIVE_BUCKET, "Key": "x", "Body": b""}),
    ("delete_objects", {"Bucket": LIVE_BUCKET, "Delete": {"Objects": [{"Key": "x"}]}}),
    ("delete_db_instance", {"DBInstanceIdentifier": LIVE_DB, "SkipFinalSnapshot": True}),
    ("modify_db_instance", {"DBInstanceIdentifier": LIVE_DB}),
    ("reboot_db_instance", {"DBInstanceIdentifier": f"arn:aws:rds:us-east-1:123456789012:db:{LIVE_DB}"}),
    ("copy_object", {"Bucket": LIVE_BUCKET, "Key": "x", "CopySource": {"Bucket": "new", "Key": "x"}}),
    ("run_task", {"overrides": {"containerOverrides": [{"environment": [
        {"name": "AJUDA_DB_HOST", "value": f"{LIVE_DB}.abc.us-east-1.rds.amazonaws.com"}]}]}}),
    ("run_task", {"overrides": {"containerOverrides": [{"environment": [
        {"name": "S3_BUCKET_NAME", "value": LIVE_BUCKET}]}]}}),
])
def test_the_guard_refuses_every_write_naming_a_live_resource(operation, params):
    fake = _Fake()
    guarded = GuardedClient(fake, LiveResources(LIVE_DB, LIVE_BUCKET), Journal(created=["new"]))
    with pytest.raises(GuardError, match="names a live resource"):
        getattr(guarded, operation)(**params)
    assert fake.reached == []


def test_the_guard_refuses_deleting_what_the_drill_did_not_create():
    fake = _Fake()
    guarded = GuardedClient(fake, LiveResources(LIVE_DB, LIVE_BUCKET), Journal(created=["drill-bucket"]))
    with pytest.raises(GuardError, match="names nothing this drill created"):
        guarded.delete_bucket(Bucket="someone-elses-bucket")
    guarded.delete_bucket(Bucket="drill-bucket")
    assert fake.reached == ["delete_bucket"]


def test_the_guard_lets_reads_and_reading_from_the_live_source_through():
    fake = _Fake()
    journal = Journal()
    guarded = GuardedClient(fake, LiveResources(LIVE_DB, LIVE_BUCKET), journal)
    guarded.list_object_versions(Bucket=LIVE_BUCKET)
    guarded.describe_db_instances(DBInstanceIdentifier=LIVE_DB)
    guarded.copy_object(Bucket="drill-bucket", Key="k", CopySource={"Bucket": LIVE_BUCKET, "Key": "k", "VersionId": "1"})
    guarded.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier=LIVE_DB, TargetDBInstanceIdentifier="ajuda-prod-drill-1",
                                                 DBParameterGroupName="ajuda-prod-postgres16")
    assert fake.reached == ["list_object_versions", "describe_db_instances", "copy_object",
                            "restore_db_instance_to_point_in_time"]
    assert journal.calls == ["fake.copy_object", "fake.restore_db_instance_to_point_in_time"]


# --- a whole drill on in-process moto ---------------------------------------------------------------

# moto moves a task one state further (RUNNING -> DEACTIVATING -> ... STOPPED) on every DescribeTasks;
# a real drill task keeps running until stopped. Its documented state manager holds it.
TASK_HELD_RUNNING = {"progression": "manual", "times": 1_000_000}


@pytest.fixture(autouse=True)
def _tasks_keep_running():
    from moto.moto_api import state_manager

    state_manager.set_transition(model_name="ecs::task", transition=TASK_HELD_RUNNING)
    yield
    state_manager.unset_transition("ecs::task")


def _client(service: str):
    return boto3.client(service, region_name=REGION, aws_access_key_id="drill", aws_secret_access_key="drill")


def make_live_deployment(env=PROD) -> dict:
    """The parts of the application stack the drill reads: instance, versioned bucket, ECS service, drill role.

    The container sets no memory of its own (the task does, like ours): moto needs tools.emulator.patches.
    """
    patches.patch_ecs_task_memory()
    ec2, rds, s3, ecs, iam, kms = (_client(s) for s in ("ec2", "rds", "s3", "ecs", "iam", "kms"))
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as modules/network.py
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.10.{20 + i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
               for i, z in enumerate("ab")]
    group = ec2.create_security_group(GroupName="ajuda-prod-database", Description="db", VpcId=vpc)["GroupId"]
    key = kms.create_key()["KeyMetadata"]["Arn"]
    rds.create_db_subnet_group(DBSubnetGroupName="ajuda-prod-database", DBSubnetGroupDescription="db", SubnetIds=subnets)
    rds.create_db_parameter_group(DBParameterGroupName="ajuda-prod-postgres16", DBParameterGroupFamily="postgres16", Description="p")
    rds.create_db_instance(DBInstanceIdentifier=f"{env.stack_name}-postgres", Engine="postgres", EngineVersion="16.10",
                           DBInstanceClass="db.r7g.large", AllocatedStorage=200, MasterUsername="ajuda_admin",
                           ManageMasterUserPassword=True, DBSubnetGroupName="ajuda-prod-database",
                           VpcSecurityGroupIds=[group], DBParameterGroupName="ajuda-prod-postgres16",
                           StorageEncrypted=True, KmsKeyId=key, BackupRetentionPeriod=14, DBName="openwebui")
    bucket = env.storage.documents_bucket_name
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    ecs.create_cluster(clusterName=env.service.cluster_name)
    definition = ecs.register_task_definition(
        family="open-webui", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="1024", memory="2048",
        containerDefinitions=[{"name": "open-webui", "image": "ajuda-digital:v0.12.4",
                               "portMappings": [{"containerPort": 8080}]}])["taskDefinition"]["taskDefinitionArn"]
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group], "assignPublicIp": "DISABLED"}}
    ecs.create_service(cluster=env.service.cluster_name, serviceName=env.service.service_name, taskDefinition=definition,
                       desiredCount=0, launchType="FARGATE", networkConfiguration=network)
    iam.create_role(RoleName=f"{env.stack_name}-restore-drill", AssumeRolePolicyDocument="{}")
    return {"key": key, "bucket": bucket, "db": f"{env.stack_name}-postgres", "subnet_group": "ajuda-prod-database",
            "security_group": group}


def write_history(bucket: str) -> tuple[datetime, dict[str, bytes]]:
    return bucket_history.write_history(_client("s3"), bucket)


def _inventory() -> dict:
    rds, s3, ecs = _client("rds"), _client("s3"), _client("ecs")
    return {
        "instances": sorted(i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]),
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "running_tasks": ecs.list_tasks(cluster=PROD.service.cluster_name, desiredStatus="RUNNING")["taskArns"],
    }


def _live_objects(bucket: str) -> list:
    return sorted((v["Key"], v["VersionId"]) for v in _client("s3").list_object_versions(Bucket=bucket).get("Versions", []))


def run_drill(instant: datetime, seen: dict, env=PROD) -> dict:
    def probe(url):
        s3, bucket = _client("s3"), seen["drill"].report["bucket"]
        seen["url"] = url
        seen["objects"] = {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                           for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
        seen["inventory"] = _inventory()
        return {"health_db": 200, "files": len(seen["objects"])}

    drill = restore_drill.Drill(env, _client, waits=restore_drill.Waits(timeout_seconds=30, poll_seconds=0.1),
                                probe=probe, url_of_task=lambda *_: "http://10.10.10.10:8080")
    seen["drill"] = drill
    return drill.run(instant.isoformat())


@mock_aws
def test_a_whole_drill_restores_into_new_resources_and_removes_them():
    live = make_live_deployment()
    instant, expected = write_history(live["bucket"])
    before, live_versions = _inventory(), _live_objects(live["bucket"])
    seen: dict = {}
    report = run_drill(instant, seen)

    assert report["result"] == "passed" and report["objects"] == len(expected)
    # While it ran: the bucket held exactly the objects current at the instant, with their old content.
    assert seen["objects"] == expected
    during = seen["inventory"]
    assert set(during["instances"]) - set(before["instances"]) == {report["instance"]}
    assert set(during["buckets"]) - set(before["buckets"]) == {report["bucket"]}
    assert len(during["running_tasks"]) == 1
    # Afterwards: everything it created is gone, the live resources are as they were.
    assert _inventory() == before
    assert _live_objects(live["bucket"]) == live_versions
    assert sorted(report["created"]) == sorted(report["removed"])
    assert report["instance"].startswith("ajuda-prod-drill-") and report["bucket"].startswith("openwebui-ajudadigital-drill-")


@mock_aws
def test_the_drill_restores_with_the_live_network_parameters_and_key():
    live = make_live_deployment()
    instant, _ = write_history(live["bucket"])
    captured = {}
    original = restore_drill.Drill._restore_database

    def spy(self, rds, source, instance_id, when):
        original(self, rds, source, instance_id, when)
        captured["restored"] = _client("rds").describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]

    restore_drill.Drill._restore_database = spy
    try:
        report = run_drill(instant, {})
    finally:
        restore_drill.Drill._restore_database = original
    restored = captured["restored"]
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == live["subnet_group"]
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [live["security_group"]]
    assert [g["DBParameterGroupName"] for g in restored["DBParameterGroups"]] == ["ajuda-prod-postgres16"]
    assert restored["KmsKeyId"] == live["key"] and restored["StorageEncrypted"] is True
    assert "restore_db_instance_to_point_in_time" in " ".join(report["calls"])


@mock_aws
@pytest.mark.parametrize("text", ["not-a-time", "2099-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2026-11-25T13:00:00"])
def test_a_bad_timestamp_creates_nothing(text):
    make_live_deployment()
    before = _inventory()
    drill = restore_drill.Drill(PROD, _client)
    with pytest.raises(DrillError):
        drill.run(text)
    assert drill.journal.calls == [] and drill.journal.created == []
    assert _inventory() == before


@mock_aws
def test_a_failing_check_still_tears_the_copy_down():
    live = make_live_deployment()
    instant, _ = write_history(live["bucket"])
    before = _inventory()

    def unhealthy(url):
        raise DrillError("the restored copy does not answer /health/db (HTTP 500)")

    drill = restore_drill.Drill(PROD, _client, waits=restore_drill.Waits(30, 0.1), probe=unhealthy,
                                url_of_task=lambda *_: "http://10.10.10.10:8080")
    with pytest.raises(DrillError, match="health/db"):
        drill.run(instant.isoformat())
    assert drill.report["result"].startswith("failed")
    assert _inventory() == before


def test_the_command_exits_2_with_one_line_on_a_bad_timestamp(capsys):
    assert restore_drill.main(["prod", "tomorrow-ish"]) == restore_drill.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is not a timestamp" in err


def test_the_command_names_an_unknown_environment(capsys):
    assert restore_drill.main(["qa", "2026-11-25T14:00:00Z"]) == restore_drill.EXIT_BAD_INPUT
    assert "unknown 'qa'" in capsys.readouterr().err


@mock_aws
def test_the_emulator_patch_lets_a_versioned_bucket_with_delete_markers_be_emptied():
    """What `cdktf destroy` (force_destroy) does to the documents bucket after the drill's tests."""
    patches.patch_s3_delete_marker()
    s3 = _client("s3")
    s3.create_bucket(Bucket="emptied")
    s3.put_bucket_versioning(Bucket="emptied", VersioningConfiguration={"Status": "Enabled"})
    bucket_history.write_history(s3, "emptied")
    # Destroy removes aws_s3_bucket_versioning first (versioning Suspended), then empties the bucket.
    s3.put_bucket_versioning(Bucket="emptied", VersioningConfiguration={"Status": "Suspended"})
    restore_drill.empty_and_delete_bucket(s3, "emptied")
    assert "emptied" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
