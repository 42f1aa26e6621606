"""VPC over two availability zones: public (ALB, NAT), app (ECS, Redis) and database subnets."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from config.model import NetworkConfig
from modules import checkov, policy


@dataclass(frozen=True)
class NetworkProps:
    config: NetworkConfig
    name: str
    region: str
    account_id: str
    kms_key_arn: str


class Network(Construct):
    """Exposes ``vpc_id`` and the subnet ids of each tier, in availability-zone order."""

    def __init__(self, scope: Construct, id: str, props: NetworkProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        zones = [f"{props.region}{suffix}" for suffix in cfg.availability_zone_suffixes]
        vpc = Vpc(self, "vpc", cidr_block=cfg.vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True,
                  tags={"Name": props.name})
        self.vpc_id = vpc.id
        # The default group is attached to anything created without a group: make it deny everything.
        DefaultSecurityGroup(self, "default-security-group", vpc_id=vpc.id, ingress=[], egress=[],
                             tags={"Name": f"{props.name}-default-closed"})

        igw = InternetGateway(self, "igw", vpc_id=vpc.id, tags={"Name": props.name})
        public_routes = RouteTable(self, "public-routes", vpc_id=vpc.id, tags={"Name": f"{props.name}-public"})
        Route(self, "public-default", route_table_id=public_routes.id, destination_cidr_block="0.0.0.0/0",
              gateway_id=igw.id)

        public = self._subnets("public", cfg.public_subnet_cidrs, zones, vpc.id, props.name)
        app = self._subnets("app", cfg.app_subnet_cidrs, zones, vpc.id, props.name)
        database = self._subnets("database", cfg.database_subnet_cidrs, zones, vpc.id, props.name)
        for index, subnet in enumerate(public):
            RouteTableAssociation(self, f"public-{index}-routes", subnet_id=subnet.id, route_table_id=public_routes.id)

        nat_count = len(zones) if cfg.nat_gateway_per_az else 1
        nat_gateways = []
        for index in range(nat_count):
            eip = Eip(self, f"nat-{index}-ip", domain="vpc", tags={"Name": f"{props.name}-nat-{index}"})
            nat_gateways.append(NatGateway(self, f"nat-{index}", allocation_id=eip.id, subnet_id=public[index].id,
                                           tags={"Name": f"{props.name}-nat-{index}"}, depends_on=[igw]))

        # One private route table per zone: with a NAT gateway per zone, a zone's outage stays local.
        for index, zone in enumerate(zones):
            routes = RouteTable(self, f"private-{index}-routes", vpc_id=vpc.id, tags={"Name": f"{props.name}-private-{zone}"})
            Route(self, f"private-{index}-default", route_table_id=routes.id, destination_cidr_block="0.0.0.0/0",
                  nat_gateway_id=nat_gateways[index % nat_count].id)
            RouteTableAssociation(self, f"app-{index}-routes", subnet_id=app[index].id, route_table_id=routes.id)
            # The database tier has no route to the internet at all: it gets the VPC's local route only.
        database_routes = RouteTable(self, "database-routes", vpc_id=vpc.id, tags={"Name": f"{props.name}-database"})
        for index, subnet in enumerate(database):
            RouteTableAssociation(self, f"database-{index}-routes", subnet_id=subnet.id, route_table_id=database_routes.id)

        self.public_subnet_ids = [s.id for s in public]
        self.app_subnet_ids = [s.id for s in app]
        self.database_subnet_ids = [s.id for s in database]
        if cfg.flow_logs:
            self._flow_logs(props, vpc.id)

    def _subnets(self, tier: str, cidrs: tuple[str, ...], zones: list[str], vpc_id: str, name: str) -> list[Subnet]:
        return [
            Subnet(self, f"{tier}-{index}", vpc_id=vpc_id, cidr_block=cidr, availability_zone=zone,
                   map_public_ip_on_launch=False, tags={"Name": f"{name}-{tier}-{zone}", "Tier": tier})
            for index, (cidr, zone) in enumerate(zip(cidrs, zones, strict=True))
        ]

    def _flow_logs(self, props: NetworkProps, vpc_id: str) -> None:
        log_group = CloudwatchLogGroup(self, "flow-log-group", name=f"/vpc/{props.name}/flow-logs",
                                       retention_in_days=props.config.flow_log_retention_days, kms_key_id=props.kms_key_arn)
        if props.config.flow_log_retention_days < 365:
            checkov.skip(log_group, "CKV_AWS_338", f"Flow logs kept {props.config.flow_log_retention_days} days by "
                         "configuration (network.flow_log_retention_days)")
        role = IamRole(self, "flow-log-role", name=f"{props.name}-flow-logs",
                       assume_role_policy=policy.assume_role_policy("vpc-flow-logs.amazonaws.com",
                                                                    source_account=props.account_id))
        IamRolePolicy(self, "flow-log-policy", role=role.id, name="write-flow-logs", policy=policy.document(
            policy.statement("WriteFlowLogs", ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                             [log_group.arn, f"{log_group.arn}:*"]),
        ))
        FlowLog(self, "flow-log", vpc_id=vpc_id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                log_destination=log_group.arn, iam_role_arn=role.arn, max_aggregation_interval=60)
