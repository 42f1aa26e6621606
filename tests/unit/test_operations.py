"""Hardening and operations in the synthesized prod stack: alarms, WAF, flow logs, access logs, KMS."""

from __future__ import annotations

import json

import pytest

PROD = "ajuda-prod"

EXPECTED_ALARMS = {
    "alb-5xx": ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
    "target-5xx": ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
    "unhealthy-targets": ("AWS/ApplicationELB", "UnHealthyHostCount"),
    "response-time-p95": ("AWS/ApplicationELB", "TargetResponseTime"),
    "ecs-cpu": ("AWS/ECS", "CPUUtilization"),
    "ecs-memory": ("AWS/ECS", "MemoryUtilization"),
    "rds-cpu": ("AWS/RDS", "CPUUtilization"),
    "rds-free-storage": ("AWS/RDS", "FreeStorageSpace"),
    "rds-freeable-memory": ("AWS/RDS", "FreeableMemory"),
    "rds-connections": ("AWS/RDS", "DatabaseConnections"),
    "cache-memory": ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
    "gateway-5xx": ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
    **{f"bedrock-throttles-{model}": ("AWS/Bedrock", "InvocationThrottles")
       for model in ("nova-lite", "nova-pro", "claude-3.5-haiku", "embeddings")},
}


def _statements(policy: str) -> list[dict]:
    return json.loads(policy)["Statement"]


@pytest.mark.parametrize("key", sorted(EXPECTED_ALARMS))
def test_alarm_exists_and_notifies_the_topic(synthesized, key):
    alarms = {v["alarm_name"]: v for v in synthesized.resources(PROD, "aws_cloudwatch_metric_alarm").values()}
    alarm = alarms[f"{PROD}-{key}"]
    assert (alarm["namespace"], alarm["metric_name"]) == EXPECTED_ALARMS[key]
    assert alarm["alarm_actions"] == [f"${{{_topic(synthesized)}.arn}}"]
    assert alarm["alarm_description"] and alarm["dimensions"]


def _topic(synthesized) -> str:
    (name,) = synthesized.resources(PROD, "aws_sns_topic")
    return f"aws_sns_topic.{name}"


def test_alarm_topic_is_encrypted_and_mails_operations(synthesized):
    topic = synthesized.one(PROD, "aws_sns_topic")
    assert "aws_kms_key" in topic["kms_master_key_id"]
    subscription = synthesized.one(PROD, "aws_sns_topic_subscription")
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "ops@ajudadigital.tl")
    dashboard = json.loads(synthesized.one(PROD, "aws_cloudwatch_dashboard")["dashboard_body"])
    assert len(dashboard["widgets"]) == len(EXPECTED_ALARMS)


def test_waf_protects_the_alb_with_managed_rules_and_rate_limit(synthesized):
    acl = synthesized.one(PROD, "aws_wafv2_web_acl")
    assert acl["scope"] == "REGIONAL"
    names = {rule["name"] for rule in acl["rule"]}
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "rate-limit-per-ip"} <= names
    rate = next(rule for rule in acl["rule"] if rule["name"] == "rate-limit-per-ip")
    assert rate["statement"]["rate_based_statement"]["limit"] == 2000
    association = synthesized.one(PROD, "aws_wafv2_web_acl_association")
    assert association["resource_arn"].startswith("${aws_lb.") and "aws_wafv2_web_acl" in association["web_acl_arn"]
    assert synthesized.one(PROD, "aws_wafv2_web_acl_logging_configuration")


def test_waf_is_switchable_per_environment(synthesized):
    assert not synthesized.resources("ajuda-dev", "aws_wafv2_web_acl")
    assert synthesized.resources("ajuda-staging", "aws_wafv2_web_acl")


def test_vpc_flow_logs_go_to_an_encrypted_log_group(synthesized):
    flow = synthesized.one(PROD, "aws_flow_log")
    assert flow["traffic_type"] == "ALL" and flow["log_destination_type"] == "cloud-watch-logs"
    group = next(v for v in synthesized.resources(PROD, "aws_cloudwatch_log_group").values() if v["name"].endswith("/flow-logs"))
    assert group["kms_key_id"]


def test_alb_access_logs_and_their_bucket_policy(synthesized):
    alb = synthesized.one(PROD, "aws_lb", "load-balancer_")
    logs = alb["access_logs"]
    buckets = {k: v["bucket"] for k, v in synthesized.resources(PROD, "aws_s3_bucket").items()}
    archive_key = next(k for k, name in buckets.items() if name == "openwebui-ajudadigital-logs")
    assert logs["bucket"] == f"${{aws_s3_bucket.{archive_key}.id}}" and logs["prefix"] == "alb"
    policy = next(v for v in synthesized.resources(PROD, "aws_s3_bucket_policy").values() if archive_key in v["bucket"])
    statements = {s["Sid"]: s for s in _statements(policy["policy"])}
    assert statements["AlbAccessLogsRegionalAccount"]["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert statements["AlbAccessLogs"]["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert "/alb/AWSLogs/" in statements["AlbAccessLogs"]["Resource"]
    assert statements["S3ServerAccessLogs"]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    sse = next(v for v in synthesized.resources(PROD, "aws_s3_bucket_server_side_encryption_configuration").values()
               if archive_key in v["bucket"])
    assert sse["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"


def test_rds_hardening(synthesized):
    db = synthesized.one(PROD, "aws_db_instance")
    assert db["performance_insights_enabled"] is True and db["monitoring_interval"] == 60
    assert db["copy_tags_to_snapshot"] is True and db["auto_minor_version_upgrade"] is True
    assert db["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
    assert db["iam_database_authentication_enabled"] is True
    parameters = {p["name"]: p["value"] for p in synthesized.one(PROD, "aws_db_parameter_group")["parameter"]}
    assert parameters["log_min_duration_statement"] == "1000" and parameters["log_statement"] == "none"


def test_ecs_exec_off_and_capabilities_dropped(synthesized):
    assert synthesized.one(PROD, "aws_ecs_service", "service_")["enable_execute_command"] is False
    container = json.loads(synthesized.one(PROD, "aws_ecs_task_definition", "service_task")["container_definitions"])[0]
    assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]


def test_kms_key_rotates_and_encrypts_the_data_stores(synthesized):
    key = synthesized.one(PROD, "aws_kms_key", "encryption")
    assert key["enable_key_rotation"] is True
    assert "aws_kms_key" in synthesized.one(PROD, "aws_ecr_repository", "registry_")["encryption_configuration"][0]["kms_key"]
    for secret in synthesized.resources(PROD, "aws_secretsmanager_secret").values():
        assert "aws_kms_key" in secret["kms_key_id"]
    assert "aws_kms_key" in synthesized.one(PROD, "aws_elasticache_replication_group")["kms_key_id"]
