"""IAM policy documents as plain data.

Rendered with json.dumps: references become ${...} interpolations inside a JSON string, which
Terraform fills in, so the synthesized policy stays readable JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def statement(sid: str, actions: Iterable[str], resources: Iterable[str], *, effect: str = "Allow",
              principal: dict[str, Any] | None = None, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    resource_list = list(resources)
    # A lone resource is written as a string, the form AWS itself returns (and moto requires for
    # the S3 log-delivery check).
    result: dict[str, Any] = {"Sid": sid, "Effect": effect, "Action": sorted(actions),
                              "Resource": resource_list[0] if len(resource_list) == 1 else resource_list}
    if principal is not None:
        result["Principal"] = principal
    if condition is not None:
        result["Condition"] = condition
    return result


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """The TLS-only statement every bucket policy starts with."""
    return statement("DenyInsecureTransport", ["s3:*"], [bucket_arn, f"{bucket_arn}/*"], effect="Deny",
                     principal={"AWS": "*"}, condition={"Bool": {"aws:SecureTransport": "false"}})


def deny_all_principals_but(bucket_arn: str, principal_arns: Iterable[str]) -> dict[str, Any]:
    """A bucket open to the named roles only: a Deny beats any Allow, in any account's IAM policy."""
    return statement("DenyAllButDeployRoles", ["s3:*"], [bucket_arn, f"{bucket_arn}/*"], effect="Deny",
                     principal={"AWS": "*"}, condition={"ArnNotEquals": {"aws:PrincipalArn": sorted(principal_arns)}})


def managed_policy_arn(name: str, partition: str = "aws") -> str:
    """An AWS managed policy (``name`` with its path, e.g. ``service-role/X``) in ``partition``."""
    return f"arn:{partition}:iam::aws:policy/{name}"


def role_arn(account_id: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{name}"


def assume_role_policy(service: str, *, source_account: str | None = None) -> str:
    """Trust policy letting one AWS service assume a role, optionally only on behalf of our account."""
    trust: dict[str, Any] = {"Sid": "AssumeRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}
    if source_account:
        trust["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return document(trust)


def task_execution_statements(*, repository_arn: str, log_group_arn: str, kms_key_arn: str,
                              secret_arns: list[str]) -> list[dict[str, Any]]:
    """What ECS itself needs to start a task: pull one repository, write one log group, read the task's secrets."""
    statements = [
        # GetAuthorizationToken is account-wide by design: it cannot name a repository.
        statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
        statement("EcrPull", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                  [repository_arn]),
        statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
        statement("DecryptWithStackKey", ["kms:Decrypt"], [kms_key_arn]),
    ]
    if secret_arns:
        statements.append(statement("ReadTaskSecrets", ["secretsmanager:GetSecretValue"], secret_arns))
    return statements
