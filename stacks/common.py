"""What every AWS stack shares: the provider (tags, region, emulator endpoints) and the state backend."""

from __future__ import annotations

from cdktf import S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

from config.model import EnvironmentConfig, StateBackendConfig
from modules.state_backend import state_key_alias

PROJECT = "ajuda-digital"

# Every AWS API the stacks call; the emulator must answer each one.
EMULATED_SERVICES = (
    "acm", "appautoscaling", "backup", "cloudwatch", "dynamodb", "ec2", "ecr", "ecs", "elasticache", "elb", "elbv2",
    "iam", "kms", "logs", "rds", "route53", "s3", "secretsmanager", "sns", "sts", "wafv2",
)
# Not secrets: the emulator accepts any key, and fixed ones keep real credentials away from it.
EMULATOR_ACCESS_KEY = "emulator"
EMULATOR_SECRET_KEY = "emulator"


def default_tags(env: EnvironmentConfig) -> dict[str, str]:
    return {"project": PROJECT, "environment": env.name, "managed-by": "cdktf"}


def aws_provider(stack: TerraformStack, env: EnvironmentConfig, *, region: str | None = None,
                 tags: dict[str, str] | None = None, alias: str | None = None) -> AwsProvider:
    """The stack's provider. ``region``/``tags`` override the environment's for a stack that is not one
    environment's (bootstrap); with ``alias``, a second provider for ``region`` (e.g. the backup copy's)."""
    settings: dict = {"region": region or env.region, "default_tags": [{"tags": tags or default_tags(env)}]}
    if alias is not None:
        settings["alias"] = alias
    if env.emulator is not None:
        settings.update(
            access_key=EMULATOR_ACCESS_KEY, secret_key=EMULATOR_SECRET_KEY,
            skip_credentials_validation=True, skip_metadata_api_check="true", skip_region_validation=True,
            s3_use_path_style=True,
            endpoints=[{service: env.emulator.endpoint for service in EMULATED_SERVICES}],
        )
    return AwsProvider(stack, f"aws-{alias}" if alias else "aws", **settings)


def state_key(state: StateBackendConfig, stack_name: str) -> str:
    return f"{state.key_prefix}/{stack_name}.tfstate"


def s3_backend(stack: TerraformStack, env: EnvironmentConfig, stack_name: str) -> S3Backend:
    """Remote state in the environment's state bucket, locked in its DynamoDB table, encrypted with its KMS key."""
    state = env.state
    # Without kms_key_id, encrypt=true asks S3 for SSE-S3 on every state object, overriding the
    # bucket's KMS default.
    settings: dict = {"bucket": state.bucket, "key": state_key(state, stack_name), "region": state.region,
                      "dynamodb_table": state.lock_table, "encrypt": True, "kms_key_id": state_key_alias(state.bucket)}
    if env.emulator is not None:
        endpoint = env.emulator.endpoint
        settings.update(
            access_key=EMULATOR_ACCESS_KEY, secret_key=EMULATOR_SECRET_KEY, use_path_style=True,
            skip_credentials_validation=True, skip_requesting_account_id=True, skip_metadata_api_check=True,
            skip_region_validation=True,
            endpoints={"s3": endpoint, "dynamodb": endpoint, "sts": endpoint, "iam": endpoint},
        )
    return S3Backend(stack, **settings)
