"""Bootstrap stack (state bucket + lock table) and the S3 backend of every other stack."""

from __future__ import annotations

import json

import pytest


def test_state_bucket_is_versioned_encrypted_private_and_tls_only(synthesized):
    bucket = synthesized.one("bootstrap", "aws_s3_bucket")
    assert bucket["bucket"] == "ajuda-digital-terraform-state" and bucket["force_destroy"] is False
    assert synthesized.one("bootstrap", "aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
    sse = synthesized.one("bootstrap", "aws_s3_bucket_server_side_encryption_configuration")
    assert sse["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    block = synthesized.one("bootstrap", "aws_s3_bucket_public_access_block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                          "restrict_public_buckets"))
    statements = json.loads(synthesized.one("bootstrap", "aws_s3_bucket_policy")["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["DenyInsecureTransport"]


def test_lock_table(synthesized):
    table = synthesized.one("bootstrap", "aws_dynamodb_table")
    assert table["name"] == "ajuda-digital-terraform-locks"
    assert table["hash_key"] == "LockID" and table["attribute"] == [{"name": "LockID", "type": "S"}]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"] == {"enabled": True}


def test_bootstrap_keeps_its_own_state_locally(synthesized):
    backend = synthesized.stack("bootstrap")["terraform"]["backend"]
    assert list(backend) == ["local"] and backend["local"]["path"].endswith("bootstrap.tfstate")


@pytest.mark.parametrize("stack", ["ajuda-dev", "ajuda-staging", "ajuda-prod", "ajuda-prod-database"])
def test_stacks_keep_state_in_the_bucket_with_a_lock(synthesized, stack):
    backend = synthesized.stack(stack)["terraform"]["backend"]["s3"]
    assert backend == {"bucket": "ajuda-digital-terraform-state", "key": f"ajuda-digital/{stack}.tfstate",
                       "region": "us-east-1", "dynamodb_table": "ajuda-digital-terraform-locks", "encrypt": True,
                       "kms_key_id": "alias/ajuda-digital-terraform-state"}


def test_local_target_points_provider_and_backend_at_the_emulator(synthesized):
    backend = synthesized.stack("ajuda-local")["terraform"]["backend"]["s3"]
    assert backend["bucket"] == "ajuda-digital-local-state" and backend["use_path_style"] is True
    endpoints = backend["endpoints"]
    assert set(endpoints) == {"s3", "dynamodb", "sts", "iam"}
    assert all(value.startswith("http://127.0.0.1:") for value in endpoints.values())
    provider = synthesized.stack("ajuda-local")["provider"]["aws"][0]
    assert provider["skip_credentials_validation"] is True
    provider_endpoints = provider["endpoints"][0]
    assert {"ec2", "ecs", "rds", "s3", "elbv2", "secretsmanager"} <= set(provider_endpoints)
    assert set(provider_endpoints.values()) == {endpoints["s3"]}
    # The real environments never carry emulator settings.
    assert "endpoints" not in synthesized.stack("ajuda-prod")["provider"]["aws"][0]


# Which provider endpoint each resource or data source type calls (longest prefix wins). A type
# missing here fails the test below: a new AWS service must get an emulator endpoint, or the
# local deploy would call the real AWS API.
SERVICE_OF_TYPE_PREFIX = {
    "aws_acm_": "acm", "aws_appautoscaling_": "appautoscaling", "aws_backup_": "backup", "aws_caller_identity": "sts",
    "aws_cloudwatch_dashboard": "cloudwatch", "aws_cloudwatch_metric_alarm": "cloudwatch",
    "aws_cloudwatch_log_": "logs", "aws_db_": "rds", "aws_dynamodb_": "dynamodb", "aws_ecr_": "ecr",
    "aws_ecs_": "ecs", "aws_elasticache_": "elasticache", "aws_iam_": "iam", "aws_kms_": "kms",
    "aws_lb": "elbv2", "aws_route53_": "route53", "aws_s3_": "s3", "aws_secretsmanager_": "secretsmanager",
    "aws_sns_": "sns", "aws_wafv2_": "wafv2",
    # EC2's API family: VPC, subnets, routes, gateways, addresses, security groups, flow logs.
    "aws_vpc": "ec2", "aws_subnet": "ec2", "aws_route": "ec2", "aws_internet_gateway": "ec2",
    "aws_nat_gateway": "ec2", "aws_eip": "ec2", "aws_security_group": "ec2", "aws_default_security_group": "ec2",
    "aws_flow_log": "ec2",
}


def _service_of(resource_type: str) -> str | None:
    matches = [prefix for prefix in SERVICE_OF_TYPE_PREFIX if resource_type.startswith(prefix)]
    return SERVICE_OF_TYPE_PREFIX[max(matches, key=len)] if matches else None


@pytest.mark.parametrize("stack", ["ajuda-local", "local-bootstrap"])
def test_every_api_the_emulator_stacks_call_is_routed_to_the_emulator(synthesized, stack):
    document = synthesized.stack(stack)
    endpoints = document["provider"]["aws"][0]["endpoints"][0]
    types = set(document.get("resource", {})) | set(document.get("data", {}))
    services = {resource_type: _service_of(resource_type) for resource_type in types}
    assert not [t for t, service in services.items() if service is None], "map these types to a service"
    assert not {t: s for t, s in services.items() if s not in endpoints}, "these would call the real AWS API"
    assert all(url.startswith("http://127.0.0.1:") for url in endpoints.values())
