"""What the Open WebUI role may do in PostgreSQL: one definition, rendered two ways.

The ``database`` stack turns it into postgresql-provider resources; the integration tests turn it
into SQL for a local server. Every value (the role's attributes included: ``RoleAttributes``) is
written once, here, and both renderings read it, so the proof cannot drift from the stack.
Pure Python: no cdktf import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# postgresql_role argument -> the CREATE ROLE keyword it sets (NO<keyword> when false).
ROLE_KEYWORDS = {"login": "LOGIN", "superuser": "SUPERUSER", "create_database": "CREATEDB",
                 "create_role": "CREATEROLE", "inherit": "INHERIT", "replication": "REPLICATION"}


@dataclass(frozen=True)
class RoleAttributes:
    """postgresql_role's attribute arguments (field names are the provider's); ``sql()`` is the same
    values as CREATE ROLE keywords. The default: a login role with none of the other attributes."""

    login: bool = True
    superuser: bool = False
    create_database: bool = False
    create_role: bool = False
    inherit: bool = False
    replication: bool = False

    def sql(self) -> str:
        return " ".join(("" if value else "NO") + ROLE_KEYWORDS[name] for name, value in asdict(self).items())


@dataclass(frozen=True)
class AppDatabaseAccess:
    database: str
    role: str
    # pgvector is not a trusted extension: only the master (rds_superuser) may create it, once.
    extensions: tuple[str, ...] = ("vector",)
    schema: str = "public"
    # Open WebUI's migrations create and alter its own tables, so the role owns what it creates in
    # the schema; it gets no CREATEDB, CREATEROLE, superuser or replication rights.
    database_privileges: tuple[str, ...] = ("CONNECT", "TEMPORARY")
    schema_privileges: tuple[str, ...] = ("CREATE", "USAGE")
    connection_limit: int = -1
    role_attributes: RoleAttributes = field(default_factory=RoleAttributes)

    def sql(self, password: str) -> list[str]:
        """The statements a superuser runs, in order (password given at run time, never stored)."""
        role, db, schema = quote_identifier(self.role), quote_identifier(self.database), quote_identifier(self.schema)
        statements = [f"CREATE EXTENSION IF NOT EXISTS {quote_identifier(ext)}" for ext in self.extensions]
        statements += [
            f"CREATE ROLE {role} {self.role_attributes.sql()} "
            f"CONNECTION LIMIT {self.connection_limit} PASSWORD {quote_literal(password)}",
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",
            f"GRANT {', '.join(self.database_privileges)} ON DATABASE {db} TO {role}",
            f"GRANT {', '.join(self.schema_privileges)} ON SCHEMA {schema} TO {role}",
        ]
        return statements
