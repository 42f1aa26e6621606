"""No secret value in Terraform state or plans: write-only arguments fed by ephemeral blocks.

Terraform stores every argument and every data source result in state (and in saved plans); only
write-only arguments and ephemeral resources are never persisted. These tests read the synthesized
JSON: what they prove against a real apply is in tests/emulator/test_secrets_out_of_state.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from modules import ephemeral
from modules.state_backend import state_key_alias

APP_STACKS = ["ajuda-dev", "ajuda-staging", "ajuda-prod", "ajuda-local"]
DATABASE_STACK = "ajuda-prod-database"
# The one documented exception (README "What Terraform state may contain"): ElastiCache's
# auth_token has no write-only form in hashicorp/aws 5.100.0.
READABLE_SECRET_SUFFIX = "/valkey-auth-token"
EPHEMERAL_REFERENCE = re.compile(r"ephemeral\.([A-Za-z0-9_]+)\.([A-Za-z0-9_-]+)\.")


def strings(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, path + (index,))
    elif isinstance(node, str):
        yield path, node


def secret_name(document: dict, version: dict) -> str:
    secret_id = version["secret_id"]
    (logical,) = re.fullmatch(r"\$\{aws_secretsmanager_secret\.([^.]+)\.id\}", secret_id).groups()
    return document["resource"]["aws_secretsmanager_secret"][logical]["name"]


def readable_versions(synthesized) -> dict[tuple[str, str], dict]:
    return {(stack, secret_name(document, version)): version
            for stack, document in synthesized.stacks.items()
            for version in document.get("resource", {}).get("aws_secretsmanager_secret_version", {}).values()
            if "secret_string" in version}


def test_the_valkey_auth_token_is_the_only_secret_value_in_state(synthesized):
    """Terraform docs, "Use temporary write-only arguments"
    (https://developer.hashicorp.com/terraform/language/manage-sensitive-data/write-only): only a
    write-only argument keeps a value out of state; hashicorp/aws 5.100.0's
    aws_elasticache_replication_group has ``auth_token`` only (no ``auth_token_wo``)."""
    readable = readable_versions(synthesized)
    with_cache = [stack for stack in synthesized.stacks if synthesized.resources(stack, "aws_elasticache_replication_group")]
    assert with_cache, "no stack has a cache: the exception is gone, update this test and the README section"
    assert set(readable) == {(stack, f"{stack}{READABLE_SECRET_SUFFIX}") for stack in with_cache}
    for (stack, _name), version in readable.items():
        # Its only consumer is the replication group's AUTH token.
        logical = next(k for k, v in synthesized.resources(stack, "aws_secretsmanager_secret_version").items()
                       if v is version)
        consumers = {(rtype, attribute) for rtype, resources in synthesized.stack(stack)["resource"].items()
                     for body in resources.values() for attribute, value in body.items()
                     if isinstance(value, str) and f"aws_secretsmanager_secret_version.{logical}." in value}
        assert consumers == {("aws_elasticache_replication_group", "auth_token")}, (stack, consumers)


@pytest.mark.parametrize("stack", APP_STACKS)
def test_generated_secrets_are_written_write_only_from_an_ephemeral_generator(synthesized, stack):
    """Terraform docs, "Ephemeral resources" (https://developer.hashicorp.com/terraform/language/resources/ephemeral)
    and the provider's ``aws_secretsmanager_secret_version`` (``secret_string_wo`` needs
    ``secret_string_wo_version``; the value is sent again only when the version changes)."""
    document = synthesized.stack(stack)
    generators = document.get("ephemeral", {}).get("aws_secretsmanager_random_password", {})
    versions = synthesized.resources(stack, "aws_secretsmanager_secret_version")
    write_only = {name: v for name, v in versions.items() if "secret_string" not in v}
    assert {secret_name(document, v).rsplit("/", 1)[1] for v in write_only.values()} == {
        "webui-secret-key", "app-database", "webui-admin-password", "model-gateway-key"}
    used = set()
    for version in write_only.values():
        assert version["secret_string_wo_version"] == 1 and "lifecycle" not in version
        (reference,) = EPHEMERAL_REFERENCE.findall(version["secret_string_wo"])
        assert reference[0] == "aws_secretsmanager_random_password" and reference[1] in generators
        used.add(reference[1])
    assert used == set(generators), "an ephemeral generator feeds nothing"
    for generator in generators.values():
        assert generator["password_length"] >= 32 and generator["require_each_included_type"] is True


def test_app_database_secret_keeps_its_json_shape(synthesized):
    """The ECS task reads ``ARN:username::`` and ``ARN:password::`` (Amazon ECS Developer Guide,
    "Pass Secrets Manager secrets through Amazon ECS environment variables",
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html)."""
    version = synthesized.one("ajuda-prod", "aws_secretsmanager_secret_version", "app-database-credentials")
    assert re.fullmatch(r'\$\{jsonencode\(\{"username" = "openwebui_app", "password" = '
                        r'ephemeral\.aws_secretsmanager_random_password\.[A-Za-z0-9_-]+\.random_password\}\)\}',
                        version["secret_string_wo"]), version["secret_string_wo"]


def test_ephemeral_values_reach_only_write_only_arguments_and_provider_configuration(synthesized):
    """Terraform docs, "Ephemeral resources": ephemeral values may be referenced only in write-only
    arguments, provider blocks, locals, variables/outputs marked ephemeral and other ephemeral blocks."""
    seen = 0
    for stack, document in synthesized.stacks.items():
        declared = {(rtype, name) for rtype, blocks in document.get("ephemeral", {}).items() for name in blocks}
        for path, value in strings(document):
            for reference in EPHEMERAL_REFERENCE.findall(value):
                seen += 1
                assert reference in declared, (stack, path, reference)
                where = path[0]
                attribute = path[3] if where == "resource" else None
                assert where in ("provider", "ephemeral") or (attribute or "").endswith("_wo"), (stack, path)
    assert seen >= 2 * len(APP_STACKS) + 3


def test_no_data_source_reads_a_secret_value(synthesized):
    """A data source's result is stored in state (Terraform docs, "State",
    https://developer.hashicorp.com/terraform/language/state/sensitive-data)."""
    for stack, document in synthesized.stacks.items():
        data = document.get("data", {})
        assert "aws_secretsmanager_secret_version" not in data, stack
        for name in data.get("aws_secretsmanager_random_password", {}):
            # Only the Valkey token's generator, which the readable exception needs.
            assert name.startswith("cache_auth-token"), (stack, name)


def test_database_stack_passwords_are_write_only_or_provider_configuration(synthesized):
    """cyrilgdn/postgresql 1.26.0 ``postgresql_role``: ``password_wo`` + ``password_wo_version``
    ("Sets the role's password without storing it in the state file",
    https://registry.terraform.io/providers/cyrilgdn/postgresql/1.26.0/docs/resources/role#password_wo);
    provider configuration is never persisted (Terraform docs, "Ephemeral resources")."""
    document = synthesized.stack(DATABASE_STACK)
    assert set(document.get("data", {})) == {"aws_db_instance"}, "no data source may read a secret value"
    secrets = document["ephemeral"]["aws_secretsmanager_secret_version"]
    by_role = {("master" if "master" in name else "app"): (name, body) for name, body in secrets.items()}
    assert set(by_role) == {"master", "app"} and len(secrets) == 2
    assert by_role["app"][1]["secret_id"] == "ajuda-prod/app-database"
    assert by_role["master"][1]["secret_id"] == "${data.aws_db_instance.rds.master_user_secret[0].secret_arn}"

    role = synthesized.one(DATABASE_STACK, "postgresql_role")
    assert "password" not in role and role["password_wo_version"] == "1"
    app_name = by_role["app"][0]
    assert role["password_wo"] == (
        f'${{jsondecode(ephemeral.aws_secretsmanager_secret_version.{app_name}.secret_string)["password"]}}')

    provider = document["provider"]["postgresql"][0]
    master_name = by_role["master"][0]
    for field in ("username", "password"):
        assert provider[field] == (f'${{jsondecode(ephemeral.aws_secretsmanager_secret_version.{master_name}'
                                   f'.secret_string)["{field}"]}}')
    # password_wo needs the provider release that has it, and Terraform 1.11 for write-only arguments.
    assert document["terraform"]["required_providers"]["postgresql"]["version"] == "1.26.0"


def test_ephemeral_helper_writes_terraform_string_literals():
    """HCL template syntax: ``${`` and ``%{`` inside a quoted string start an interpolation or directive
    unless doubled (https://developer.hashicorp.com/terraform/language/expressions/strings)."""
    assert ephemeral.hcl_string('a"b${c}%{d}') == '"a\\"b$${c}%%{d}"'
    attribute = ephemeral.Ephemeral("t", "n").attribute("v")
    assert ephemeral.jsonencode({"user": "x${y}", "password": attribute}) == \
        '${jsonencode({"user" = "x$${y}", "password" = ephemeral.t.n.v})}'


# --- the state bucket's customer-managed key ---------------------------------------------------

def state_key(synthesized) -> tuple[str, dict, list[dict]]:
    (logical, key), = synthesized.resources("bootstrap", "aws_kms_key").items()
    return logical, key, json.loads(key["policy"])["Statement"]


def test_state_bucket_uses_its_own_kms_key_with_a_bucket_key(synthesized):
    """Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)"
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html) and "Reducing
    the cost of SSE-KMS with Amazon S3 Bucket Keys"
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html)."""
    logical, key, _ = state_key(synthesized)
    assert key["enable_key_rotation"] is True and key["deletion_window_in_days"] >= 7
    (rule,) = synthesized.one("bootstrap", "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    default = rule["apply_server_side_encryption_by_default"]
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": f"${{aws_kms_key.{logical}.arn}}"}
    assert rule["bucket_key_enabled"] is True


def test_state_key_policy_allows_use_only_through_s3_in_the_state_region(synthesized):
    """AWS KMS Developer Guide, "kms:ViaService"
    (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service)
    and "Default key policy" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html):
    the account must keep the right to manage the key, or it becomes unmanageable."""
    _, _, statements = state_key(synthesized)
    by_sid = {s["Sid"]: s for s in statements}
    assert set(by_sid) == {"KeyAdministration", "StateObjectsThroughS3"}
    account_root = "arn:aws:iam::${data.aws_caller_identity.state_account_"
    for statement in statements:
        assert statement["Effect"] == "Allow" and statement["Principal"]["AWS"].startswith(account_root)
    administration = by_sid["KeyAdministration"]
    assert "kms:PutKeyPolicy" not in administration["Action"] and "kms:Put*" in administration["Action"]
    assert not any(a in ("kms:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")
                   for a in administration["Action"])
    assert "Condition" not in administration
    use = by_sid["StateObjectsThroughS3"]
    assert set(use["Action"]) == {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*",
                                  "kms:ReEncrypt*"}
    condition = use["Condition"]["StringEquals"]
    assert condition["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    assert condition["kms:CallerAccount"].startswith("${data.aws_caller_identity.state_account_")


def test_every_backend_names_the_state_key_by_its_alias(synthesized):
    """Terraform docs, S3 backend ``kms_key_id`` (https://developer.hashicorp.com/terraform/language/backend/s3):
    without it ``encrypt = true`` writes SSE-S3; AWS KMS API Reference, CreateAlias ``AliasName``
    (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html): ``alias/`` then
    letters, digits, / _ -, at most 256 characters, never ``alias/aws/``."""
    (alias,) = synthesized.resources("bootstrap", "aws_kms_alias").values()
    assert alias["name"] == state_key_alias("ajuda-digital-terraform-state") == "alias/ajuda-digital-terraform-state"
    assert re.fullmatch(r"alias/[A-Za-z0-9/_-]{1,250}", alias["name"]) and not alias["name"].startswith("alias/aws/")
    assert state_key_alias("state.bucket.example") == "alias/state-bucket-example"
    for stack, document in synthesized.stacks.items():
        backend = document["terraform"]["backend"]
        if "s3" in backend:
            expected = state_key_alias(backend["s3"]["bucket"])
            assert backend["s3"]["kms_key_id"] == expected and backend["s3"]["encrypt"] is True, stack
    (local_alias,) = synthesized.resources("local-bootstrap", "aws_kms_alias").values()
    assert local_alias["name"] == synthesized.stack("ajuda-local")["terraform"]["backend"]["s3"]["kms_key_id"]
