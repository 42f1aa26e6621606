"""One environment's database stack: pgvector extension, Open WebUI's role and its grants.

Runs with the postgresql provider from a machine that reaches RDS (an SSM port forward or a runner
in the VPC; README "Database stack"): ``db_host``/``db_port`` override the RDS endpoint for that.

Both passwords are read ephemerally: the master's only configures the provider and the app role's
goes to the role's write-only ``password_wo``, so neither is in this stack's state or plan.
"""

from __future__ import annotations

from cdktf import TerraformStack, TerraformVariable
from cdktf_cdktf_provider_aws.data_aws_db_instance import DataAwsDbInstance
from cdktf_cdktf_provider_postgresql.provider import PostgresqlProvider
from constructs import Construct

from config import capacity, catalog
from config.model import EnvironmentConfig
from modules import ephemeral
from modules.app_database import AppDatabase, AppDatabaseProps
from modules.app_database_access import AppDatabaseAccess
from stacks.common import aws_provider, s3_backend


def app_database_access(env: EnvironmentConfig) -> AppDatabaseAccess:
    """The role's rights, with a connection limit from the capacity arithmetic (README "Capacity")."""
    # A release at max_count: old and new tasks of the rolling update plus the migration task.
    limit = capacity.peak_connections(env.database, env.service)
    return AppDatabaseAccess(database=env.database.database_name, role=env.database.app_username, connection_limit=limit)


class DatabaseStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, env: EnvironmentConfig) -> None:
        super().__init__(scope, id)
        aws_provider(self, env)
        s3_backend(self, env, id)
        host = TerraformVariable(self, "db_host", type="string", default="",
                                 description="Override the RDS endpoint, e.g. 127.0.0.1 through an SSM port forward")
        port = TerraformVariable(self, "db_port", type="number", default=catalog.POSTGRES_PORT, description="PostgreSQL port to connect to")
        instance = DataAwsDbInstance(self, "rds", db_instance_identifier=env.names.database_identifier)
        master = ephemeral.ephemeral_resource(self, "master-secret", "aws_secretsmanager_secret_version",
                                              {"secret_id": f"${{{instance.fqn}.master_user_secret[0].secret_arn}}"})
        app = ephemeral.ephemeral_resource(self, "app-secret", "aws_secretsmanager_secret_version",
                                           {"secret_id": env.names.app_database_secret})
        PostgresqlProvider(
            self, "postgresql",
            host=f"${{var.{host.friendly_unique_id} != \"\" ? var.{host.friendly_unique_id} : {instance.fqn}.address}}",
            port=port.number_value,
            database=env.database.database_name,
            username=master.json_field("secret_string", "username"),
            password=master.json_field("secret_string", "password"),
            sslmode="require",
            # The RDS master is rds_superuser, not a PostgreSQL superuser.
            superuser=False,
            connect_timeout=15,
        )
        AppDatabase(self, "app", AppDatabaseProps(
            access=app_database_access(env),
            password_reference=app.json_field("secret_string", "password"),
        ))
