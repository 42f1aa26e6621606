"""Bootstrap: the state bucket and lock table every other stack of an account keeps its state in.

Its own state stays local (it cannot live in the bucket it creates); commit nothing of it, keep the
file safe or import the two resources again if it is lost.
"""

from __future__ import annotations

from cdktf import LocalBackend, TerraformOutput, TerraformStack
from constructs import Construct

from config.model import EnvironmentConfig
from modules.state_backend import StateBackend, StateBackendProps
from stacks.common import aws_provider


class BootstrapStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, env: EnvironmentConfig, state_dir: str) -> None:
        super().__init__(scope, id)
        aws_provider(self, env)
        LocalBackend(self, path=f"{state_dir}/{id}.tfstate")
        backend = StateBackend(self, "state", StateBackendProps(config=env.state,
                                                                     deny_insecure_transport=env.tls_only_bucket_policy))
        TerraformOutput(self, "state_bucket", value=backend.bucket_name)
        TerraformOutput(self, "lock_table", value=backend.lock_table_name)
        TerraformOutput(self, "state_kms_key_arn", value=backend.kms_key_arn)
