"""The deploy roles GitHub Actions assumes (OIDC), as code: one stack per account.

Applied once by an operator with the break-glass role, after bootstrap (README: CI roles). Its
state lives in the state bucket like every other stack.
"""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from constructs import Construct

from config.model import EnvironmentConfig
from modules.github_oidc import GithubOidc, GithubOidcProps
from stacks.common import aws_provider, s3_backend

CI_ACCESS_STACK = "ci-access"


class CiAccessStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, env: EnvironmentConfig) -> None:
        super().__init__(scope, id)
        assert env.state.access is not None, "ci-access needs state.access"
        aws_provider(self, env)
        s3_backend(self, env, id)
        account_id = DataAwsCallerIdentity(self, "account").account_id
        oidc = GithubOidc(self, "github", GithubOidcProps(access=env.state.access, state=env.state,
                                                          account_id=account_id, region=env.region,
                                                          partition=env.partition))
        # The workflow's repository variables: AWS_PLAN_ROLE_ARN and, per GitHub environment,
        # AWS_APPLY_ROLE_ARN.
        TerraformOutput(self, "plan_role_arn", value=oidc.plan_role_arn)
        for environment, arn in oidc.apply_role_arns.items():
            TerraformOutput(self, f"apply_role_arn_{environment}", value=arn)
