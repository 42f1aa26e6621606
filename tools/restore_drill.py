"""Restore drill: prove the backups by restoring them, then throw the copy away.

    python -m tools.restore_drill prod 2026-11-25T14:00:00Z      # scripts/restore-drill.sh wraps this

1. Restores the database to the instant into a NEW instance (RestoreDBInstanceToPointInTime from
   RDS's automated backups, with the live instance's subnet group, security groups and parameter
   group; an encrypted source restores under its own KMS key).
2. Restores the documents bucket's objects as they were at that instant into a NEW bucket: for each
   key the version current at the instant is copied; keys deleted (or not yet written) then are absent.
   Database rows name S3 keys, so both copies must be of the same instant.
3. Runs one Open WebUI task from the live task definition with the database host and bucket
   overridden (and no Redis, so it never joins the live service), under the restore-drill task role.
4. Checks that the copy answers ``/health/db`` and that every file it lists exists in the restored
   bucket, prints a report, and tears the copy down (also on failure).

It never writes to the live database or bucket: every AWS call goes through ``GuardedClient``,
which refuses a non-read call naming a live resource, and refuses deleting anything the drill did
not create. A bad instant (not a timestamp, in the future, before the retention window) stops the
drill before anything is created.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EXIT_BAD_INPUT = 2
READ_ONLY_PREFIXES = ("describe_", "list_", "get_", "head_", "can_paginate", "generate_presigned")
DELETE_PREFIXES = ("delete_", "stop_", "terminate_")
# Parameters a call reads from, never writes to: the live instance and bucket may appear only here.
SOURCE_PARAMETERS = frozenset({"SourceDBInstanceIdentifier", "CopySource"})
DRILL_TAG = {"Key": "ajuda-restore-drill", "Value": "true"}
HEALTH_DB_PATH = "/health/db"  # open_webui/main.py: runs SELECT 1 against the database
FILES_PATH = "/api/v1/files/"
API_KEY_VARIABLE = "AJUDA_DRILL_API_KEY"  # an admin's Open WebUI API key: lists the restored files


class DrillError(Exception):
    """A problem the operator can act on; nothing was created, or everything created was removed."""


class GuardError(DrillError):
    """The drill tried to write to, or delete, something it must not touch."""


# --- the instant ---------------------------------------------------------------------------------

def parse_instant(text: str, *, now: datetime, retention_days: int,
                  earliest: datetime | None = None, latest: datetime | None = None) -> datetime:
    """The UTC instant to restore to, or DrillError saying why ``text`` cannot be one.

    ``retention_days``: how far back both the database (RDS backup retention) and the bucket
    (noncurrent versions kept) reach; ``earliest``/``latest``: the instance's restorable range.
    """
    try:
        instant = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise DrillError(f"{text!r} is not a timestamp: use ISO 8601 with a zone, e.g. 2026-11-25T14:00:00Z") from None
    if instant.tzinfo is None:
        # Dili is UTC+9: a zoneless time is off by nine hours for someone.
        raise DrillError(f"{text!r} has no time zone: add Z (UTC) or an offset such as +09:00")
    instant = instant.astimezone(UTC)
    if instant > now:
        raise DrillError(f"{instant.isoformat()} is in the future (now {now.isoformat(timespec='seconds')})")
    window_start = now - timedelta(days=retention_days)
    if earliest is not None and earliest > window_start:
        window_start = earliest
    if instant < window_start:
        raise DrillError(f"{instant.isoformat()} is before the retention window: the earliest restorable "
                         f"instant is {window_start.isoformat(timespec='seconds')} ({retention_days} days kept)")
    if latest is not None and instant > latest:
        raise DrillError(f"{instant.isoformat()} is not restorable yet: RDS's latest restorable time is "
                         f"{latest.isoformat(timespec='seconds')} (transaction logs are shipped every ~5 minutes)")
    return instant


def retention_days(env) -> int:
    """Both halves of a restore must reach back: the shorter of the two retentions."""
    return min(env.database.backup_retention_days, env.storage.noncurrent_version_expiration_days)


# --- the guard -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LiveResources:
    db_instance_identifier: str
    bucket: str

    def named_by(self, value: str) -> bool:
        db, bucket = self.db_instance_identifier, self.bucket
        return (value in (db, bucket) or value.startswith(db + ".")  # the endpoint host name
                or value.endswith(f":db:{db}") or value in (f"arn:aws:s3:::{bucket}", f"s3://{bucket}")
                or value.startswith((f"arn:aws:s3:::{bucket}/", f"s3://{bucket}/")))


def _strings(value: Any, key: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in SOURCE_PARAMETERS:
                yield from _strings(v, k)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item, key)


@dataclass
class Journal:
    """Every non-read call the drill made, and what it created."""

    calls: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class GuardedClient:
    """A boto3 client that refuses any write naming a live resource and any delete of what the drill did not create."""

    def __init__(self, client: Any, live: LiveResources, journal: Journal) -> None:
        self._client = client
        self._live = live
        self._journal = journal

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith(READ_ONLY_PREFIXES):
            return attribute
        service = self._client.meta.service_model.service_name

        def call(**params: Any) -> Any:
            self.check(name, params)
            self._journal.calls.append(f"{service}.{name}")
            return attribute(**params)

        return call

    def check(self, operation: str, params: dict[str, Any]) -> None:
        for key, value in _strings(params):
            if self._live.named_by(value):
                raise GuardError(f"refused {operation}: {key}={value!r} names a live resource")
        if operation.startswith(DELETE_PREFIXES):
            named = {value for _, value in _strings(params)}
            if not named & set(self._journal.created):
                raise GuardError(f"refused {operation}: it names nothing this drill created ({sorted(named)})")


# --- the bucket at an instant ----------------------------------------------------------------------

def versions_at(versions: Iterable[dict], delete_markers: Iterable[dict], instant: datetime) -> dict[str, str]:
    """Key -> VersionId current at ``instant`` (ListObjectVersions entries); deleted or later keys are absent.

    S3 lists LastModified to the second, so a put and a delete in one second tie: the entry S3 marks
    IsLatest wins, then the delete marker (a delete follows the put it removes far more often than a
    re-upload follows a delete within the same second).
    """
    latest: dict[str, tuple[tuple, bool, str]] = {}
    entries = [(v, False) for v in versions] + [(m, True) for m in delete_markers]
    for entry, is_marker in entries:
        modified = entry["LastModified"]
        if modified > instant:
            continue
        rank = (modified, bool(entry.get("IsLatest")), is_marker)
        current = latest.get(entry["Key"])
        if current is None or rank > current[0]:
            latest[entry["Key"]] = (rank, is_marker, entry["VersionId"])
    return {key: version for key, (_, is_marker, version) in latest.items() if not is_marker}


def list_all_versions(s3: Any, bucket: str) -> tuple[list[dict], list[dict]]:
    versions: list[dict] = []
    markers: list[dict] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        versions += page.get("Versions", [])
        markers += page.get("DeleteMarkers", [])
    return versions, markers


def restore_bucket(s3: Any, source: str, target: str, instant: datetime, sse: dict | None = None) -> dict[str, str]:
    """Copy every object of ``source`` as it was at ``instant`` into the existing bucket ``target``."""
    wanted = versions_at(*list_all_versions(s3, source), instant)
    for key, version in sorted(wanted.items()):
        s3.copy_object(Bucket=target, Key=key, CopySource={"Bucket": source, "Key": key, "VersionId": version},
                       **(sse or {}))
    return wanted


def empty_and_delete_bucket(s3: Any, bucket: str) -> None:
    versions, markers = list_all_versions(s3, bucket)
    for entry in versions + markers:
        s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
    s3.delete_bucket(Bucket=bucket)


# --- checking the restored application ---------------------------------------------------------------

def http_json(url: str, token: str | None = None, timeout: float = 10.0) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None


def check_restored_app(base_url: str, token: str | None) -> dict[str, Any]:
    """``/health/db`` answers, and every file the restored database lists loads from the restored bucket."""
    status, _ = http_json(base_url + HEALTH_DB_PATH)
    result: dict[str, Any] = {"health_db": status}
    if status != 200:
        raise DrillError(f"the restored copy does not answer {HEALTH_DB_PATH} (HTTP {status})")
    if not token:
        result["files"] = f"not listed: set {API_KEY_VARIABLE} to an admin's API key"
        return result
    status, listed = http_json(base_url + FILES_PATH + "?content=false", token)
    items = listed.get("items") if isinstance(listed, dict) else listed
    if status != 200 or not isinstance(items, list):
        raise DrillError(f"the restored copy did not list files (HTTP {status})")
    # Database rows name S3 keys: a file whose object is missing from the copy fails to load.
    unreadable = [item["id"] for item in items
                  if _status(f"{base_url}{FILES_PATH}{item['id']}/content", token) != 200]
    if unreadable:
        raise DrillError(f"{len(unreadable)} of {len(items)} listed file(s) do not load from the restored bucket: {unreadable[:5]}")
    result["files"] = len(items)
    return result


def _status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return 0


def drill_task_environment(db_host: str, db_port: str, bucket: str) -> list[dict[str, str]]:
    """containerOverrides.environment: the restored copy, and no Redis (it must not join the live service)."""
    return [{"name": name, "value": value} for name, value in (
        ("AJUDA_DB_HOST", db_host), ("AJUDA_DB_PORT", db_port), ("S3_BUCKET_NAME", bucket),
        # docker/ajuda-entrypoint.sh drops Redis (its secret is still injected); Open WebUI's
        # default manager is then in-process.
        ("AJUDA_REDIS_DISABLED", "true"), ("WEBSOCKET_MANAGER", ""),
    )]


# --- the drill -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Waits:
    timeout_seconds: float = 3600.0
    poll_seconds: float = 15.0


def _wait(what: str, ready: Callable[[], bool], waits: Waits) -> None:
    deadline = time.monotonic() + waits.timeout_seconds
    while not ready():
        if time.monotonic() > deadline:
            raise DrillError(f"gave up waiting for {what} after {waits.timeout_seconds:.0f}s")
        time.sleep(waits.poll_seconds)


def drill_names(stack_name: str, bucket: str, instant: datetime, suffix: str | None = None) -> tuple[str, str]:
    from config.model import bucket_name_problem, restored_bucket_name

    tag = f"drill-{instant.strftime('%Y%m%d%H%M')}-{suffix or secrets.token_hex(2)}"
    instance = f"{stack_name}-{tag}"
    restored_bucket = restored_bucket_name(bucket, tag)
    problem = bucket_name_problem(restored_bucket)
    if problem:
        raise DrillError(f"cannot name the restored bucket {restored_bucket!r}: {problem}")
    return instance, restored_bucket


def task_url(ecs: Any, cluster: str, task_arn: str, port: int) -> str:
    """The task's private address: the drill must run where it reaches the app subnets (like the database stack)."""
    (task,) = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return f"http://{detail['value']}:{port}"
    raise DrillError(f"task {task_arn} has no private address")


@dataclass
class Drill:
    env: Any  # config.model.EnvironmentConfig
    client: Callable[[str], Any]  # service name -> boto3 client (unguarded)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    waits: Waits = field(default_factory=Waits)
    # base URL -> check result; the default calls the task over HTTP (needs a route into the VPC).
    probe: Callable[[str], dict] | None = None
    url_of_task: Callable[[Any, str, str, int], str] = task_url
    journal: Journal = field(default_factory=Journal)
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> LiveResources:
        return LiveResources(db_instance_identifier=self.env.names.database_identifier,
                             bucket=self.env.storage.documents_bucket_name)

    def guarded(self, service: str) -> GuardedClient:
        return GuardedClient(self.client(service), self.live, self.journal)

    def run(self, instant_text: str) -> dict[str, Any]:
        rds, s3, ecs = self.guarded("rds"), self.guarded("s3"), self.guarded("ecs")
        live = self.live
        # A bad instant is refused before any AWS call, then checked against the instance's own
        # restorable range (a read): either way nothing is created.
        parse_instant(instant_text, now=self.now, retention_days=retention_days(self.env))
        source = rds.describe_db_instances(DBInstanceIdentifier=live.db_instance_identifier)["DBInstances"][0]
        instant = parse_instant(instant_text, now=self.now, retention_days=retention_days(self.env),
                                earliest=source.get("EarliestRestorableTime"), latest=source.get("LatestRestorableTime"))
        instance_id, bucket = drill_names(self.env.stack_name, live.bucket, instant)
        self.report.update(environment=self.env.name, instant=instant.isoformat(), instance=instance_id, bucket=bucket)
        started = time.monotonic()
        try:
            self._restore_database(rds, source, instance_id, instant)
            self._restore_bucket(s3, bucket, instant)
            self._run_task(rds, ecs, instance_id, bucket)
            self.report["restore_seconds"] = round(time.monotonic() - started, 1)
            self.report["result"] = "passed"
        except Exception as error:
            self.report["result"] = f"failed: {error}"
            raise
        finally:
            self._tear_down(rds, s3, ecs, instance_id, bucket)
            self.report.update(calls=self.journal.calls, created=self.journal.created, removed=self.journal.removed)
        return self.report

    def _restore_database(self, rds: Any, source: dict, instance_id: str, instant: datetime) -> None:
        parameter_groups = [g["DBParameterGroupName"] for g in source.get("DBParameterGroups", [])]
        rds.restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier=source["DBInstanceIdentifier"], TargetDBInstanceIdentifier=instance_id,
            RestoreTime=instant, DBSubnetGroupName=source["DBSubnetGroup"]["DBSubnetGroupName"],
            VpcSecurityGroupIds=[g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups", [])],
            **({"DBParameterGroupName": parameter_groups[0]} if parameter_groups else {}),
            DBInstanceClass=source["DBInstanceClass"], MultiAZ=False, PubliclyAccessible=False,
            DeletionProtection=False, CopyTagsToSnapshot=False, Tags=[DRILL_TAG],
        )
        self.journal.created.append(instance_id)

        def available() -> bool:
            found = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
            return found["DBInstanceStatus"] == "available"

        _wait(f"database {instance_id}", available, self.waits)

    def _restore_bucket(self, s3: Any, bucket: str, instant: datetime) -> None:
        live = self.live.bucket
        region = self.env.region
        s3.create_bucket(Bucket=bucket, **({} if region == "us-east-1" else
                                           {"CreateBucketConfiguration": {"LocationConstraint": region}}))
        self.journal.created.append(bucket)
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [DRILL_TAG]})
        # The copy is encrypted like the original (the stack's customer-managed key).
        rule = s3.get_bucket_encryption(Bucket=live)["ServerSideEncryptionConfiguration"]["Rules"][0]
        default = rule["ApplyServerSideEncryptionByDefault"]
        sse = {"ServerSideEncryption": default["SSEAlgorithm"]}
        if default.get("KMSMasterKeyID"):
            sse["SSEKMSKeyId"] = default["KMSMasterKeyID"]
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
        restored = restore_bucket(s3, live, bucket, instant, sse)
        self.report["objects"] = len(restored)

    def _run_task(self, rds: Any, ecs: Any, instance_id: str, bucket: str) -> None:
        service_cfg = self.env.service
        restored = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
        (service,) = ecs.describe_services(cluster=service_cfg.cluster_name, services=[service_cfg.service_name])["services"]
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        container = definition["containerDefinitions"][0]
        port = container["portMappings"][0]["containerPort"]
        role = self.guarded("iam").get_role(RoleName=self.env.names.restore_drill_role)["Role"]["Arn"]
        network = service.get("networkConfiguration") or {}
        task = ecs.run_task(
            cluster=service_cfg.cluster_name, taskDefinition=service["taskDefinition"], count=1,
            launchType="FARGATE", startedBy="restore-drill", networkConfiguration=network,
            overrides={"taskRoleArn": role, "containerOverrides": [{
                "name": container["name"],
                "environment": drill_task_environment(restored["Endpoint"]["Address"], str(restored["Endpoint"]["Port"]), bucket),
            }]},
        )["tasks"][0]
        self.journal.created.append(task["taskArn"])
        self.report["task"] = task["taskArn"]

        def running() -> bool:
            (found,) = ecs.describe_tasks(cluster=service_cfg.cluster_name, tasks=[task["taskArn"]])["tasks"]
            if found["lastStatus"] == "STOPPED":
                raise DrillError(f"the drill task stopped: {found.get('stoppedReason')}")
            return found["lastStatus"] == "RUNNING"

        _wait("the Open WebUI task", running, self.waits)
        url = self.url_of_task(ecs, service_cfg.cluster_name, task["taskArn"], port)
        probe = self.probe or (lambda base: check_restored_app(base, os.environ.get(API_KEY_VARIABLE)))
        self.report["check"] = probe(url)

    def _tear_down(self, rds: Any, s3: Any, ecs: Any, instance_id: str, bucket: str) -> None:
        created = list(self.journal.created)
        steps = []
        for arn in (c for c in created if c.startswith("arn:") and ":task/" in c):
            steps.append((arn, lambda arn=arn: ecs.stop_task(cluster=self.env.service.cluster_name, task=arn,
                                                             reason="restore drill finished")))
        if bucket in created:
            steps.append((bucket, lambda: empty_and_delete_bucket(s3, bucket)))
        if instance_id in created:
            steps.append((instance_id, lambda: rds.delete_db_instance(
                DBInstanceIdentifier=instance_id, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)))
        failures = []
        for name, step in steps:
            try:
                step()
                self.journal.removed.append(name)
            except Exception as error:
                failures.append(f"{name}: {error}")
        if failures:
            self.report["teardown_failures"] = failures


def _clients(env) -> Callable[[str], Any]:
    import boto3

    kwargs: dict[str, Any] = {"region_name": env.region}
    if env.emulator is not None:
        kwargs.update(endpoint_url=env.emulator.endpoint, aws_access_key_id="emulator", aws_secret_access_key="emulator")
    return lambda service: boto3.client(service, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/restore-drill.sh", description=__doc__.split("\n")[0])
    parser.add_argument("environment", help="dev, staging, prod or local")
    parser.add_argument("timestamp", help="ISO 8601 with a zone, e.g. 2026-11-25T14:00:00Z")
    args = parser.parse_args(argv)
    import config

    try:
        (env,) = config.load([args.environment])
        report = Drill(env, _clients(env)).run(args.timestamp)
    except (DrillError, config.ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(report, indent=2, default=str))
    return 0 if not report.get("teardown_failures") else 1


if __name__ == "__main__":
    sys.exit(main())
