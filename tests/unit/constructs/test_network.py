"""modules/network.py on its own: one NAT gateway for both zones, and no flow logs."""

from __future__ import annotations

import pytest

from config.model import NetworkConfig
from modules.network import Network, NetworkProps
from tests.unit.constructs.conftest import ACCOUNT, KMS_KEY_ARN, REGION, Resources, synth

CIDRS = {"public_subnet_cidrs": ("10.9.0.0/24", "10.9.1.0/24"), "app_subnet_cidrs": ("10.9.10.0/24", "10.9.11.0/24"),
         "database_subnet_cidrs": ("10.9.20.0/24", "10.9.21.0/24")}


def _network(**settings: object) -> Resources:
    config = NetworkConfig(vpc_cidr="10.9.0.0/16", **CIDRS, **settings)  # type: ignore[arg-type]
    return synth(lambda stack: Network(stack, "network", NetworkProps(
        config=config, name="edge", region=REGION, account_id=ACCOUNT, kms_key_arn=KMS_KEY_ARN)))


@pytest.fixture(scope="module")
def single_nat() -> Resources:
    return _network(nat_gateway_per_az=False, flow_logs=False)


@pytest.fixture(scope="module")
def nat_per_zone() -> Resources:
    return _network(nat_gateway_per_az=True, flow_logs=True)


def test_single_nat_gateway_serves_both_zones_from_the_first_public_subnet(single_nat: Resources) -> None:
    """With one NAT gateway, both private route tables send their default route through it, and it
    sits in a public subnet (Amazon VPC User Guide, "NAT gateways",
    https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html: a public NAT gateway is
    created in a public subnet)."""
    (nat,) = single_nat.of_type("aws_nat_gateway")
    nat_ref = f"${{{single_nat.address('aws_nat_gateway', nat)}.id}}"
    private = [r for r in single_nat.of_type("aws_route") if "nat_gateway_id" in r]
    assert len(private) == 2 and {r["nat_gateway_id"] for r in private} == {nat_ref}
    first_public = single_nat.one("aws_subnet", cidr_block=CIDRS["public_subnet_cidrs"][0])
    assert nat["subnet_id"] == f"${{{single_nat.address('aws_subnet', first_public)}.id}}"
    assert len(single_nat.of_type("aws_eip")) == 1


def test_nat_gateway_per_zone_keeps_each_zone_on_its_own(nat_per_zone: Resources) -> None:
    """One NAT gateway per zone, each zone's private routes through its own (Amazon VPC User Guide,
    "NAT gateways", https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html: for
    zone-independence, create a NAT gateway in each Availability Zone)."""
    gateways = nat_per_zone.of_type("aws_nat_gateway")
    refs = {f"${{{nat_per_zone.address('aws_nat_gateway', g)}.id}}" for g in gateways}
    private = [r["nat_gateway_id"] for r in nat_per_zone.of_type("aws_route") if "nat_gateway_id" in r]
    assert len(gateways) == 2 and sorted(private) == sorted(refs)


def test_flow_logs_switched_off_leave_no_log_group_or_role(single_nat: Resources, nat_per_zone: Resources) -> None:
    assert not single_nat.of_type("aws_flow_log") and not single_nat.of_type("aws_cloudwatch_log_group")
    assert not single_nat.of_type("aws_iam_role")
    (flow_log,) = nat_per_zone.of_type("aws_flow_log")
    assert flow_log["traffic_type"] == "ALL"


def test_database_subnets_have_no_route_out(single_nat: Resources) -> None:
    """The database tier's route table holds no route: only the VPC's implicit local one."""
    database_subnets = {single_nat.address("aws_subnet", s) for s in single_nat.of_type("aws_subnet")
                        if s["tags"]["Tier"] == "database"}
    tables = {a["route_table_id"] for a in single_nat.of_type("aws_route_table_association")
              if a["subnet_id"].removeprefix("${").removesuffix(".id}") in database_subnets}
    assert len(database_subnets) == 2 and len(tables) == 1
    assert not [r for r in single_nat.of_type("aws_route") if r["route_table_id"] in tables]
