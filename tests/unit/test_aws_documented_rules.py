"""AWS's documented rules that neither `terraform validate` nor the emulator (moto) enforce.

Each test names the AWS document its rule comes from. They read the synthesized JSON of every
environment (dev, staging, prod, local) and the bootstrap and database stacks; a rule that
AWS would refuse at apply time, or that silently breaks an integration (alarm e-mails, log
delivery), fails here instead of in a real account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

APP_STACKS = ["ajuda-dev", "ajuda-staging", "ajuda-prod", "ajuda-local"]
AWS_STACKS = APP_STACKS + ["bootstrap", "local-bootstrap", "ajuda-dev-database", "ajuda-staging-database",
                           "ajuda-prod-database"]
REFERENCE = re.compile(r"^\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$")


def resolve(synthesized, stack: str, reference: str) -> tuple[str, dict, str]:
    """``${type.id.attr}`` or ``${data.type.id.attr}`` -> (type, block, attr)."""
    match = REFERENCE.match(reference)
    assert match, f"not a plain Terraform reference: {reference!r}"
    is_data, rtype, rid, attr = match.groups()
    section = synthesized.stack(stack).get("data" if is_data else "resource", {})
    return rtype, section[rtype][rid], attr


def attribute_values(synthesized, stack: str, resource_type: str, attribute: str) -> list[str]:
    return [r[attribute] for r in synthesized.resources(stack, resource_type).values()
            if isinstance(r.get(attribute), str)]


# ---------------------------------------------------------------------------------------------
# Item 1: the ElastiCache AUTH token
# ---------------------------------------------------------------------------------------------

# CreateReplicationGroup, AuthToken: 16-128 printable ASCII characters; the only non-alphanumeric
# characters permitted are ! & # $ ^ < > -.
ELASTICACHE_AUTH_TOKEN = re.compile(r"[A-Za-z0-9!&#$^<>-]{16,128}")


def cache_token_generator(synthesized, stack: str) -> dict:
    """The GetRandomPassword arguments behind the replication group's auth_token, followed by reference."""
    (group,) = synthesized.resources(stack, "aws_elasticache_replication_group").values()
    rtype, version, attr = resolve(synthesized, stack, group["auth_token"])
    assert (rtype, attr) == ("aws_secretsmanager_secret_version", "secret_string")
    rtype, generator, attr = resolve(synthesized, stack, version["secret_string"])
    assert (rtype, attr) == ("aws_secretsmanager_random_password", "random_password")
    return generator


def get_random_password_arguments(generator: dict) -> dict:
    names = {"password_length": "PasswordLength", "exclude_characters": "ExcludeCharacters",
             "exclude_numbers": "ExcludeNumbers", "exclude_punctuation": "ExcludePunctuation",
             "exclude_uppercase": "ExcludeUppercase", "exclude_lowercase": "ExcludeLowercase",
             "include_space": "IncludeSpace", "require_each_included_type": "RequireEachIncludedType"}
    unknown = set(generator) - set(names) - {"//"}
    assert not unknown, f"generator arguments this test does not pass on: {unknown}"
    return {names[k]: v for k, v in generator.items() if k in names}


@pytest.mark.parametrize("stack", ["ajuda-dev", "ajuda-staging", "ajuda-prod"])
def test_generated_cache_auth_tokens_are_accepted_by_elasticache(synthesized, stack):
    """Amazon ElastiCache API Reference, "CreateReplicationGroup" (AuthToken),
    https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html

    1,000 tokens drawn from the emulator's GetRandomPassword with the synthesized generator
    arguments each satisfy the documented character set and length.
    """
    import boto3
    from moto import mock_aws

    arguments = get_random_password_arguments(cache_token_generator(synthesized, stack))
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        tokens = [client.get_random_password(**arguments)["RandomPassword"] for _ in range(1000)]
    refused = [t for t in tokens if not ELASTICACHE_AUTH_TOKEN.fullmatch(t)]
    assert not refused, f"{len(refused)} of 1000 tokens ElastiCache would refuse, e.g. {refused[0]!r}"
    assert any(set(t) & set("!&#$^<>-") for t in tokens), "the generator never uses the permitted specials"


def test_the_auth_token_rule_rejects_what_the_old_generator_produced():
    """CreateReplicationGroup (AuthToken), as above: the check itself can fail."""
    for bad in ["Tok(en)$+%#:!&*-" + "a" * 8, "short-Token1", "x" * 129, "with space aaaaaaaaaaa", 'quote"aaaaaaaaaaaaa']:
        assert not ELASTICACHE_AUTH_TOKEN.fullmatch(bad), bad


def test_integration_tier_redis_password_is_a_valid_auth_token():
    """CreateReplicationGroup (AuthToken), as above: the integration tier's stand-in token would be
    accepted by ElastiCache, so the tier never proves a password AWS refuses."""
    from tests.integration.env_contract import Credentials

    for _ in range(20):
        assert ELASTICACHE_AUTH_TOKEN.fullmatch(Credentials(app_role="openwebui_app").redis_password)


# ---------------------------------------------------------------------------------------------
# Item 2: alarms -> encrypted SNS topic
# ---------------------------------------------------------------------------------------------

def key_policy_statements(synthesized, stack: str, key_reference: str) -> list[dict]:
    rtype, key, attr = resolve(synthesized, stack, key_reference)
    assert rtype == "aws_kms_key" and attr in ("arn", "key_id", "id")
    return json.loads(key["policy"])["Statement"]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def grants(statement: dict, principal: str, actions: set[str]) -> bool:
    return (statement["Effect"] == "Allow" and principal in _as_list(statement.get("Principal", {}).get("Service", []))
            and actions <= set(_as_list(statement["Action"])))


@pytest.mark.parametrize("stack", APP_STACKS)
def test_alarm_topic_keys_let_cloudwatch_publish(synthesized, stack):
    """Amazon SNS Developer Guide, "Key management" / "Enable compatibility between event sources
    from AWS services and encrypted topics",
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services

    CloudWatch needs kms:Decrypt and kms:GenerateDataKey* on the key of every encrypted topic an
    alarm publishes to; without it every notification is dropped. Scoped by aws:SourceAccount
    (confused deputy).
    """
    topics = {ref for alarm in synthesized.resources(stack, "aws_cloudwatch_metric_alarm").values()
              for ref in alarm.get("alarm_actions", []) + alarm.get("ok_actions", [])}
    assert topics, "no alarm publishes anywhere"
    for topic_reference in topics:
        rtype, topic, _ = resolve(synthesized, stack, topic_reference)
        assert rtype == "aws_sns_topic"
        if "kms_master_key_id" not in topic:
            continue
        statements = [s for s in key_policy_statements(synthesized, stack, topic["kms_master_key_id"])
                      if grants(s, "cloudwatch.amazonaws.com", {"kms:Decrypt", "kms:GenerateDataKey*"})]
        assert statements, f"{topic['name']}: its key does not let CloudWatch use it"
        account = [s["Condition"]["StringEquals"]["aws:SourceAccount"] for s in statements
                   if "aws:SourceAccount" in s.get("Condition", {}).get("StringEquals", {})]
        assert account and account[0].startswith("${data.aws_caller_identity."), statements


# ---------------------------------------------------------------------------------------------
# Item 4 and 6: parameter groups
# ---------------------------------------------------------------------------------------------

def parameters(block: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in block.get("parameter", [])}


@pytest.mark.parametrize("stack", APP_STACKS)
def test_database_logging_never_selects_role_statements(synthesized, stack):
    """Amazon RDS User Guide, "Turning on query logging for your RDS for PostgreSQL DB instance",
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Concepts.PostgreSQL.Query_Logging.html

    Anything but log_statement = none logs CREATE/ALTER ROLE ... PASSWORD in clear text into the
    exported log; a failing statement is echoed at log_min_error_statement (default error).
    tests/integration/test_7_database_log.py proves it on a real server.
    """
    (group,) = synthesized.resources(stack, "aws_db_parameter_group").values()
    values = parameters(group)
    assert values["log_statement"] == "none"
    assert values["log_min_error_statement"] in ("fatal", "panic")


ELASTICACHE_PARAMETERS_DOC = "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html"


@pytest.mark.parametrize("stack", ["ajuda-dev", "ajuda-staging", "ajuda-prod"])
def test_cache_pubsub_buffer_holds_a_large_socketio_event(synthesized, stack):
    """Amazon ElastiCache User Guide, "Valkey and Redis OSS parameters" (client-output-buffer-limit-pubsub-*),
    https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html

    The replication group uses a parameter group of its engine's family (valkey<major>) whose pub/sub
    hard limit exceeds the 45 MB single events seen upstream (open-webui #25975, #29833), soft <= hard.
    """
    (group,) = synthesized.resources(stack, "aws_elasticache_replication_group").values()
    rtype, parameter_group, attr = resolve(synthesized, stack, group["parameter_group_name"])
    assert (rtype, attr) == ("aws_elasticache_parameter_group", "name")
    assert group["engine"] == "valkey"
    assert parameter_group["family"] == f"valkey{group['engine_version'].split('.')[0]}"
    values = parameters(parameter_group)
    hard = int(values["client-output-buffer-limit-pubsub-hard-limit"])
    soft = int(values["client-output-buffer-limit-pubsub-soft-limit"])
    assert hard >= 64 * 1024 * 1024 and 0 < soft <= hard
    assert int(values["client-output-buffer-limit-pubsub-soft-seconds"]) > 0


@pytest.mark.parametrize("stack", ["ajuda-dev", "ajuda-staging", "ajuda-prod"])
def test_cache_engine_version_is_major_minor_so_patch_upgrades_cause_no_drift(synthesized, stack):
    """Amazon ElastiCache User Guide, "Version Management for ElastiCache",
    https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/VersionManagement.html

    From Redis OSS 6 (and every Valkey version) the engine version is given as major.minor and
    ElastiCache applies patch versions itself with auto minor version upgrade; a full x.y.z would
    differ from what AWS reports after the first patch and every plan would try to undo it.
    """
    (group,) = synthesized.resources(stack, "aws_elasticache_replication_group").values()
    assert re.fullmatch(r"\d+\.\d+", group["engine_version"]), group["engine_version"]


# ---------------------------------------------------------------------------------------------
# Item 7: WAF logging
# ---------------------------------------------------------------------------------------------

def waf_stacks(synthesized) -> list[str]:
    return [s for s in APP_STACKS if synthesized.resources(s, "aws_wafv2_web_acl_logging_configuration")]


def test_waf_logs_redact_cookies_and_authorization(synthesized):
    """AWS WAF Developer Guide, "Log fields" / "Redacting fields in logs" (RedactedFields, SingleHeader),
    https://docs.aws.amazon.com/waf/latest/developerguide/logging-management.html

    Open WebUI's session cookie and bearer tokens would otherwise be stored with every request.
    """
    assert waf_stacks(synthesized), "no environment has WAF logging"
    for stack in waf_stacks(synthesized):
        for logging in synthesized.resources(stack, "aws_wafv2_web_acl_logging_configuration").values():
            redacted = {f["single_header"]["name"].lower() for f in logging.get("redacted_fields", [])
                        if "single_header" in f}
            assert {"cookie", "authorization"} <= redacted, stack


def test_waf_log_destination_name_starts_with_aws_waf_logs(synthesized):
    """AWS WAF Developer Guide, "Sending web ACL traffic logs to an Amazon CloudWatch Logs log group",
    https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html

    The log group name must start with aws-waf-logs- (and CloudWatch Logs caps names at 512).
    """
    for stack in waf_stacks(synthesized):
        for logging in synthesized.resources(stack, "aws_wafv2_web_acl_logging_configuration").values():
            for destination in logging["log_destination_configs"]:
                rtype, group, _ = resolve(synthesized, stack, destination)
                assert rtype == "aws_cloudwatch_log_group"
                assert group["name"].startswith("aws-waf-logs-") and len(group["name"]) <= 512


# ---------------------------------------------------------------------------------------------
# Service integrations: RDS log exports, flow logs, ALB logs
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", APP_STACKS)
def test_rds_log_exports_go_to_log_groups_we_own(synthesized, stack):
    """Amazon RDS User Guide, "Publishing PostgreSQL logs to Amazon CloudWatch Logs",
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Concepts.PostgreSQL.html#USER_LogAccess.Concepts.PostgreSQL.PublishtoCloudWatchLogs

    RDS writes each exported log to /aws/rds/instance/<identifier>/<log type>, creating the group
    itself (no retention, no KMS key) unless it exists. Each one is created here first, encrypted,
    with a retention, and before the instance.
    """
    for instance_id, instance in synthesized.resources(stack, "aws_db_instance").items():
        groups = {g["name"]: g for g in synthesized.resources(stack, "aws_cloudwatch_log_group").values()}
        for log_type in instance.get("enabled_cloudwatch_logs_exports", []):
            name = f"/aws/rds/instance/{instance['identifier']}/{log_type}"
            assert name in groups, f"{stack}: RDS would create {name} itself"
            assert groups[name].get("kms_key_id") and groups[name].get("retention_in_days"), name
        depends = instance.get("depends_on", [])
        assert all(any(g.startswith("aws_cloudwatch_log_group.") for g in depends) for _ in
                   instance.get("enabled_cloudwatch_logs_exports", [])), f"{stack}: instance may start exporting first"


@pytest.mark.parametrize("stack", APP_STACKS)
def test_encrypted_log_groups_keys_admit_cloudwatch_logs(synthesized, stack):
    """Amazon CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html

    The key of every encrypted log group (ECS, flow logs, WAF, RDS exports) grants logs.<region>.amazonaws.com
    and is scoped by kms:EncryptionContext:aws:logs:arn; otherwise CreateLogGroup fails.
    """
    region = synthesized.stack(stack)["provider"]["aws"][0]["region"]
    for group in synthesized.resources(stack, "aws_cloudwatch_log_group").values():
        if "kms_key_id" not in group:
            continue
        statements = [s for s in key_policy_statements(synthesized, stack, group["kms_key_id"])
                      if grants(s, f"logs.{region}.amazonaws.com", {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"})]
        assert statements and "kms:EncryptionContext:aws:logs:arn" in json.dumps(statements), group["name"]


@pytest.mark.parametrize("stack", APP_STACKS)
def test_flow_log_role_trusts_the_flow_logs_service(synthesized, stack):
    """Amazon VPC User Guide, "IAM role for publishing flow logs to CloudWatch Logs",
    https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html

    The role is assumable by vpc-flow-logs.amazonaws.com (scoped by aws:SourceAccount) and may
    CreateLogStream/PutLogEvents/DescribeLogStreams on its log group.
    """
    flow_logs = synthesized.resources(stack, "aws_flow_log").values()
    assert flow_logs
    for flow_log in flow_logs:
        _, role, _ = resolve(synthesized, stack, flow_log["iam_role_arn"])
        trust = json.loads(role["assume_role_policy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
        assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
        role_id = REFERENCE.match(flow_log["iam_role_arn"]).group(3)
        policies = [p for p in synthesized.resources(stack, "aws_iam_role_policy").values()
                    if p["role"].startswith(f"${{aws_iam_role.{role_id}.")]
        actions = {a for p in policies for s in json.loads(p["policy"])["Statement"] for a in _as_list(s["Action"])}
        assert {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"} <= actions


@pytest.mark.parametrize("stack", APP_STACKS)
def test_alb_access_log_bucket_admits_log_delivery(synthesized, stack):
    """Elastic Load Balancing, Application Load Balancers, "Enable access logs for your Application
    Load Balancer" (bucket policy), https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html

    The target bucket uses SSE-S3 (SSE-KMS is not supported) and its policy lets
    logdelivery.elasticloadbalancing.amazonaws.com (and, in regions before August 2022, the
    regional ELB account) PutObject under <prefix>/AWSLogs/<account>/. (The internal model-gateway
    balancer keeps no access logs: its checkov skip says why.)
    """
    public = [lb for lb in synthesized.resources(stack, "aws_lb").values() if not lb.get("internal")]
    assert len(public) == 1
    for lb in public:
        logs = lb["access_logs"]
        assert logs["enabled"] is True
        target = [rid for rid, r in synthesized.resources(stack, "aws_s3_bucket").items() if r["bucket"] == logs["bucket"]
                  or logs["bucket"].startswith(f"${{aws_s3_bucket.{rid}.")]
        assert len(target) == 1, logs["bucket"]
        reference = f"${{aws_s3_bucket.{target[0]}.id}}"
        (sse,) = [r for r in synthesized.resources(stack, "aws_s3_bucket_server_side_encryption_configuration").values()
                  if r["bucket"] == reference]
        assert sse["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
        (bucket_policy,) = [r for r in synthesized.resources(stack, "aws_s3_bucket_policy").values() if r["bucket"] == reference]
        statements = json.loads(bucket_policy["policy"])["Statement"]
        delivery = [s for s in statements if s["Effect"] == "Allow" and s.get("Principal") ==
                    {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"} and "s3:PutObject" in _as_list(s["Action"])]
        assert delivery and all(f"/{logs['prefix']}/AWSLogs/" in r for s in delivery for r in _as_list(s["Resource"]))


# ---------------------------------------------------------------------------------------------
# Names: lengths and character sets
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NameRule:
    pattern: str
    max_length: int
    counter_example: str  # a name the rule must refuse: the rule can fail
    extra: str | None = None  # a pattern the name must NOT match (reserved prefixes, "--", ...)

    def problems(self, name: str) -> Iterator[str]:
        if "${" in name:
            return
        if len(name) > self.max_length:
            yield f"{name!r} is longer than {self.max_length}"
        if not re.fullmatch(self.pattern, name):
            yield f"{name!r} does not match {self.pattern}"
        if self.extra and re.search(self.extra, name):
            yield f"{name!r} matches the forbidden {self.extra}"


# Letters/digits/hyphens, starts with a letter, no "--", no trailing hyphen.
_HYPHENATED = r"[A-Za-z](?:[A-Za-z0-9]|-(?!-))*(?<!-)"
RULES = {
    "iam_role": NameRule(r"[\w+=,.@-]+", 64, "x" * 65),
    "iam_role_policy": NameRule(r"[\w+=,.@-]+", 128, "bad name"),
    "alb": NameRule(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", 32, "internal-ajuda", extra=r"^internal-"),
    "target_group": NameRule(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", 32, "ajuda-production-environment-web-tg"),
    "replication_group": NameRule(_HYPHENATED, 40, "ajuda--cache"),
    "cache_name": NameRule(_HYPHENATED, 255, "cache-"),
    "rds_identifier": NameRule(_HYPHENATED, 63, "1ajuda-postgres"),
    "rds_group_name": NameRule(_HYPHENATED, 255, "ajuda--postgres16"),
    "sns_topic": NameRule(r"[A-Za-z0-9_-]+", 256, "ajuda.alarms"),
    "log_group": NameRule(r"[.\-_/#A-Za-z0-9]+", 512, "/ecs/open webui"),
    "kms_alias": NameRule(r"alias/[A-Za-z0-9/_-]+", 256, "alias/aws/ajuda", extra=r"^alias/aws/"),
    "waf_name": NameRule(r"[\w-]+", 128, "ajuda prod"),
    "s3_bucket": NameRule(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", 63, "xn--ajuda",
                          extra=r"\.\.|^\d+\.\d+\.\d+\.\d+$|^xn--|^sthree-|^amzn-s3-demo-|-s3alias$|--ol-s3$|\.mrap$|--x-s3$|--table-s3$"),
    "secret": NameRule(r"[A-Za-z0-9/_+=.@-]+", 512, "ajuda prod/secret"),
    "ecr_repository": NameRule(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", 256, "Ajuda"),
    "ecs_name": NameRule(r"[A-Za-z0-9_-]+", 255, "open.webui"),
    "security_group": NameRule(r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+", 255, "sg-ajuda", extra=r"^sg-"),
    "dynamodb_table": NameRule(r"[A-Za-z0-9_.-]{3,}", 255, "ab"),
    # PutMetricAlarm: 1-255 characters, no ASCII control characters (dots are fine).
    "alarm": NameRule(r"[^\x00-\x1f\x7f]+", 255, "x" * 256),
    # PutDashboard: only alphanumerics, dash and underscore.
    "dashboard": NameRule(r"[A-Za-z0-9_-]+", 255, "ajuda.overview"),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_name_rule_refuses_its_counter_example(rule):
    """The rules below can fail: each refuses a name its AWS document forbids."""
    assert list(RULES[rule].problems(RULES[rule].counter_example))


def assert_names(synthesized, rule: str, resource_type: str, attribute: str, prefix: str = "") -> int:
    count = 0
    for stack in AWS_STACKS:
        for name in attribute_values(synthesized, stack, resource_type, attribute):
            count += 1
            problems = list(RULES[rule].problems(name[len(prefix):] if prefix and name.startswith(prefix) else name))
            assert not problems, f"{stack} {resource_type}.{attribute}: {problems}"
    return count


def test_iam_role_and_inline_policy_names(synthesized):
    """IAM User Guide, "IAM and AWS STS quotas, name requirements, and character limits",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html

    Role names: 64 characters of [\\w+=,.@-]; inline policy names: 128.
    """
    assert assert_names(synthesized, "iam_role", "aws_iam_role", "name")
    assert assert_names(synthesized, "iam_role_policy", "aws_iam_role_policy", "name")


def test_load_balancer_and_target_group_names(synthesized):
    """Elastic Load Balancing API Reference, "CreateLoadBalancer" (Name) and "CreateTargetGroup" (Name),
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html

    At most 32 alphanumerics and hyphens, not starting or ending with a hyphen; a load balancer
    name must not start with "internal-".
    """
    assert assert_names(synthesized, "alb", "aws_lb", "name")
    assert assert_names(synthesized, "target_group", "aws_lb_target_group", "name")


def test_elasticache_names(synthesized):
    """Amazon ElastiCache API Reference, "CreateReplicationGroup" (ReplicationGroupId),
    https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
    and "CreateCacheParameterGroup" / "CreateCacheSubnetGroup".

    Replication group id: 1-40 letters, digits or hyphens, first a letter, no "--", no trailing hyphen.
    Parameter and subnet group names: the same characters, up to 255.
    """
    assert assert_names(synthesized, "replication_group", "aws_elasticache_replication_group", "replication_group_id")
    assert assert_names(synthesized, "cache_name", "aws_elasticache_parameter_group", "name")
    assert assert_names(synthesized, "cache_name", "aws_elasticache_subnet_group", "name")


def test_rds_names(synthesized):
    """Amazon RDS User Guide, "Naming constraints in Amazon RDS",
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.Constraints

    DB instance identifier: 1-63 letters, digits or hyphens, first a letter, no "--", no trailing
    hyphen; DB parameter group and subnet group names: up to 255 of the same.
    """
    assert assert_names(synthesized, "rds_identifier", "aws_db_instance", "identifier")
    assert assert_names(synthesized, "rds_group_name", "aws_db_parameter_group", "name")
    assert assert_names(synthesized, "rds_group_name", "aws_db_subnet_group", "name")


def test_sns_topic_names(synthesized):
    """Amazon SNS API Reference, "CreateTopic" (Name),
    https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html

    Up to 256 upper- and lowercase ASCII letters, numbers, underscores and hyphens.
    """
    assert assert_names(synthesized, "sns_topic", "aws_sns_topic", "name")


def test_log_group_names(synthesized):
    """Amazon CloudWatch Logs API Reference, "CreateLogGroup" (logGroupName),
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html

    1-512 characters of [.-_/#A-Za-z0-9].
    """
    assert assert_names(synthesized, "log_group", "aws_cloudwatch_log_group", "name")


def test_kms_alias_names(synthesized):
    """AWS KMS API Reference, "CreateAlias" (AliasName),
    https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html

    alias/ followed by up to 256 of [a-zA-Z0-9/_-]; the alias/aws/ prefix is reserved for AWS.
    """
    assert assert_names(synthesized, "kms_alias", "aws_kms_alias", "name")


def test_waf_names(synthesized):
    """AWS WAFV2 API Reference, "CreateWebACL" (Name),
    https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html

    1-128 characters of [\\w\\-]; rule names and metric names follow the same rule.
    """
    assert assert_names(synthesized, "waf_name", "aws_wafv2_web_acl", "name")
    for stack in AWS_STACKS:
        for acl in synthesized.resources(stack, "aws_wafv2_web_acl").values():
            names = [r["name"] for r in acl["rule"]] + [r["visibility_config"]["metric_name"] for r in acl["rule"]]
            for name in names + [acl["visibility_config"]["metric_name"]]:
                assert not list(RULES["waf_name"].problems(name)), name


def test_s3_bucket_names(synthesized):
    """Amazon S3 User Guide, "General purpose bucket naming rules",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html

    3-63 lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit,
    no "..", not an IP address, none of the reserved prefixes and suffixes.
    """
    assert assert_names(synthesized, "s3_bucket", "aws_s3_bucket", "bucket")


def test_secret_names(synthesized):
    """AWS Secrets Manager API Reference, "CreateSecret" (Name),
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html

    Up to 512 of letters, digits and /_+=.@-.
    """
    assert assert_names(synthesized, "secret", "aws_secretsmanager_secret", "name")


def test_ecr_and_ecs_names(synthesized):
    """Amazon ECR API Reference, "CreateRepository" (repositoryName),
    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
    and Amazon ECS API Reference, "CreateCluster" / "CreateService" / "RegisterTaskDefinition",
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html

    Repository: 2-256 lowercase path components; cluster, service and task family: up to 255
    letters, digits, underscores and hyphens.
    """
    assert assert_names(synthesized, "ecr_repository", "aws_ecr_repository", "name")
    assert assert_names(synthesized, "ecs_name", "aws_ecs_cluster", "name")
    assert assert_names(synthesized, "ecs_name", "aws_ecs_service", "name")
    assert assert_names(synthesized, "ecs_name", "aws_ecs_task_definition", "family")


def test_security_group_dynamodb_alarm_and_dashboard_names(synthesized):
    """Amazon EC2 API Reference, "CreateSecurityGroup" (GroupName, not "sg-"),
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html ;
    Amazon DynamoDB Developer Guide, "Supported data types and naming rules",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html ;
    Amazon CloudWatch API Reference, "PutMetricAlarm" (AlarmName) and "PutDashboard" (DashboardName),
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html
    """
    assert assert_names(synthesized, "security_group", "aws_security_group", "name")
    assert assert_names(synthesized, "dynamodb_table", "aws_dynamodb_table", "name")
    assert assert_names(synthesized, "alarm", "aws_cloudwatch_metric_alarm", "alarm_name")
    assert assert_names(synthesized, "dashboard", "aws_cloudwatch_dashboard", "dashboard_name")


# ---------------------------------------------------------------------------------------------
# Item 8: forwarded headers
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", APP_STACKS)
def test_uvicorn_trusts_forwarded_headers_only_from_the_load_balancer_subnets(synthesized, stack):
    """Elastic Load Balancing, Application Load Balancers, "Subnets for your load balancer" and
    "HTTP headers and Application Load Balancers" (X-Forwarded-For),
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html

    The ALB's nodes take their addresses from its subnets; only they may set X-Forwarded-*.
    """
    definition = synthesized.one(stack, "aws_ecs_task_definition", "service_task")
    (container,) = json.loads(definition["container_definitions"])
    environment = {e["name"]: e["value"] for e in container["environment"]}
    (lb,) = [lb for lb in synthesized.resources(stack, "aws_lb").values() if not lb.get("internal")]
    cidrs = []
    for subnet_reference in lb["subnets"]:
        rtype, subnet, _ = resolve(synthesized, stack, subnet_reference)
        assert rtype == "aws_subnet"
        cidrs.append(subnet["cidr_block"])
    assert environment["FORWARDED_ALLOW_IPS"].split(",") == cidrs


# ---------------------------------------------------------------------------------------------
# Item 9: the bootstrap stack per state backend
# ---------------------------------------------------------------------------------------------

def test_bootstrap_runs_in_its_backends_region_with_its_own_tags(synthesized):
    """Amazon S3 User Guide, "Creating a general purpose bucket" (a bucket lives in the Region it is
    created in), https://docs.aws.amazon.com/AmazonS3/latest/userguide/create-bucket-overview.html ;
    Terraform's S3 backend reads the bucket in ``state.region``.
    """
    import config

    for stack, env in [("bootstrap", config.load(["prod"], overrides_file="")[0]),
                       ("local-bootstrap", config.load(["local"], overrides_file="")[0])]:
        provider = synthesized.stack(stack)["provider"]["aws"][0]
        assert provider["region"] == env.state.region
    tags = synthesized.stack("bootstrap")["provider"]["aws"][0]["default_tags"][0]["tags"]
    assert tags["environment"] == "shared" and tags["state-of"].split() == ["dev", "staging", "prod"]


def test_one_bootstrap_per_distinct_backend_in_that_backends_region(tmp_path):
    """As above: environments with different state backends get one bootstrap each, in the backend's region."""
    from dataclasses import replace

    from cdktf import App

    import config
    from stacks.app import bootstrap_stacks
    from stacks.bootstrap import BootstrapStack

    dev, staging, prod = config.load(["dev", "staging", "prod"], overrides_file="")
    dev = replace(dev, region="eu-west-1", state=replace(dev.state, bucket="ajuda-dev-state-eu", region="eu-west-1"))
    groups = bootstrap_stacks([dev, staging, prod])
    assert {name: [e.name for e in served] for name, served in groups.items()} == {
        "bootstrap-ajuda-dev-state-eu": ["dev"], "bootstrap-ajuda-digital-terraform-state": ["staging", "prod"]}
    app = App(outdir=str(tmp_path / "out"))
    for name, served in groups.items():
        BootstrapStack(app, name, served, state_dir=str(tmp_path))
    app.synth()
    stacks = {p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "out" / "stacks").glob("*/cdk.tf.json")}
    dev_provider = stacks["bootstrap-ajuda-dev-state-eu"]["provider"]["aws"][0]
    assert dev_provider["region"] == "eu-west-1"
    assert dev_provider["default_tags"][0]["tags"]["environment"] == "dev"
    shared = stacks["bootstrap-ajuda-digital-terraform-state"]["provider"]["aws"][0]
    assert shared["region"] == "us-east-1" and shared["default_tags"][0]["tags"]["environment"] == "shared"
    (bucket,) = stacks["bootstrap-ajuda-dev-state-eu"]["resource"]["aws_s3_bucket"].values()
    assert bucket["bucket"] == "ajuda-dev-state-eu"
