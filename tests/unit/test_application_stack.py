"""The synthesized application stacks, resource by resource, for prod (the reference) and dev."""

from __future__ import annotations

import ipaddress
import json
import re

import pytest

PROD, DEV = "ajuda-prod", "ajuda-dev"


def container(synthesized, stack: str) -> dict:
    task = synthesized.one(stack, "aws_ecs_task_definition", "service_task")
    definitions = _decode(task["container_definitions"])
    assert len(definitions) == 1
    return definitions[0]


def _decode(value: str):
    """Policies and container definitions are JSON strings with ${...} references inside."""
    return json.loads(value)


def policy_document(value: str) -> dict:
    """A policy with every statement's Resource as a list (IAM allows a string for one)."""
    document = _decode(value)
    for statement in document["Statement"]:
        if isinstance(statement.get("Resource"), str):
            statement["Resource"] = [statement["Resource"]]
    return document


# --- network ------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack,nat_gateways", [(PROD, 2), (DEV, 1)])
def test_vpc_spans_two_zones_with_three_tiers(synthesized, stack, nat_gateways):
    vpc = synthesized.one(stack, "aws_vpc")
    vpc_net = ipaddress.ip_network(vpc["cidr_block"])
    subnets = synthesized.resources(stack, "aws_subnet").values()
    by_tier: dict[str, set[str]] = {}
    for subnet in subnets:
        assert ipaddress.ip_network(subnet["cidr_block"]).subnet_of(vpc_net)
        assert subnet["map_public_ip_on_launch"] is False
        by_tier.setdefault(subnet["tags"]["Tier"], set()).add(subnet["availability_zone"])
    assert by_tier == {tier: {"us-east-1a", "us-east-1b"} for tier in ("public", "app", "database")}
    assert len(synthesized.resources(stack, "aws_nat_gateway")) == nat_gateways


def test_database_subnets_have_no_route_to_the_internet(synthesized):
    tables = synthesized.resources(PROD, "aws_route_table")
    database_table = next(k for k, v in tables.items() if v["tags"]["Name"].endswith("-database"))
    routes = synthesized.resources(PROD, "aws_route").values()
    assert not [r for r in routes if database_table in r["route_table_id"]]
    associations = synthesized.resources(PROD, "aws_route_table_association").values()
    database_links = [a for a in associations if database_table in a["route_table_id"]]
    assert len(database_links) == 2 and all("database" in a["subnet_id"] for a in database_links)


def test_app_subnets_route_out_through_their_own_zone_nat_in_prod(synthesized):
    routes = [r for r in synthesized.resources(PROD, "aws_route").values() if "nat_gateway_id" in r]
    assert len(routes) == 2 and len({r["nat_gateway_id"] for r in routes}) == 2


# --- security groups --------------------------------------------------------------------------------

def _group_key(synthesized, stack: str, suffix: str) -> str:
    groups = synthesized.resources(stack, "aws_security_group")
    matches = [k for k, v in groups.items() if v["name"] == f"{stack}-{suffix}"]
    assert len(matches) == 1, (suffix, list(groups))
    return matches[0]


@pytest.mark.parametrize("stack", [PROD, DEV])
def test_security_groups_are_chained_internet_alb_ecs_rds(synthesized, stack):
    alb, app, db, cache, gateway_lb, gateway = (_group_key(synthesized, stack, s) for s in (
        "alb", "app", "database", "cache", "gateway-lb", "gateway"))
    ingress = list(synthesized.resources(stack, "aws_vpc_security_group_ingress_rule").values())
    summary = sorted(
        (rule["security_group_id"].split(".")[1], rule["from_port"], rule.get("cidr_ipv4") or rule["referenced_security_group_id"].split(".")[1])
        for rule in ingress
    )
    assert summary == sorted([
        (alb, 80, "0.0.0.0/0"), (alb, 443, "0.0.0.0/0"),
        (app, 8080, alb), (db, 5432, app), (cache, 6379, app),
        (gateway_lb, 80, app), (gateway, 4000, gateway_lb),
    ])
    for rule in ingress:
        assert rule["ip_protocol"] == "tcp" and rule["from_port"] == rule["to_port"]


@pytest.mark.parametrize("stack", [PROD, DEV])
def test_every_rule_has_a_description_and_only_alb_listeners_face_the_internet(synthesized, stack):
    rules = {**synthesized.resources(stack, "aws_vpc_security_group_ingress_rule"),
             **synthesized.resources(stack, "aws_vpc_security_group_egress_rule")}
    assert rules
    for name, rule in rules.items():
        assert rule.get("description"), name
    open_ingress = [r for r in synthesized.resources(stack, "aws_vpc_security_group_ingress_rule").values()
                    if r.get("cidr_ipv4") == "0.0.0.0/0"]
    assert {r["from_port"] for r in open_ingress} == {80, 443}
    alb = _group_key(synthesized, stack, "alb")
    assert all(r["security_group_id"] == f"${{aws_security_group.{alb}.id}}" for r in open_ingress)
    open_egress = [r for r in synthesized.resources(stack, "aws_vpc_security_group_egress_rule").values()
                   if r.get("cidr_ipv4") == "0.0.0.0/0"]
    assert sorted((r["from_port"], r["security_group_id"].split(".")[1]) for r in open_egress) == sorted([
        (443, _group_key(synthesized, stack, "app")), (443, _group_key(synthesized, stack, "gateway"))])


def test_default_security_group_is_closed(synthesized):
    default = synthesized.one(PROD, "aws_default_security_group")
    assert default["ingress"] == [] and default["egress"] == []


# --- load balancer ------------------------------------------------------------------------------

def test_alb_is_public_with_long_idle_timeout_and_logs(synthesized):
    alb = synthesized.one(PROD, "aws_lb", "load-balancer_")
    assert alb["internal"] is False and alb["load_balancer_type"] == "application"
    assert alb["idle_timeout"] == 300
    assert alb["drop_invalid_header_fields"] is True
    assert alb["access_logs"]["enabled"] is True
    assert all("public" in s for s in alb["subnets"])


def test_target_group_is_ip_on_8080_with_open_webui_health_check(synthesized):
    group = synthesized.one(PROD, "aws_lb_target_group", "load-balancer_")
    assert (group["port"], group["protocol"], group["target_type"]) == (8080, "HTTP", "ip")
    assert group["health_check"]["path"] == "/health"
    assert group["health_check"]["matcher"] == "200"


def test_https_listener_with_certificate_and_http_redirect_when_domain_is_set(synthesized):
    listeners = {k: v for k, v in synthesized.resources(PROD, "aws_lb_listener").items() if k.startswith("load-balancer_")}
    by_port = {v["port"]: v for v in listeners.values()}
    assert set(by_port) == {80, 443}
    https = by_port[443]
    assert https["protocol"] == "HTTPS"
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert "aws_acm_certificate_validation" in https["certificate_arn"]
    assert https["default_action"][0]["type"] == "forward"
    redirect = by_port[80]["default_action"][0]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}
    certificate = synthesized.one(PROD, "aws_acm_certificate")
    assert certificate["domain_name"] == "chat.ajudadigital.tl" and certificate["validation_method"] == "DNS"


def test_without_domain_the_alb_serves_http_only(synthesized):
    listeners = [v for k, v in synthesized.resources("ajuda-local", "aws_lb_listener").items() if k.startswith("load-balancer_")]
    assert [(li["port"], li["default_action"][0]["type"]) for li in listeners] == [(80, "forward")]
    assert not synthesized.resources("ajuda-local", "aws_acm_certificate")


# --- ECS ----------------------------------------------------------------------------------------

def test_prod_service_matches_the_reference(synthesized):
    cluster = synthesized.one(PROD, "aws_ecs_cluster")
    assert cluster["name"] == "open-webui-cluster"
    service = synthesized.one(PROD, "aws_ecs_service", "service_")
    assert service["name"] == "open-webui-service"
    assert service["desired_count"] == 2
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert service["health_check_grace_period_seconds"] >= 180
    assert service["capacity_provider_strategy"] == [{"capacity_provider": "FARGATE", "weight": 1}]
    network = service["network_configuration"]
    assert network["assign_public_ip"] is False and all("app" in s for s in network["subnets"])
    assert service["load_balancer"][0]["container_port"] == 8080
    assert service["lifecycle"]["ignore_changes"] == ["desired_count", "task_definition"]


def test_prod_task_definition_size_port_and_logs(synthesized):
    task = synthesized.one(PROD, "aws_ecs_task_definition", "service_task")
    assert (task["cpu"], task["memory"]) == ("1024", "2048")
    assert task["requires_compatibilities"] == ["FARGATE"] and task["network_mode"] == "awsvpc"
    assert task["execution_role_arn"] != task["task_role_arn"]
    spec = container(synthesized, PROD)
    assert spec["portMappings"][0]["containerPort"] == 8080
    options = spec["logConfiguration"]["options"]
    assert options["awslogs-group"] == "/ecs/open-webui"
    log_group = next(v for v in synthesized.resources(PROD, "aws_cloudwatch_log_group").values() if v["name"] == "/ecs/open-webui")
    assert log_group["retention_in_days"] == 365 and log_group["kms_key_id"]


@pytest.mark.parametrize("stack", [PROD, DEV, "ajuda-staging", "ajuda-local"])
def test_image_is_a_pinned_release_from_the_registry(synthesized, stack):
    image = container(synthesized, stack)["image"]
    repository, _, tag = image.rpartition(":")
    assert "aws_ecr_repository" in repository
    # The tag is reviewed configuration (tests/unit/test_releases.py), never a Terraform variable.
    assert re.fullmatch(r"v\d+\.\d+\.\d+", tag)
    assert "variable" not in synthesized.stack(stack)


def test_autoscaling_on_cpu_and_requests(synthesized):
    target = synthesized.one(PROD, "aws_appautoscaling_target")
    assert (target["min_capacity"], target["max_capacity"]) == (2, 6)
    policies = synthesized.resources(PROD, "aws_appautoscaling_policy").values()
    metrics = sorted(p["target_tracking_scaling_policy_configuration"]["predefined_metric_specification"]["predefined_metric_type"]
                     for p in policies)
    assert metrics == ["ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"]


# --- IAM ----------------------------------------------------------------------------------------

def _role_policy(synthesized, stack: str, name: str) -> dict:
    return policy_document(next(v for v in synthesized.resources(stack, "aws_iam_role_policy").values()
                                if v["name"] == name)["policy"])


def test_task_role_reaches_only_the_documents_bucket(synthesized):
    document = _role_policy(synthesized, PROD, "open-webui-runtime")
    resources = [r for s in document["Statement"] for r in s["Resource"]]
    assert all("storage_documents_bucket" in r or "aws_kms_key" in r for r in resources), resources
    actions = {a for s in document["Statement"] for a in s["Action"]}
    assert actions <= {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                       "kms:Decrypt", "kms:GenerateDataKey"}


def test_execution_role_pulls_one_repository_and_reads_only_task_secrets(synthesized):
    document = _role_policy(synthesized, PROD, "start-open-webui-task")
    statements = {s["Sid"]: s for s in document["Statement"]}
    pull = statements["EcrPull"]["Resource"]
    assert len(pull) == 1 and re.fullmatch(r"\$\{aws_ecr_repository\.[^.]+\.arn\}", pull[0])
    assert statements["EcrLogin"]["Action"] == ["ecr:GetAuthorizationToken"]
    secret_resources = statements["ReadTaskSecrets"]["Resource"]
    assert secret_resources and all("aws_secretsmanager_secret." in r for r in secret_resources)
    used = {re.match(r"\$\{(aws_secretsmanager_secret\.[^.]+)\.arn\}", v).group(1) for v in
            (s["valueFrom"] for s in container(synthesized, PROD)["secrets"])
            if re.match(r"\$\{(aws_secretsmanager_secret\.[^.]+)\.arn\}", v)}
    allowed = {re.match(r"\$\{(aws_secretsmanager_secret\.[^.]+)\.arn\}", r).group(1) for r in secret_resources}
    assert used and used == allowed


# --- RDS ----------------------------------------------------------------------------------------

def test_prod_database_matches_the_reference(synthesized):
    db = synthesized.one(PROD, "aws_db_instance")
    # Major version only (auto minor upgrades on): test_engine_version_drift.py says why.
    assert db["engine"] == "postgres" and db["engine_version"] == "16"
    assert db["instance_class"] == "db.r7g.large"
    assert db["multi_az"] is True
    assert (db["allocated_storage"], db["storage_type"]) == (200, "gp3")
    # 3,000 IOPS is gp3's fixed baseline under 400 GB; RDS rejects an explicit value there.
    assert "iops" not in db
    assert db["storage_encrypted"] is True and db["kms_key_id"]
    assert db["manage_master_user_password"] is True and "password" not in db
    assert db["deletion_protection"] is True
    assert db["skip_final_snapshot"] is False and db["final_snapshot_identifier"]
    assert db["backup_retention_period"] >= 7
    assert db["publicly_accessible"] is False
    subnet_group = synthesized.one(PROD, "aws_db_subnet_group")
    assert all("database" in s for s in subnet_group["subnet_ids"])
    parameters = synthesized.one(PROD, "aws_db_parameter_group")
    assert parameters["family"] == "postgres16"
    values = {p["name"]: p["value"] for p in parameters["parameter"]}
    assert values["rds.force_ssl"] == "1"
    assert "aws_db_parameter_group" in db["parameter_group_name"]


def test_dev_database_is_small_single_az_and_disposable(synthesized):
    db = synthesized.one(DEV, "aws_db_instance")
    assert db["instance_class"] == "db.t4g.medium"
    assert db["multi_az"] is False
    assert db["deletion_protection"] is False and db["skip_final_snapshot"] is True


def test_dev_is_cheaper_than_prod(synthesized):
    service = synthesized.one(DEV, "aws_ecs_service", "service_")
    assert service["desired_count"] == 1
    assert service["capacity_provider_strategy"] == [{"capacity_provider": "FARGATE_SPOT", "weight": 1}]
    assert synthesized.one(DEV, "aws_ecs_cluster")["name"] == "open-webui-cluster-dev"
    assert synthesized.one(DEV, "aws_lb", "load-balancer_")["enable_deletion_protection"] is False


# --- S3 and ECR -----------------------------------------------------------------------------------

def test_documents_bucket_is_private_encrypted_versioned_and_tls_only(synthesized):
    buckets = {v["bucket"]: k for k, v in synthesized.resources(PROD, "aws_s3_bucket").items()}
    assert "openwebui-ajudadigital" in buckets
    key = buckets["openwebui-ajudadigital"]
    def for_bucket(resource_type):
        return next(v for v in synthesized.resources(PROD, resource_type).values() if key in v["bucket"])
    block = for_bucket("aws_s3_bucket_public_access_block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    assert for_bucket("aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
    sse = for_bucket("aws_s3_bucket_server_side_encryption_configuration")["rule"][0]["apply_server_side_encryption_by_default"]
    assert sse["sse_algorithm"] == "aws:kms"
    statements = policy_document(for_bucket("aws_s3_bucket_policy")["policy"])["Statement"]
    deny = next(s for s in statements if s["Sid"] == "DenyInsecureTransport")
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert for_bucket("aws_s3_bucket_logging")["target_prefix"].startswith("s3-access/")


def test_ecr_repository_is_immutable_scanned_and_pruned(synthesized):
    repository = synthesized.one(PROD, "aws_ecr_repository", "registry_")
    assert repository["name"] == "ajuda-digital"
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"]["scan_on_push"] is True
    rules = json.loads(synthesized.one(PROD, "aws_ecr_lifecycle_policy", "registry_")["policy"])["rules"]
    assert {r["selection"]["tagStatus"] for r in rules} == {"untagged", "any"}


# --- outputs and tags ----------------------------------------------------------------------------

@pytest.mark.parametrize("stack", [PROD, DEV])
def test_outputs_for_operators(synthesized, stack):
    outputs = synthesized.stack(stack)["output"]
    for name in ("alb_dns_name", "url", "ecr_repository_url", "db_endpoint", "documents_bucket", "cluster_name", "service_name"):
        assert name in outputs, name
    assert outputs["url"]["value"] == ("https://chat.ajudadigital.tl" if stack == PROD else "https://dev.chat.ajudadigital.tl")


def test_default_tags_reach_every_aws_resource(synthesized):
    """Every aws_* resource of every stack is managed by an AWS provider block that carries the default
    tags, and none overrides them with a resource-level tag of the same key."""
    failures, resources = [], 0
    for name, stack in synthesized.stacks.items():
        tagged = {}
        for provider in stack["provider"]["aws"]:
            tags = provider["default_tags"][0]["tags"]
            tagged[f"aws.{provider['alias']}" if "alias" in provider else "aws"] = tags
            if tags["project"] != "ajuda-digital" or tags["managed-by"] != "cdktf" or \
                    not (tags["environment"] in name or name.endswith("bootstrap") or name == "ci-access"):
                failures.append(f"{name}: provider {provider.get('alias', 'default')} tags {tags}")
        for resource_type, items in stack.get("resource", {}).items():
            if not resource_type.startswith("aws_"):
                continue
            for logical_id, body in items.items():
                resources += 1
                provider_tags = tagged.get(body.get("provider", "aws"))
                if provider_tags is None:
                    failures.append(f"{name} {resource_type}.{logical_id}: provider {body.get('provider')} has no default tags")
                    continue
                own = body.get("tags") if isinstance(body.get("tags"), dict) else {}
                overridden = {k: v for k, v in own.items() if k in provider_tags and v != provider_tags[k]}
                if overridden:
                    failures.append(f"{name} {resource_type}.{logical_id}: overrides default tags {overridden}")
    assert resources > 100, f"only {resources} aws resources seen: the scan proves nothing"
    assert not failures, "\n".join(failures)


def test_every_environment_synthesizes_its_stacks(synthesized):
    assert set(synthesized.stacks) >= {"bootstrap", "local-bootstrap", "ajuda-dev", "ajuda-staging", "ajuda-prod", "ajuda-local",
                                       "ajuda-dev-database", "ajuda-staging-database", "ajuda-prod-database"}
