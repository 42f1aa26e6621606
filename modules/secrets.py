"""Secrets Manager secrets whose values never pass through code, configuration or synthesized JSON.

Generated values come from Secrets Manager's own generator (GetRandomPassword) at apply time, so
they exist only in AWS and in Terraform state (which is encrypted in S3). ``ignore_changes`` keeps
the generator, which answers differently on every read, from rotating the value on every plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_secretsmanager_random_password import DataAwsSecretsmanagerRandomPassword
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from constructs import Construct

from modules import checkov

# Characters a generated password never contains. Not because the URL cannot carry them (the
# entrypoint URL-encodes everything) but because ElastiCache AUTH rejects @ " / and spaces, and
# RDS master passwords reject @ " / and spaces; one rule for all generated secrets.
EXCLUDED_PASSWORD_CHARACTERS = "@\"/\\' `"


@dataclass(frozen=True)
class SecretConfig:
    name: str
    description: str
    kms_key_arn: str
    # Generate a value of this length; None leaves the secret empty for an operator to fill.
    generated_length: Optional[int] = 48
    # When set, the secret is JSON {"username": ..., "password": <generated>}.
    username: Optional[str] = None
    recovery_window_days: int = 7
    rotation_note: str = "Rotating this value needs a coordinated restart; it is rotated by redeploying"
    # Fixed text before a generated value (e.g. "sk-", the form LiteLLM expects of an API key).
    value_prefix: str = ""
    # Letters and digits only, for values that travel inside lists (Open WebUI splits OPENAI_API_KEYS on ";").
    alphanumeric: bool = False


class Secret(Construct):
    """Exposes ``arn`` and, for generated secrets, ``value_reference`` (a Terraform reference, never the value)."""

    def __init__(self, scope: Construct, id: str, config: SecretConfig) -> None:
        super().__init__(scope, id)
        self.secret = SecretsmanagerSecret(self, "secret", name=config.name, description=config.description,
                                           kms_key_id=config.kms_key_arn,
                                           recovery_window_in_days=config.recovery_window_days)
        checkov.skip(self.secret, "CKV2_AWS_57", config.rotation_note)
        self.arn = self.secret.arn
        self.value_reference: Optional[str] = None
        self.version: Optional[SecretsmanagerSecretVersion] = None
        if config.generated_length is None:
            return
        generated = DataAwsSecretsmanagerRandomPassword(
            self, "generator", password_length=config.generated_length,
            exclude_characters=EXCLUDED_PASSWORD_CHARACTERS, include_space=False, require_each_included_type=True,
            exclude_punctuation=config.alphanumeric,
        )
        password = Fn.join("", [config.value_prefix, generated.random_password]) if config.value_prefix \
            else generated.random_password
        value = Fn.jsonencode({"username": config.username, "password": password}) if config.username else password
        self.version = SecretsmanagerSecretVersion(
            self, "value", secret_id=self.secret.id, secret_string=value,
            lifecycle={"ignore_changes": ["secret_string"]},
        )
        self.value_reference = self.version.secret_string
