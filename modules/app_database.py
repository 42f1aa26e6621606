"""The database-side objects of Open WebUI, through the postgresql provider (``database`` stack)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from cdktf_cdktf_provider_postgresql.extension import Extension
from cdktf_cdktf_provider_postgresql.grant import Grant
from cdktf_cdktf_provider_postgresql.role import Role
from constructs import Construct

from modules.app_database_access import AppDatabaseAccess


@dataclass(frozen=True)
class AppDatabaseProps:
    access: AppDatabaseAccess
    # An ephemeral Terraform expression for the password (read from Secrets Manager), never a literal:
    # it goes to the write-only ``password_wo``, so it is in neither state nor plan.
    password_reference: str
    # Terraform sends ``password_wo`` only when this changes: bump it to set the role's password again.
    password_version: str = "1"


class AppDatabase(Construct):
    def __init__(self, scope: Construct, id: str, props: AppDatabaseProps) -> None:
        super().__init__(scope, id)
        access = props.access
        extensions = [Extension(self, f"extension-{name}", name=name, database=access.database)
                      for name in access.extensions]
        role = Role(
            self, "role", name=access.role, **asdict(access.role_attributes),
            password_wo=props.password_reference, password_wo_version=props.password_version,
            connection_limit=access.connection_limit,
        )
        # Nobody but the app role (and the master) may connect: PostgreSQL grants CONNECT to PUBLIC by default.
        Grant(self, "revoke-public", database=access.database, role="public", object_type="database", privileges=[])
        Grant(self, "database-grant", database=access.database, role=role.name, object_type="database",
              privileges=list(access.database_privileges))
        Grant(self, "schema-grant", database=access.database, schema=access.schema, role=role.name,
              object_type="schema", privileges=list(access.schema_privileges), depends_on=extensions)
