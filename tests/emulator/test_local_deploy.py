"""End to end against the local AWS emulator: bootstrap, deploy, read back, re-plan, lock, destroy.

The deployment (fixture ``deployment``, tests/emulator/conftest.py) is the README's main job
itself, ``bash scripts/local.sh up``, so the command a newcomer runs first is the command CI proves.
"""

from __future__ import annotations

import json
import subprocess
import time

import boto3
import pytest

from tests.emulator import local_sh_output
from tests.integration import local_app
from tools.emulator import server as emulator

STACK = "ajuda-local"
STATE_BUCKET, LOCK_TABLE = "ajuda-digital-local-state", "ajuda-digital-local-locks"
REGION = "us-east-1"

# Attributes moto reports differently from what it was given, so the provider plans them again.
# Each is the emulator's gap, not the stack's; nothing else may differ on the second plan.
TOLERATED_DRIFT: dict[str, set[str]] = {
    # moto's DescribeDBParameters omits Source, so the provider sees none of the user parameters.
    "aws_db_parameter_group": {"parameter"},
    # moto ignores capacity provider strategies (it reports launch type EC2), managed tags,
    # the grace period and AZ rebalancing, and invents a deployment controller block.
    "aws_ecs_service": {"capacity_provider_strategy", "enable_ecs_managed_tags", "health_check_grace_period_seconds",
                        "availability_zone_rebalancing", "deployment_controller", "tags", "launch_type"},
    # moto drops the description of rules that reference a security group (checked below:
    # only such rules may show it).
    "aws_vpc_security_group_egress_rule": {"description"},
    "aws_vpc_security_group_ingress_rule": {"description"},
}
GROUP_RULES = {"aws_vpc_security_group_egress_rule", "aws_vpc_security_group_ingress_rule"}


def aws(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="emulator", aws_secret_access_key="emulator")


def test_outputs_name_what_operators_need(deployment):
    outputs = deployment["outputs"]
    assert outputs["url"] == f"http://{outputs['alb_dns_name']}"
    assert outputs["ecr_repository_url"].endswith("/ajuda-digital")
    assert outputs["documents_bucket"] == "openwebui-ajudadigital-local"
    assert (outputs["cluster_name"], outputs["service_name"]) == ("open-webui-cluster", "open-webui-service")
    assert outputs["db_endpoint"]


def test_up_prints_one_line_per_step_then_the_outputs(deployment):
    local_sh_output.check_up_output(deployment["up_output"], deployment["local_dir"], deployment["outputs"])


def test_network_in_two_zones_with_chained_security_groups(deployment):
    ec2 = aws("ec2", deployment["endpoint"])
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:environment", "Values": ["local"]}])["Vpcs"]
    assert len(vpcs) == 1
    vpc_id = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    tiers: dict[str, set[str]] = {}
    for subnet in subnets:
        tags = {t["Key"]: t["Value"] for t in subnet.get("Tags", [])}
        tiers.setdefault(tags["Tier"], set()).add(subnet["AvailabilityZone"])
    assert tiers == {tier: {"us-east-1a", "us-east-1b"} for tier in ("public", "app", "database")}

    groups = {g["GroupName"]: g for g in ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]}
    alb, app, db = (groups[f"{STACK}-{name}"]["GroupId"] for name in ("alb", "app", "database"))
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [alb, app, db]}])["SecurityGroupRules"]
    ingress = sorted((r["GroupId"], r["FromPort"], r.get("CidrIpv4") or r["ReferencedGroupInfo"]["GroupId"])
                     for r in rules if not r["IsEgress"])
    assert ingress == sorted([(alb, 80, "0.0.0.0/0"), (app, 8080, alb), (db, 5432, app)])


def test_load_balancer_listener_and_target_group(deployment):
    elb = aws("elbv2", deployment["endpoint"])
    (lb,) = [lb for lb in elb.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == f"{STACK}-alb"]
    assert lb["Type"] == "application" and len(lb["AvailabilityZones"]) == 2
    (listener,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert (listener["Port"], listener["Protocol"]) == (80, "HTTP")
    (group,) = elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    assert (group["Port"], group["TargetType"], group["HealthCheckPath"]) == (8080, "ip", "/health")


def test_ecs_cluster_task_definition_and_service(deployment):
    ecs = aws("ecs", deployment["endpoint"])
    (service,) = ecs.describe_services(cluster="open-webui-cluster", services=["open-webui-service"])["services"]
    assert service["desiredCount"] == 2
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert (task["cpu"], task["memory"]) == ("1024", "2048")
    (container,) = task["containerDefinitions"]
    assert container["portMappings"][0]["containerPort"] == 8080
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/open-webui"
    assert container["image"].endswith("/ajuda-digital:v0.12.4")
    logs = aws("logs", deployment["endpoint"])
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/ecs/open-webui")["logGroups"]
    assert group["retentionInDays"] == 365


def test_database_instance(deployment):
    rds = aws("rds", deployment["endpoint"])
    (db,) = rds.describe_db_instances(DBInstanceIdentifier=f"{STACK}-postgres")["DBInstances"]
    # Configured as the major version only ("16"); AWS reports the actual 16.x, moto echoes "16".
    assert db["Engine"] == "postgres" and db["EngineVersion"].split(".")[0] == "16"
    assert db["MultiAZ"] is True
    assert (db["AllocatedStorage"], db["StorageType"]) == (200, "gp3")
    assert db["StorageEncrypted"] is True
    assert db["DBInstanceClass"] == "db.r7g.large"


def test_documents_bucket_registry_and_state(deployment):
    s3 = aws("s3", deployment["endpoint"])
    bucket = "openwebui-ajudadigital-local"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    ecr = aws("ecr", deployment["endpoint"])
    (repository,) = ecr.describe_repositories(repositoryNames=["ajuda-digital"])["repositories"]
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"]["scanOnPush"] is True
    state = s3.head_object(Bucket=STATE_BUCKET, Key=f"ajuda-digital/{STACK}.tfstate")
    assert state["ContentLength"] > 1000


def test_no_lock_is_left_behind(deployment):
    items = aws("dynamodb", deployment["endpoint"]).scan(TableName=LOCK_TABLE)["Items"]
    locks = [i["LockID"]["S"] for i in items if not i["LockID"]["S"].endswith("-md5")]
    assert locks == []


def _changed_attributes(change: dict) -> set[str]:
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    return {key for key in set(before) | set(after)
            if before.get(key) != after.get(key) and not unknown.get(key)}


def test_second_plan_shows_no_changes(deployment):
    project = deployment["project"]
    project.terraform(STACK, "plan", "-input=false", "-no-color", "-lock-timeout=60s", "-out=replan")
    shown = json.loads(project.terraform(STACK, "show", "-json", "replan").stdout)
    unexpected = []
    for resource in shown.get("resource_changes", []):
        change = resource["change"]
        if change["actions"] in (["no-op"], ["read"]):
            continue
        drift = _changed_attributes(change)
        extra = drift - TOLERATED_DRIFT.get(resource["type"], set())
        if resource["type"] in GROUP_RULES and not (change["before"] or {}).get("referenced_security_group_id"):
            extra = drift
        if extra or not drift:
            unexpected.append(f"{resource['address']} {change['actions']}: {sorted(extra or drift)}")
    assert not unexpected, "unexpected changes on the second plan:\n" + "\n".join(unexpected)


def test_plan_command_prints_the_pull_request_summary(deployment):
    before = len(deployment["log"].read_text())
    plan = deployment["local_sh"]("plan")
    local_sh_output.check_plan_output(deployment["log"].read_text()[before:], plan.returncode, deployment["local_dir"])


def test_concurrent_run_fails_on_the_lock_and_state_survives(deployment):
    project = deployment["project"]
    before = project.terraform(STACK, "state", "list").stdout
    dynamodb = aws("dynamodb", deployment["endpoint"])
    holder = subprocess.Popen(["terraform", "apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color"],
                              cwd=project.stack_dir(STACK), env=project.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            items = dynamodb.scan(TableName=LOCK_TABLE)["Items"]
            if any(not i["LockID"]["S"].endswith("-md5") for i in items):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the first run never took the lock")
        contender = project.terraform(STACK, "plan", "-input=false", "-no-color", "-lock-timeout=0s", check=False)
        assert contender.returncode != 0
        assert "Error acquiring the state lock" in contender.stdout + contender.stderr
    finally:
        output, _ = holder.communicate(timeout=600)
    assert holder.returncode == 0, output[-3000:]
    assert project.terraform(STACK, "state", "list").stdout == before


@pytest.mark.destroys_deployment
def test_destroy_leaves_nothing_of_the_stack(deployment):
    project, endpoint = deployment["project"], deployment["endpoint"]
    project.run("destroy", STACK, "--skip-synth")  # local.sh synthesized the project's cdktf.out
    assert not aws("ec2", endpoint).describe_vpcs(Filters=[{"Name": "tag:environment", "Values": ["local"]}])["Vpcs"]
    assert not [c for c in aws("ecs", endpoint).describe_clusters(clusters=["open-webui-cluster"])["clusters"]
                if c["status"] == "ACTIVE"]
    assert not aws("rds", endpoint).describe_db_instances()["DBInstances"]
    assert not aws("elbv2", endpoint).describe_load_balancers()["LoadBalancers"]
    assert not aws("ecr", endpoint).describe_repositories()["repositories"]
    buckets = {b["Name"] for b in aws("s3", endpoint).list_buckets()["Buckets"]}
    assert buckets == {STATE_BUCKET}


@pytest.mark.destroys_deployment
def test_teardown_command_destroys_the_bootstrap_and_stops_the_emulator(deployment):
    local_dir, endpoint = deployment["local_dir"], deployment["endpoint"]
    assert aws("s3", endpoint).list_buckets()["Buckets"]
    app_pid = local_app.running_pid(local_dir)  # test_up_then_app.py leaves `local.sh app` running
    before = len(deployment["log"].read_text())
    down = deployment["local_sh"]("down")
    deployment["state"]["down"] = True
    assert down.returncode == 0, f"scripts/local.sh down failed:\n{deployment['log'].read_text()[-6000:]}"
    local_sh_output.check_down_output(deployment["log"].read_text()[before:], local_dir)
    (bootstrap_state,) = (local_dir / "state").glob("*.tfstate")
    assert json.loads(bootstrap_state.read_text())["resources"] == []
    assert emulator.running_endpoint(local_dir / "moto") is None, "the emulator still runs after local.sh down"
    assert app_pid is None or not local_app.alive(app_pid), "the app still runs after local.sh down"
