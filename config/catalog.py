"""Facts about AWS that configuration is checked against (plain data, no AWS calls)."""

# The engines' default ports, which RDS and ElastiCache keep unless told otherwise.
POSTGRES_PORT = 5432
VALKEY_PORT = 6379

# Fargate task sizes: CPU units -> accepted memory (MiB).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_MEMORY_BY_CPU: dict[int, list[int]] = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}

# RDS instance classes this project may use -> memory in GiB. Memory drives PostgreSQL's default
# max_connections, LEAST(DBInstanceClassMemory / 9531392, 5000), and the memory parameters.
RDS_INSTANCE_MEMORY_GIB: dict[str, int] = {
    "db.t4g.micro": 1, "db.t4g.small": 2, "db.t4g.medium": 4, "db.t4g.large": 8, "db.t4g.xlarge": 16,
    "db.t3.micro": 1, "db.t3.small": 2, "db.t3.medium": 4, "db.t3.large": 8, "db.t3.xlarge": 16,
    "db.m7g.large": 8, "db.m7g.xlarge": 16, "db.m7g.2xlarge": 32, "db.m7g.4xlarge": 64,
    "db.m6g.large": 8, "db.m6g.xlarge": 16, "db.m6g.2xlarge": 32, "db.m6g.4xlarge": 64,
    "db.r7g.large": 16, "db.r7g.xlarge": 32, "db.r7g.2xlarge": 64, "db.r7g.4xlarge": 128,
    "db.r6g.large": 16, "db.r6g.xlarge": 32, "db.r6g.2xlarge": 64, "db.r6g.4xlarge": 128,
}

# DBInstanceClassMemory is what the engine sees after the OS and RDS processes take their share;
# measured on Graviton classes it is about 90 % of the nominal memory.
_RDS_ENGINE_MEMORY_FRACTION = 0.9


def rds_engine_memory_bytes(instance_class: str) -> int:
    return int(RDS_INSTANCE_MEMORY_GIB[instance_class] * 1024**3 * _RDS_ENGINE_MEMORY_FRACTION)


def rds_default_max_connections(instance_class: str) -> int:
    """PostgreSQL's max_connections on RDS with the default parameter formula."""
    return min(rds_engine_memory_bytes(instance_class) // 9531392, 5000)


# RDS for PostgreSQL gp3: below 400 GB the volume has a fixed 3,000 IOPS baseline.
GP3_PROVISIONED_THRESHOLD_GB = 400
GP3_BASELINE_IOPS = 3000

RDS_RESERVED_USERNAMES = {"admin", "postgres", "rdsadmin", "rds_superuser", "root", "user", "public"}

ELASTICACHE_NODE_TYPES = {
    "cache.t4g.micro", "cache.t4g.small", "cache.t4g.medium",
    "cache.m7g.large", "cache.m7g.xlarge", "cache.r7g.large", "cache.r7g.xlarge",
}

# Elastic Load Balancing account per region, for the ALB access-log bucket policy in regions that
# predate the log-delivery service principal. https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
ELB_ACCOUNT_BY_REGION: dict[str, str] = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864", "ap-south-1": "718504428378", "eu-west-1": "156460612806",
    "eu-central-1": "054676820928", "sa-east-1": "507241528517", "ca-central-1": "985666609251",
}

# Connection slots RDS for PostgreSQL keeps from ordinary roles: superuser_reserved_connections (3)
# and rds.rds_superuser_reserved_connections (2), both at their RDS defaults.
# https://aws.amazon.com/premiumsupport/knowledge-center/rds-postgresql-error-connection-slots/
RDS_RESERVED_CONNECTIONS = 3 + 2


def rds_connection_budget(instance_class: str) -> int:
    """Connections an ordinary role (the app) can actually open on the instance."""
    return rds_default_max_connections(instance_class) - RDS_RESERVED_CONNECTIONS


# Every AWS Region and the partition its ARNs use ("arn:<partition>:..."). A region outside this
# table is a typo or one this project has not been checked against.
# https://docs.aws.amazon.com/general/latest/gr/rande.html#regional-endpoints
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
PARTITION_BY_REGION: dict[str, str] = {
    **{region: "aws" for region in (
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1",
        "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
        "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
        "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
        "sa-east-1",
    )},
    "cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn",
    "us-gov-east-1": "aws-us-gov", "us-gov-west-1": "aws-us-gov",
}


def partition(region: str) -> str:
    return PARTITION_BY_REGION[region]
# Fargate kills a container this long after SIGTERM at most (container definition stopTimeout).
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120
# Target group deregistration delay (draining) range: 0-3600 s.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay
ALB_MAX_DEREGISTRATION_DELAY_SECONDS = 3600
# What a task needs after its last answer ends: uvicorn closing connections, Open WebUI's
# lifespan shutdown (Redis, sessions) and the ALB noticing the target left.
SHUTDOWN_MARGIN_SECONDS = 15

# --- Amazon Bedrock -------------------------------------------------------------------------------
# Models this project may configure, with the Regions that serve them. Sources (as of 2026-11):
# "Supported foundation models in Amazon Bedrock"
#   https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html
# "Supported Regions and models for inference profiles"
#   https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html
# An id missing here is refused by configuration validation: add it (with its Regions) after
# checking those pages, rather than letting a typo reach a running gateway.

BEDROCK_CHAT = "chat"
BEDROCK_EMBEDDING = "embedding"


class BedrockModel:
    """A foundation model: ``kind`` (chat/embedding), the Regions that invoke it on demand (in-Region),
    and for embedding models the output dimensions it can produce."""

    def __init__(self, kind: str, regions: tuple[str, ...], dimensions: tuple[int, ...] = ()) -> None:
        self.kind = kind
        self.regions = frozenset(regions)
        self.dimensions = dimensions


class BedrockInferenceProfile:
    """A system-defined cross-Region inference profile: the foundation model it routes to, the Regions
    it may be called from (source) and the Regions it may send a request to (destination)."""

    def __init__(self, model_id: str, source_regions: tuple[str, ...], destination_regions: tuple[str, ...]) -> None:
        self.model_id = model_id
        self.source_regions = frozenset(source_regions)
        self.destination_regions = tuple(destination_regions)


_US = ("us-east-1", "us-east-2", "us-west-2")
_EU = ("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1")
_APAC = ("ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2")
# Regions where the Nova models answer in-Region; elsewhere they are reached through a profile.
_NOVA_IN_REGION = ("us-east-1", "eu-central-1", "ap-northeast-1", "ap-southeast-2")

BEDROCK_FOUNDATION_MODELS: dict[str, BedrockModel] = {
    # Titan Text Embeddings V2: 1024 (default), 512 or 256 dimensions.
    "amazon.titan-embed-text-v2:0": BedrockModel(
        BEDROCK_EMBEDDING,
        ("us-east-1", "us-east-2", "us-west-2", "ca-central-1", "eu-central-1", "eu-central-2", "eu-west-1",
         "eu-west-2", "eu-west-3", "eu-north-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1",
         "ap-southeast-1", "ap-southeast-2", "sa-east-1"),
        dimensions=(1024, 512, 256)),
    **{f"amazon.nova-{size}-v1:0": BedrockModel(BEDROCK_CHAT, _NOVA_IN_REGION) for size in ("micro", "lite", "pro")},
    "anthropic.claude-3-haiku-20240307-v1:0": BedrockModel(
        BEDROCK_CHAT, ("us-east-1", "us-west-2", "eu-central-1", "eu-west-1", "eu-west-3", "ap-northeast-1",
                       "ap-south-1", "ap-southeast-1", "ap-southeast-2")),
    "anthropic.claude-3-5-haiku-20241022-v1:0": BedrockModel(BEDROCK_CHAT, ()),  # inference profiles only
    "anthropic.claude-sonnet-4-20250514-v1:0": BedrockModel(BEDROCK_CHAT, ()),  # inference profiles only
    "meta.llama3-1-8b-instruct-v1:0": BedrockModel(BEDROCK_CHAT, ("us-west-2",)),
}

BEDROCK_INFERENCE_PROFILES: dict[str, BedrockInferenceProfile] = {
    **{f"us.amazon.nova-{size}-v1:0": BedrockInferenceProfile(f"amazon.nova-{size}-v1:0", _US, _US)
       for size in ("micro", "lite", "pro")},
    **{f"eu.amazon.nova-{size}-v1:0": BedrockInferenceProfile(f"amazon.nova-{size}-v1:0", _EU, _EU)
       for size in ("micro", "lite", "pro")},
    **{f"apac.amazon.nova-{size}-v1:0": BedrockInferenceProfile(f"amazon.nova-{size}-v1:0", _APAC, _APAC)
       for size in ("micro", "lite", "pro")},
    "us.anthropic.claude-3-5-haiku-20241022-v1:0": BedrockInferenceProfile(
        "anthropic.claude-3-5-haiku-20241022-v1:0", _US, _US),
    "us.anthropic.claude-sonnet-4-20250514-v1:0": BedrockInferenceProfile(
        "anthropic.claude-sonnet-4-20250514-v1:0", _US, _US),
    "eu.anthropic.claude-sonnet-4-20250514-v1:0": BedrockInferenceProfile(
        "anthropic.claude-sonnet-4-20250514-v1:0", _EU, _EU),
    "apac.anthropic.claude-sonnet-4-20250514-v1:0": BedrockInferenceProfile(
        "anthropic.claude-sonnet-4-20250514-v1:0", _APAC, _APAC),
}


def bedrock_model_kind(model_id: str) -> str | None:
    """chat/embedding for a known foundation model or inference profile id, None for an unknown id."""
    profile = BEDROCK_INFERENCE_PROFILES.get(model_id)
    model = BEDROCK_FOUNDATION_MODELS.get(profile.model_id if profile else model_id)
    return model.kind if model else None


def bedrock_regions_for(model_id: str) -> frozenset[str]:
    """The Regions from which ``model_id`` may be invoked (on demand, or as a profile's source Region)."""
    if model_id in BEDROCK_INFERENCE_PROFILES:
        return BEDROCK_INFERENCE_PROFILES[model_id].source_regions
    model = BEDROCK_FOUNDATION_MODELS.get(model_id)
    return model.regions if model else frozenset()


def bedrock_resource_arns(model_id: str, region: str, account_id: str, partition: str = "aws") -> list[str]:
    """The IAM resources one invocation of ``model_id`` from ``region`` is authorised against.

    A foundation model is one ARN (no account: AWS owns it). An inference profile needs its own ARN
    AND the foundation model's ARN in every destination Region it may route to ("Prerequisites for
    inference profiles", https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html).
    """
    profile = BEDROCK_INFERENCE_PROFILES.get(model_id)
    if profile is None:
        return [f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}"]
    return [f"arn:{partition}:bedrock:{region}:{account_id}:inference-profile/{model_id}"] + [
        f"arn:{partition}:bedrock:{destination}::foundation-model/{profile.model_id}"
        for destination in profile.destination_regions
    ]
