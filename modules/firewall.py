"""Security groups without inline rules, and the one way this project opens a port."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

HTTP_PORT = 80
HTTPS_PORT = 443


def security_group(scope: Construct, id: str, *, name: str, vpc_id: str, description: str) -> SecurityGroup:
    """A group that admits and emits nothing until rules are added with ``allow``."""
    group = SecurityGroup(scope, id, name=name, vpc_id=vpc_id, description=description,
                          revoke_rules_on_delete=True, tags={"Name": name})
    # Rules live in their own resources; an empty inline list would fight them on every plan.
    group.add_override("lifecycle", {"create_before_destroy": True})
    return group


def allow(scope: Construct, id: str, *, port: int, description: str, to_group_id: str,
          from_group_id: str | None = None, from_cidr: str | None = None) -> VpcSecurityGroupIngressRule:
    """Admit TCP ``port`` into ``to_group_id`` from a group (and the matching egress on it) or a CIDR.

    Returns the ingress rule, the resource a checkov skip about the opening belongs on."""
    if (from_group_id is None) == (from_cidr is None):
        raise ValueError("give exactly one of from_group_id and from_cidr")
    ingress = VpcSecurityGroupIngressRule(
        scope, f"{id}-ingress", security_group_id=to_group_id, ip_protocol="tcp", from_port=port, to_port=port,
        description=description, referenced_security_group_id=from_group_id, cidr_ipv4=from_cidr,
    )
    if from_group_id is not None:
        VpcSecurityGroupEgressRule(
            scope, f"{id}-egress", security_group_id=from_group_id, ip_protocol="tcp", from_port=port, to_port=port,
            description=description, referenced_security_group_id=to_group_id,
        )
    return ingress


def private_service_group(scope: Construct, *, name: str, vpc_id: str, port: int, service: str,
                          client_group_id: str) -> SecurityGroup:
    """The group of a data store that only the application's tasks may reach, on its one port."""
    group = security_group(scope, "security-group", name=name, vpc_id=vpc_id,
                           description=f"{service}: reachable only from the Open WebUI tasks")
    allow(scope, "from-app", port=port, to_group_id=group.id, from_group_id=client_group_id,
          description=f"{service} from the Open WebUI tasks")
    return group


def allow_egress_to_cidr(scope: Construct, id: str, *, group_id: str, port: int, cidr: str, description: str) -> None:
    VpcSecurityGroupEgressRule(scope, id, security_group_id=group_id, ip_protocol="tcp", from_port=port, to_port=port,
                               cidr_ipv4=cidr, description=description)
