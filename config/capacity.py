"""Database connection arithmetic: what Open WebUI can open at its peak, against what RDS allows.

One place for the numbers that configuration validation, the app role's CONNECTION LIMIT
(stacks/database.py) and the ``rds-connections`` alarm (modules/observability.py) all use, so
they cannot disagree. Plain Python over configuration values; no cdktf.

The peak is a release, not a quiet day: an ECS rolling deployment at
``deployment_maximum_percent`` 200 starts a full new set of tasks before stopping the old ones
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html), and the
one-off migration task runs beside them. Auto scaling may have the service at ``max_count`` then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from config import catalog

if TYPE_CHECKING:
    from config.model import DatabaseConfig, ServiceConfig

# internal/db.py (open-webui 0.12.4) builds two pooled SQLAlchemy engines per process, sync and
# async, each of DATABASE_POOL_SIZE + DATABASE_POOL_MAX_OVERFLOW; pgvector adds its own pool.
SQLALCHEMY_ENGINES_PER_TASK = 2
# The one-off `ajuda-entrypoint migrate` task of a release (README "Rolling out a new image").
MIGRATION_TASKS = 1


def pool_connections(pool_size: int, pool_max_overflow: int, vector_pool_size: int, vector_pool_max_overflow: int) -> int:
    """Connections one task (one uvicorn worker) may hold with these pool settings."""
    return SQLALCHEMY_ENGINES_PER_TASK * (pool_size + pool_max_overflow) + vector_pool_size + vector_pool_max_overflow


def connections_per_task(database: DatabaseConfig) -> int:
    return pool_connections(database.pool_size, database.pool_max_overflow,
                            database.vector_pool_size, database.vector_pool_max_overflow)


def peak_tasks(service: ServiceConfig) -> int:
    """Tasks alive at once during a release at max_count: old and new sets plus the migration task."""
    # ECS rounds maximumPercent x desiredCount down.
    return service.max_count * service.deployment_maximum_percent // 100 + MIGRATION_TASKS


def peak_connections(database: DatabaseConfig, service: ServiceConfig) -> int:
    """The app role's CONNECTION LIMIT: every connection the peak can open, and no more."""
    return peak_tasks(service) * connections_per_task(database)


def surge_connections(database: DatabaseConfig, service: ServiceConfig) -> int:
    """What a release adds on top of the service running at max_count."""
    return peak_connections(database, service) - service.max_count * connections_per_task(database)


def alarm_threshold(database: DatabaseConfig, service: ServiceConfig) -> int:
    """DatabaseConnections above which the next release's surge could exhaust the instance."""
    return catalog.rds_connection_budget(database.instance_class) - surge_connections(database, service)


def problem(database: DatabaseConfig, service: ServiceConfig) -> str | None:
    """Why the peak does not fit the instance, or None."""
    if database.instance_class not in catalog.RDS_INSTANCE_MEMORY_GIB:
        return None  # reported on its own setting
    budget = catalog.rds_connection_budget(database.instance_class)
    peak = peak_connections(database, service)
    if peak <= budget:
        return None
    return (f"a release at max_count {service.max_count} runs {peak_tasks(service)} tasks "
            f"(deployment_maximum_percent {service.deployment_maximum_percent} + {MIGRATION_TASKS} migration) x "
            f"{connections_per_task(database)} connections = {peak}, more than the {budget} "
            f"{database.instance_class} allows ordinary roles (max_connections - {catalog.RDS_RESERVED_CONNECTIONS} reserved); "
            "lower the pool sizes or max_count, or choose a larger instance_class")
