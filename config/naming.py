"""Names derived from an environment that more than one stack or tool must agree on.

The database stack finds the instance and the app role's secret the application stack created by
name (the two stacks keep separate state, so no Terraform reference can cross between them), and
the restore drill looks them up through the AWS API. Each such name is built here only.
"""

from __future__ import annotations

from dataclasses import dataclass


def stack_name(environment: str) -> str:
    """The application stack of ``environment`` ("prod" -> "ajuda-prod"), the prefix of its AWS names."""
    return f"ajuda-{environment}"


@dataclass(frozen=True)
class ResourceNames:
    """``prefix`` is the environment's stack name ("ajuda-prod"), which every AWS name starts with."""

    prefix: str

    @classmethod
    def of(cls, environment: str) -> ResourceNames:
        return cls(stack_name(environment))

    @property
    def database_stack(self) -> str:
        return f"{self.prefix}-database"

    @property
    def database_identifier(self) -> str:
        return f"{self.prefix}-postgres"

    @property
    def app_database_secret(self) -> str:
        """Secrets Manager name of Open WebUI's database role (JSON: username, password)."""
        return f"{self.prefix}/app-database"

    @property
    def restore_drill_role(self) -> str:
        return f"{self.prefix}-restore-drill"
