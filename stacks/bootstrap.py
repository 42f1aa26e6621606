"""Bootstrap: the state bucket and lock table every other stack of an account keeps its state in.

Its own state stays local (it cannot live in the bucket it creates); commit nothing of it, keep the
file safe or import the two resources again if it is lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import LocalBackend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from constructs import Construct

from config.model import EnvironmentConfig
from modules import policy
from modules.state_backend import StateBackend, StateBackendProps
from stacks.common import PROJECT, aws_provider


def bootstrap_tags(served: Sequence[EnvironmentConfig]) -> dict[str, str]:
    """The backend belongs to every environment whose state it keeps, not to the first of them."""
    names = [env.name for env in served]
    return {"project": PROJECT, "environment": names[0] if len(names) == 1 else "shared",
            "state-of": " ".join(names), "managed-by": "cdktf"}


class BootstrapStack(TerraformStack):
    """``served``: the environments keeping their state in this backend (all share ``state``)."""

    def __init__(self, scope: Construct, id: str, served: Sequence[EnvironmentConfig], state_dir: str) -> None:
        super().__init__(scope, id)
        env = served[0]
        # The bucket and table live in the backend's region, which the S3 backend blocks also name.
        aws_provider(self, env, region=env.state.region, tags=bootstrap_tags(served))
        LocalBackend(self, path=f"{state_dir}/{id}.tfstate")
        admitted: tuple[str, ...] = ()
        if env.state_bucket_admits_deploy_roles_only and env.state.access is not None:
            account_id = DataAwsCallerIdentity(self, "deploy-account").account_id
            admitted = tuple(policy.role_arn(account_id, name) for name in env.state.access.role_names)
        backend = StateBackend(self, "state", StateBackendProps(config=env.state,
                                                                     deny_insecure_transport=env.tls_only_bucket_policy,
                                                                     admitted_role_arns=admitted))
        TerraformOutput(self, "state_bucket", value=backend.bucket_name)
        TerraformOutput(self, "lock_table", value=backend.lock_table_name)
        TerraformOutput(self, "state_kms_key_arn", value=backend.kms_key_arn)
