"""WAFv2 web ACL on the load balancer: AWS managed rule groups and a per-IP rate limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.wafv2_web_acl import Wafv2WebAcl, Wafv2WebAclRule
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)
from constructs import Construct

from modules import checkov, log_group

# Count-only would be safer at first, but these groups have few false positives on a chat UI.
# KnownBadInputs carries the Log4j rule (CKV2_AWS_76, skipped on the balancer below).
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                       "AWSManagedRulesAmazonIpReputationList")
# Uploads of documents exceed the common rule set's 8 KB body limit; the app enforces its own limits.
BODY_SIZE_RULE = "SizeRestrictions_BODY"
# Headers that carry credentials (Open WebUI's session cookie "token", "Authorization: Bearer").
REDACTED_HEADERS = ("cookie", "authorization")


@dataclass(frozen=True)
class WebAclProps:
    name: str
    load_balancer: Lb
    rate_limit_per_5_minutes: int
    log_retention_days: int
    kms_key_arn: str


def unprotected(load_balancer: Lb) -> None:
    """Record on a public balancer that no web ACL guards it, by configuration."""
    checkov.skip(load_balancer, "CKV2_AWS_28", "WAF switched off by configuration for this environment")


def _visibility(metric: str) -> dict[str, object]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


class WebAcl(Construct):
    def __init__(self, scope: Construct, id: str, props: WebAclProps) -> None:
        super().__init__(scope, id)
        rules = [Wafv2WebAclRule(
            name="rate-limit-per-ip", priority=0, action={"block": {}},
            statement={"rate_based_statement": {"limit": props.rate_limit_per_5_minutes, "aggregate_key_type": "IP"}},
            visibility_config=_visibility(f"{props.name}-rate-limit"),
        )]
        for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
            statement: dict[str, Any] = {"vendor_name": "AWS", "name": group}
            if group == "AWSManagedRulesCommonRuleSet":
                statement["rule_action_override"] = [{"name": BODY_SIZE_RULE, "action_to_use": {"count": {}}}]
            rules.append(Wafv2WebAclRule(name=group, priority=priority, override_action={"none": {}},
                                         statement={"managed_rule_group_statement": statement},
                                         visibility_config=_visibility(f"{props.name}-{group}")))
        acl = Wafv2WebAcl(self, "acl", name=f"{props.name}-web", scope="REGIONAL", default_action={"allow": {}},
                          rule=rules, visibility_config=_visibility(f"{props.name}-web"))
        Wafv2WebAclAssociation(self, "association", resource_arn=props.load_balancer.arn, web_acl_arn=acl.arn)
        checkov.skip(props.load_balancer, "CKV2_AWS_76", "The web ACL's AWSManagedRulesKnownBadInputsRuleSet holds the "
                     "Log4j rule; the check also wants AnonymousIpList, unrelated to Log4j, which would block VPN and "
                     "Tor users")
        # WAF requires its log group's name to start with aws-waf-logs-.
        logs = log_group.encrypted_log_group(self, "logs", name=f"aws-waf-logs-{props.name}",
                                             retention_days=props.log_retention_days, kms_key_arn=props.kms_key_arn,
                                             what="WAF logs", setting="operations.waf_log_retention_days")
        # Session cookies and bearer tokens would otherwise sit in the WAF logs for the retention period.
        Wafv2WebAclLoggingConfiguration(self, "logging", resource_arn=acl.arn, log_destination_configs=[logs.arn],
                                        redacted_fields=[Wafv2WebAclLoggingConfigurationRedactedFields(
                                            single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(
                                                name=header)) for header in REDACTED_HEADERS])
        self.arn = acl.arn
