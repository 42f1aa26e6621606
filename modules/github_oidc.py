"""GitHub Actions' way into AWS: the OIDC provider and the deploy roles it may assume.

No static key exists anywhere. Every role trusts the provider only for tokens whose audience is
``sts.amazonaws.com`` and whose subject names this repository and one context exactly:

* plan role: pull requests (``repo:<o>/<r>:pull_request``) and the main branch outside an
  environment (``repo:<o>/<r>:ref:refs/heads/main``, the prod plan made before the approval).
  Read-only, plus the lock table and uploading saved plans.
* apply role per environment: only jobs in its GitHub environment (``...:environment:ajuda-<env>``);
  the GitHub environments admit only the main branch (README: CI roles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from config import naming
from config.model import DeployAccessConfig, StateBackendConfig
from modules import policy

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
READ_ONLY_POLICY = "ReadOnlyAccess"
# Everything but IAM and Organizations; IAM comes from the inline policy, scoped to the
# environment's own roles.
POWER_USER_POLICY = "PowerUserAccess"
SESSION_SECONDS = 3600


@dataclass(frozen=True)
class GithubOidcProps:
    access: DeployAccessConfig
    state: StateBackendConfig
    account_id: str
    region: str
    partition: str = "aws"


def subject(repository: str, context: str) -> str:
    return f"repo:{repository}:{context}"


def trust_policy(provider_arn: str, subjects: list[str]) -> str:
    """AssumeRoleWithWebIdentity for exactly these subjects, audience sts.amazonaws.com."""
    return policy.document({
        "Sid": "GithubActions", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": provider_arn},
        "Condition": {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AUDIENCE, f"{GITHUB_OIDC_HOST}:sub": sorted(subjects)}},
    })


class GithubOidc(Construct):
    """Exposes ``provider_arn``, ``plan_role_arn`` and ``apply_role_arns`` (environment -> ARN)."""

    def __init__(self, scope: Construct, id: str, props: GithubOidcProps) -> None:
        super().__init__(scope, id)
        access, state = props.access, props.state
        provider = IamOpenidConnectProvider(self, "provider", url=GITHUB_OIDC_URL, client_id_list=[AUDIENCE])
        self.provider_arn = provider.arn
        bucket_arn = f"arn:{props.partition}:s3:::{state.bucket}"
        table_arn = f"arn:{props.partition}:dynamodb:{state.region}:{props.account_id}:table/{state.lock_table}"

        plan = self._role("plan", access.plan_role_name, [
            subject(access.github_repository, "pull_request"), subject(access.github_repository, "ref:refs/heads/main")],
            "Terraform plan from pull requests and main: read-only")
        IamRolePolicyAttachment(self, "plan-read-only", role=plan.name, policy_arn=policy.managed_policy_arn(READ_ONLY_POLICY, props.partition))
        IamRolePolicy(self, "plan-state", role=plan.id, name="terraform-plan", policy=policy.document(
            policy.statement("ReadState", ["s3:GetObject", "s3:ListBucket"], [bucket_arn, f"{bucket_arn}/*"]),
            policy.statement("SavePlans", ["s3:PutObject"], [f"{bucket_arn}/{access.plans_prefix}/*"]),
            policy.statement("Lock", ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"], [table_arn]),
            self._state_key_use(props, ["kms:Decrypt", "kms:GenerateDataKey"]),
        ))
        self.plan_role_arn = plan.arn

        self.apply_role_arns: dict[str, str] = {}
        for environment in access.environments:
            role = self._role(f"apply-{environment}", access.apply_role_name(environment),
                              [subject(access.github_repository, f"environment:{access.github_environment(environment)}")],
                              f"Terraform apply and release of {naming.stack_name(environment)}: its GitHub environment only")
            IamRolePolicyAttachment(self, f"apply-{environment}-power-user", role=role.name, policy_arn=policy.managed_policy_arn(POWER_USER_POLICY, props.partition))
            IamRolePolicy(self, f"apply-{environment}-policy", role=role.id, name="terraform-apply",
                          policy=policy.document(*self._apply_statements(props, environment, bucket_arn, table_arn)))
            self.apply_role_arns[environment] = role.arn

    def _role(self, id: str, name: str, subjects: list[str], description: str) -> IamRole:
        return IamRole(self, id, name=name, description=description, max_session_duration=SESSION_SECONDS,
                       assume_role_policy=trust_policy(self.provider_arn, subjects))

    @staticmethod
    def _state_key_use(props: GithubOidcProps, actions: list[str]) -> dict[str, Any]:
        """The state bucket's KMS key, found by its alias, and only through S3."""
        return policy.statement("StateKey", actions, [f"arn:{props.partition}:kms:{props.state.region}:{props.account_id}:key/*"],
                                condition={"StringEquals": {"kms:ViaService": f"s3.{props.state.region}.amazonaws.com"},
                                           "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{props.state.bucket.replace('.', '-')}"}})

    def _apply_statements(self, props: GithubOidcProps, environment: str, bucket_arn: str, table_arn: str) -> list[dict[str, Any]]:
        stack = naming.stack_name(environment)
        state_objects = f"{bucket_arn}/{props.state.key_prefix}/{stack}"
        roles = policy.role_arn(props.account_id, f"{stack}-*", props.partition)
        return [
            policy.statement("ListState", ["s3:ListBucket"], [bucket_arn]),
            # Its own stacks' state (ajuda-<env> and ajuda-<env>-database), no other environment's.
            policy.statement("OwnState", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], [f"{state_objects}*"]),
            policy.statement("ReadPlans", ["s3:GetObject"], [f"{bucket_arn}/{props.access.plans_prefix}/{stack}/*"]),
            policy.statement("Lock", ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"], [table_arn],
                             condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{props.state.bucket}/{props.state.key_prefix}/{stack}*"]}}),
            self._state_key_use(props, ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]),
            # The environment's task, execution, flow-log and monitoring roles: all named <stack>-*.
            policy.statement("OwnRoles", ["iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy",
                                          "iam:DetachRolePolicy", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
                                          "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies", "iam:PassRole",
                                          "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy",
                                          "iam:UpdateRole"], [roles]),
        ]
