"""Secrets Manager secrets whose values never pass through code, configuration or synthesized JSON.

Generated values come from Secrets Manager's own generator (GetRandomPassword) at apply time and are
written write-only: an ephemeral generator feeds ``secret_string_wo``, so the value exists only in
Secrets Manager, never in Terraform state or a plan (README "What Terraform state may contain").
``secret_string_wo_version`` is sent once; the generator, which answers differently on every
plan, never rotates the value.

The one exception is ``readable_value``: a consumer with no write-only argument (the ElastiCache
AUTH token in hashicorp/aws 5.100.0) gets ``value_reference`` and the value is then in state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_secretsmanager_random_password import DataAwsSecretsmanagerRandomPassword
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from constructs import Construct

from modules import checkov, ephemeral

# Characters a generated password excludes by default. Not because the URL cannot carry them (the
# entrypoint URL-encodes everything) but because RDS passwords reject @ " / and spaces. A consumer
# with a narrower rule (the ElastiCache AUTH token) sets SecretProps.excluded_characters.
EXCLUDED_PASSWORD_CHARACTERS = "@\"/\\' `"
# Terraform sends a write-only value only when its version changes: 1 writes it once, at creation.
WRITE_ONLY_VERSION = 1


@dataclass(frozen=True)
class SecretProps:
    name: str
    description: str
    kms_key_arn: str
    # Generate a value of this length; None leaves the secret empty for an operator to fill.
    generated_length: int | None = 48
    # When set, the secret is JSON {"username": ..., "password": <generated>}.
    username: str | None = None
    recovery_window_days: int = 7
    rotation_note: str = "Rotating this value needs a coordinated restart; it is rotated by redeploying"
    # Fixed text before a generated value (e.g. "sk-", the form LiteLLM expects of an API key).
    value_prefix: str = ""
    # Letters and digits only, for values that travel inside lists (Open WebUI splits OPENAI_API_KEYS on ";").
    alphanumeric: bool = False
    # Expose the generated value to other resources (``value_reference``), which stores it in
    # Terraform state. Only for a consumer with no write-only argument; README lists each one.
    readable_value: bool = False
    # Characters GetRandomPassword must not use: the service that consumes the value may allow fewer.
    excluded_characters: str = EXCLUDED_PASSWORD_CHARACTERS


class _Generator(TypedDict):
    """GetRandomPassword's arguments, for the data source and the ephemeral resource alike."""

    password_length: int
    exclude_characters: str
    include_space: bool
    require_each_included_type: bool
    exclude_punctuation: bool


class Secret(Construct):
    """Exposes ``arn`` and, for ``readable_value`` secrets, ``value_reference`` (a Terraform reference, never the value)."""

    def __init__(self, scope: Construct, id: str, props: SecretProps) -> None:
        super().__init__(scope, id)
        self.secret = SecretsmanagerSecret(self, "secret", name=props.name, description=props.description,
                                           kms_key_id=props.kms_key_arn,
                                           recovery_window_in_days=props.recovery_window_days)
        checkov.skip(self.secret, "CKV2_AWS_57", props.rotation_note)
        self.arn = self.secret.arn
        self.value_reference: str | None = None
        self.version: SecretsmanagerSecretVersion | None = None
        if props.generated_length is None:
            return
        generator = _Generator(password_length=props.generated_length, exclude_characters=props.excluded_characters,
                               include_space=False, require_each_included_type=True,
                               exclude_punctuation=props.alphanumeric)
        if props.readable_value:
            password = DataAwsSecretsmanagerRandomPassword(self, "generator", **generator).random_password
            if props.value_prefix:
                password = Fn.join("", [props.value_prefix, password])
            value = Fn.jsonencode({"username": props.username, "password": password}) if props.username else password
            # The generator answers differently on every read: without this, every plan rotates the value.
            self.version = SecretsmanagerSecretVersion(self, "value", secret_id=self.secret.id, secret_string=value,
                                                       lifecycle={"ignore_changes": ["secret_string"]})
            self.value_reference = self.version.secret_string
        else:
            generated = ephemeral.ephemeral_resource(self, "generator", "aws_secretsmanager_random_password", generator)
            password_attribute = generated.attribute("random_password")
            value = (ephemeral.jsonencode({"username": props.username, "password": password_attribute})
                     if props.username
                     else ephemeral.template_literal(props.value_prefix) + password_attribute.reference)
            self.version = SecretsmanagerSecretVersion(self, "value", secret_id=self.secret.id, secret_string_wo=value,
                                                       secret_string_wo_version=WRITE_ONLY_VERSION)
