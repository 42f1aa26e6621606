"""Facts about AWS that configuration is checked against (plain data, no AWS calls)."""

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

# Fargate kills a container this long after SIGTERM at most (container definition stopTimeout).
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120
# Target group deregistration delay (draining) range: 0-3600 s.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay
ALB_MAX_DEREGISTRATION_DELAY_SECONDS = 3600
# What a task needs after its last answer ends: uvicorn closing connections, Open WebUI's
# lifespan shutdown (Redis, sessions) and the ALB noticing the target left.
SHUTDOWN_MARGIN_SECONDS = 15
