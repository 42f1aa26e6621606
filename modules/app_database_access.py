"""What the Open WebUI role may do in PostgreSQL: one definition, rendered two ways.

The ``database`` stack turns it into postgresql-provider resources; the integration tests turn it
into SQL for a local server. Every value (role attributes included, ``ROLE_ATTRIBUTES``) is written
once, here, and both renderings read it, so the proof cannot drift from the stack.
Pure Python: no cdktf import.
"""

from __future__ import annotations

from dataclasses import dataclass


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# postgresql_role argument -> the CREATE ROLE keyword it sets (NO<keyword> when false).
ROLE_ATTRIBUTES = {"login": "LOGIN", "superuser": "SUPERUSER", "create_database": "CREATEDB",
                   "create_role": "CREATEROLE", "inherit": "INHERIT", "replication": "REPLICATION"}


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
    # A login role with none of the other attributes (keys of ROLE_ATTRIBUTES).
    role_attributes: tuple[tuple[str, bool], ...] = (
        ("login", True), ("superuser", False), ("create_database", False), ("create_role", False),
        ("inherit", False), ("replication", False))

    def sql(self, password: str) -> list[str]:
        """The statements a superuser runs, in order (password given at run time, never stored)."""
        role, db, schema = quote_identifier(self.role), quote_identifier(self.database), quote_identifier(self.schema)
        attributes = " ".join(("" if on else "NO") + ROLE_ATTRIBUTES[name] for name, on in self.role_attributes)
        statements = [f"CREATE EXTENSION IF NOT EXISTS {quote_identifier(ext)}" for ext in self.extensions]
        statements += [
            f"CREATE ROLE {role} {attributes} "
            f"CONNECTION LIMIT {self.connection_limit} PASSWORD {quote_literal(password)}",
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",
            f"GRANT {', '.join(self.database_privileges)} ON DATABASE {db} TO {role}",
            f"GRANT {', '.join(self.schema_privileges)} ON SCHEMA {schema} TO {role}",
        ]
        return statements
