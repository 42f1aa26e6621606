"""modules/load_balancer.py and modules/waf.py on their own: HTTP-only and HTTPS balancers, with and without a web ACL."""

from __future__ import annotations

import pytest
from constructs import Construct

from modules import waf
from modules.firewall import HTTP_PORT, HTTPS_PORT
from modules.load_balancer import LoadBalancer, LoadBalancerProps
from modules.waf import WebAcl, WebAclProps
from tests.unit.constructs.conftest import CLIENT_GROUP, KMS_KEY_ARN, SUBNETS, VPC_ID, Resources, checkov_skips, synth


def _props(domain_name: str | None) -> LoadBalancerProps:
    return LoadBalancerProps(name="edge", vpc_id=VPC_ID, subnet_ids=SUBNETS, target_security_group_id=CLIENT_GROUP,
                             target_port=8080, health_check_path="/health", log_bucket="edge-logs", log_prefix="alb",
                             deletion_protection=False, domain_name=domain_name,
                             hosted_zone_id="Z0EDGE" if domain_name else None)


@pytest.fixture(scope="module")
def http_only() -> Resources:
    """No domain, no web ACL: what dev looks like."""
    def build(stack: Construct) -> None:
        balancer = LoadBalancer(stack, "load-balancer", _props(None))
        waf.unprotected(balancer.lb)
    return synth(build)


@pytest.fixture(scope="module")
def https_with_acl() -> Resources:
    def build(stack: Construct) -> None:
        balancer = LoadBalancer(stack, "load-balancer", _props("chat.example.tl"))
        WebAcl(stack, "waf", WebAclProps(name="edge", load_balancer=balancer.lb, rate_limit_per_5_minutes=100,
                                         log_retention_days=30, kms_key_arn=KMS_KEY_ARN))
    return synth(build)


def _internet_ports(resources: Resources) -> set[int]:
    return {r["from_port"] for r in resources.where("aws_vpc_security_group_ingress_rule", cidr_ipv4="0.0.0.0/0")}


def test_http_only_balancer_opens_port_80_alone_and_forwards_it(http_only: Resources) -> None:
    """Without a certificate there is no HTTPS listener (ELB User Guide, "Create an HTTPS listener",
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/create-https-listener.html:
    an HTTPS listener needs a server certificate)."""
    assert _internet_ports(http_only) == {HTTP_PORT}
    (listener,) = http_only.of_type("aws_lb_listener")
    assert listener["port"] == HTTP_PORT and listener["default_action"][0]["type"] == "forward"
    assert http_only.of_type("aws_acm_certificate") == []


def test_https_balancer_redirects_80_and_serves_443_with_tls12_or_later(https_with_acl: Resources) -> None:
    """ELB User Guide, "Security policies for your Application Load Balancer",
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html:
    ELBSecurityPolicy-TLS13-1-2-2021-06 admits TLS 1.2 and 1.3 only."""
    assert _internet_ports(https_with_acl) == {HTTP_PORT, HTTPS_PORT}
    http = https_with_acl.one("aws_lb_listener", port=HTTP_PORT)
    assert http["default_action"][0]["redirect"] == {"port": str(HTTPS_PORT), "protocol": "HTTPS",
                                                     "status_code": "HTTP_301"}
    https = https_with_acl.one("aws_lb_listener", port=HTTPS_PORT)
    assert https["protocol"] == "HTTPS" and https["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"


def test_port_80_skip_sits_on_the_port_80_rule_only(http_only: Resources, https_with_acl: Resources) -> None:
    for resources in (http_only, https_with_acl):
        rules = resources.where("aws_vpc_security_group_ingress_rule", cidr_ipv4="0.0.0.0/0")
        skipped = {r["from_port"] for r in rules if "CKV_AWS_260" in checkov_skips(r)}
        assert skipped == {HTTP_PORT}


def test_waf_skips_travel_with_the_web_acl_decision(http_only: Resources, https_with_acl: Resources) -> None:
    """A public balancer without a web ACL says so (CKV2_AWS_28); with one, the Log4j check is
    answered by the ACL's KnownBadInputs group (AWS WAF Developer Guide, "Known bad inputs managed
    rule group", https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html)."""
    (bare,) = http_only.of_type("aws_lb")
    (guarded,) = https_with_acl.of_type("aws_lb")
    assert "CKV2_AWS_28" in checkov_skips(bare) and "CKV2_AWS_76" not in checkov_skips(bare)
    assert "CKV2_AWS_76" in checkov_skips(guarded) and "CKV2_AWS_28" not in checkov_skips(guarded)
    (association,) = https_with_acl.of_type("aws_wafv2_web_acl_association")
    assert association["resource_arn"] == f"${{{https_with_acl.address('aws_lb', guarded)}.arn}}"


def test_waf_log_group_name_and_retention(https_with_acl: Resources) -> None:
    """AWS WAF Developer Guide, "Sending web ACL traffic logs to an Amazon CloudWatch Logs log group",
    https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html: the log group's name
    must start with aws-waf-logs-."""
    (group,) = https_with_acl.of_type("aws_cloudwatch_log_group")
    assert group["name"] == "aws-waf-logs-edge" and group["retention_in_days"] == 30
    assert "operations.waf_log_retention_days" in " ".join(group["//"]["checkov"])


def test_target_group_checks_the_liveness_path_on_the_target_port(http_only: Resources) -> None:
    (targets,) = http_only.of_type("aws_lb_target_group")
    assert targets["port"] == 8080 and targets["health_check"]["path"] == "/health"
    to_app = http_only.one("aws_vpc_security_group_ingress_rule", security_group_id=CLIENT_GROUP)
    assert to_app["from_port"] == to_app["to_port"] == 8080
