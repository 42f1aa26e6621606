"""What the Open WebUI role may do in PostgreSQL: one definition, rendered two ways.

The ``database`` stack turns it into postgresql-provider resources; the integration tests turn it
into SQL for a local server. Both read this object, so the proof cannot drift from the stack.
Pure Python: no cdktf import.
"""

from __future__ import annotations

from dataclasses import dataclass


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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

    def sql(self, password: str) -> list[str]:
        """The statements a superuser runs, in order (password given at run time, never stored)."""
        role, db, schema = quote_identifier(self.role), quote_identifier(self.database), quote_identifier(self.schema)
        statements = [f"CREATE EXTENSION IF NOT EXISTS {quote_identifier(ext)}" for ext in self.extensions]
        statements += [
            f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION "
            f"CONNECTION LIMIT {self.connection_limit} PASSWORD {quote_literal(password)}",
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",
            f"GRANT {', '.join(self.database_privileges)} ON DATABASE {db} TO {role}",
            f"GRANT {', '.join(self.schema_privileges)} ON SCHEMA {schema} TO {role}",
        ]
        return statements
