"""ElastiCache (Valkey): Open WebUI's websocket manager and shared app state across replicas."""

from __future__ import annotations

import string
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.elasticache_parameter_group import (
    ElasticacheParameterGroup,
    ElasticacheParameterGroupParameter,
)
from cdktf_cdktf_provider_aws.elasticache_replication_group import ElasticacheReplicationGroup
from cdktf_cdktf_provider_aws.elasticache_subnet_group import ElasticacheSubnetGroup
from constructs import Construct

from config import catalog
from config.model import CacheConfig
from modules import checkov, firewall
from modules.secrets import Secret, SecretProps

REDIS_PORT = catalog.VALKEY_PORT
# ElastiCache accepts an AUTH token of 16-128 printable ASCII characters whose only non-alphanumerics
# are ! & # $ ^ < > - (CreateReplicationGroup, AuthToken); GetRandomPassword's punctuation set is
# string.punctuation, so everything else in it is excluded.
AUTH_TOKEN_SPECIAL_CHARACTERS = "!&#$^<>-"
AUTH_TOKEN_EXCLUDED_CHARACTERS = "".join(c for c in string.punctuation if c not in AUTH_TOKEN_SPECIAL_CHARACTERS)
MIB = 1024 * 1024
# Open WebUI fans every Socket.IO event out through one Valkey channel, and a single chat:completion
# event with RAG sources or accumulated tool output reaches 33-45 MB (open-webui #25975, #29833).
# The default pub/sub limit (32 MiB hard, 8 MiB for 60 s) disconnects every replica's subscriber
# on such an event and the answer is never delivered. 128 MiB holds two such events in flight;
# the soft limit still drops a subscriber that stays far behind for a minute.
PUBSUB_OUTPUT_BUFFER = {
    "client-output-buffer-limit-pubsub-hard-limit": str(128 * MIB),
    "client-output-buffer-limit-pubsub-soft-limit": str(64 * MIB),
    "client-output-buffer-limit-pubsub-soft-seconds": "60",
}


def parameter_group_family(engine_version: str) -> str:
    """ElastiCache names Valkey parameter group families by major version: valkey7, valkey8."""
    return f"valkey{engine_version.split('.')[0]}"


@dataclass(frozen=True)
class CacheProps:
    config: CacheConfig
    name: str
    vpc_id: str
    subnet_ids: list[str]
    client_security_group_id: str
    kms_key_arn: str


class Cache(Construct):
    """Exposes ``host``, ``port``, ``auth_secret_arn`` and ``primary_node_id`` (the first member cluster)."""

    def __init__(self, scope: Construct, id: str, props: CacheProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        group = firewall.private_service_group(self, name=f"{props.name}-cache", vpc_id=props.vpc_id, port=REDIS_PORT,
                                               service="Valkey", client_group_id=props.client_security_group_id)
        subnets = ElasticacheSubnetGroup(self, "subnet-group", name=f"{props.name}-cache", subnet_ids=props.subnet_ids,
                                         description="Open WebUI cache subnets")
        auth = Secret(self, "auth-token", SecretProps(
            name=f"{props.name}/valkey-auth-token", description="AUTH token of the Open WebUI Valkey cache",
            kms_key_arn=props.kms_key_arn, generated_length=64, excluded_characters=AUTH_TOKEN_EXCLUDED_CHARACTERS,
            # auth_token has no write-only form in hashicorp/aws 5.100.0: the one secret in state (README).
            readable_value=True,
        ))
        family = parameter_group_family(cfg.engine_version)
        parameters = ElasticacheParameterGroup(
            self, "parameters", name=f"{props.name}-{family}", family=family,
            description="Open WebUI: pub/sub buffer for large Socket.IO events",
            parameter=[ElasticacheParameterGroupParameter(name=k, value=v) for k, v in sorted(PUBSUB_OUTPUT_BUFFER.items())],
        )
        parameters.add_override("lifecycle", {"create_before_destroy": True})
        replicated = cfg.num_cache_clusters > 1
        group_id = f"{props.name}-cache"
        self.group = ElasticacheReplicationGroup(
            self, "replication-group",
            replication_group_id=group_id,
            description="Open WebUI websockets and shared state",
            engine="valkey",
            engine_version=cfg.engine_version,
            node_type=cfg.node_type,
            num_cache_clusters=cfg.num_cache_clusters,
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            port=REDIS_PORT,
            parameter_group_name=parameters.name,
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            at_rest_encryption_enabled="true",
            kms_key_id=props.kms_key_arn,
            transit_encryption_enabled=True,
            auth_token=auth.value_reference,
            auth_token_update_strategy="ROTATE",
            snapshot_retention_limit=1,
            # The provider reads the version back as <major>.<minor>: an upgrade AWS made on its own
            # (an auto minor version campaign) would plan a "downgrade", which replaces the group.
            # Minor upgrades are therefore a reviewed change of cache.engine_version.
            auto_minor_version_upgrade="false",
            apply_immediately=False,
        )
        if not replicated:
            checkov.skip(self.group, "CKV2_AWS_50", "One cache node by configuration (cache.num_cache_clusters=1): "
                         "automatic failover needs a replica")
        self.host = self.group.primary_endpoint_address
        self.port = str(REDIS_PORT)
        self.auth_secret_arn = auth.arn
        # ElastiCache names a replication group's member clusters <group id>-001, -002, ...
        self.primary_node_id = f"{group_id}-001"
