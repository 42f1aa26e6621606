"""After a real ``cdktf deploy`` (to moto): no generated secret value in any state, plan or synthesized file.

Every generated secret is read back from the emulator's Secrets Manager, then searched for, in the
encodings Terraform and JSON give it, in: every version of every object in the state bucket, the
bootstrap's local state, a saved plan (the binary file and ``terraform show -json``), everything
synthesized, and the deploy log. The only value allowed in state is a secret the synthesized JSON
declares readable (``secret_string``: the Valkey AUTH token, README "What Terraform state may
contain"); the local deployment has no cache, so there it must find none at all.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.emulator.test_local_deploy import STACK, STATE_BUCKET, aws

PLAN = "secrets-check.tfplan"


def encodings(value: str) -> set[str]:
    """``value`` as it would appear raw, JSON-escaped, Go-escaped (Terraform's JSON writer escapes
    < > &) and JSON-in-JSON (a jsonencode()d secret inside a state file)."""
    escaped = json.dumps(value)[1:-1]
    go = escaped.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return {value, escaped, go, json.dumps(go)[1:-1], json.dumps(escaped)[1:-1]}


def synthesized_stack(deployment) -> dict:
    return json.loads((deployment["project"].stack_dir(STACK) / "cdk.tf.json").read_text())


def generated_secrets(deployment) -> dict[str, set[str]]:
    """Secret name -> the generated values read back from the emulator (the whole string and, for
    JSON secrets, the password inside it)."""
    document = synthesized_stack(deployment)
    secrets = document["resource"]["aws_secretsmanager_secret"]
    versions = document["resource"]["aws_secretsmanager_secret_version"]
    names = {secrets[v["secret_id"].split(".")[1]]["name"] for v in versions.values()}
    client = aws("secretsmanager", deployment["endpoint"])
    values: dict[str, set[str]] = {}
    for name in sorted(names):
        string = client.get_secret_value(SecretId=name)["SecretString"]
        found = {string}
        if string.startswith("{"):
            found.add(json.loads(string)["password"])
        values[name] = found
    return values


def readable_secrets(deployment) -> set[str]:
    """Secrets whose value the synthesized JSON lets Terraform store (the documented exception)."""
    document = synthesized_stack(deployment)
    secrets = document["resource"]["aws_secretsmanager_secret"]
    return {secrets[v["secret_id"].split(".")[1]]["name"]
            for v in document["resource"]["aws_secretsmanager_secret_version"].values() if "secret_string" in v}


def state_objects(deployment) -> dict[str, bytes]:
    """Every version of every object in the state bucket: old state versions are state too."""
    s3 = aws("s3", deployment["endpoint"])
    found = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=STATE_BUCKET):
        for version in page.get("Versions", []):
            body = s3.get_object(Bucket=STATE_BUCKET, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
            found[f"s3://{STATE_BUCKET}/{version['Key']}?versionId={version['VersionId']}"] = body
    return found


def local_files(root: Path) -> dict[str, bytes]:
    """Files under ``root`` except provider binaries (.terraform/providers), which we did not write."""
    return {str(p): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and "providers" not in p.relative_to(root).parts}


def saved_plan(deployment) -> dict[str, bytes]:
    project = deployment["project"]
    project.terraform(STACK, "plan", "-input=false", "-no-color", "-lock-timeout=60s", f"-out={PLAN}")
    path = project.stack_dir(STACK) / PLAN
    shown = project.terraform(STACK, "show", "-json", PLAN).stdout
    found = {str(path): path.read_bytes(), f"terraform show -json {PLAN}": shown.encode()}
    # The plan file is a zip: search its members uncompressed as well.
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        for member in archive.namelist():
            found[f"{path}!{member}"] = archive.read(member)
    return found


def haystacks(deployment) -> dict[str, bytes]:
    local_dir = deployment["local_dir"]
    return {**state_objects(deployment), **local_files(local_dir / "state"), **saved_plan(deployment),
            **local_files(local_dir / "cdktf.out"), str(deployment["log"]): deployment["log"].read_bytes(),
            str(local_dir / "outputs.json"): (local_dir / "outputs.json").read_bytes()}


def where(value: str, files: dict[str, bytes]) -> list[str]:
    needles = [e.encode() for e in encodings(value)]
    return sorted(name for name, content in files.items() if any(n in content for n in needles))


@pytest.fixture(scope="module")
def searched(deployment):
    return generated_secrets(deployment), haystacks(deployment)


def test_every_generated_secret_was_generated_and_written(deployment, searched):
    secrets, _ = searched
    assert {name.rsplit("/", 1)[1] for name in secrets} == {"webui-secret-key", "app-database", "webui-admin-password",
                                                           "model-gateway-key"}
    for name, values in secrets.items():
        assert all(len(v) >= 32 for v in values if not v.startswith("{")), name
    assert json.loads(next(v for v in secrets[f"{STACK}/app-database"] if v.startswith("{")))["username"] == \
        "openwebui_app"


def test_the_search_finds_what_state_does_hold(deployment, searched):
    """The search itself works: the secrets' ARNs (not secret) are found in the S3 state."""
    _, files = searched
    arns = {s["ARN"] for s in aws("secretsmanager", deployment["endpoint"]).list_secrets()["SecretList"]}
    assert arns
    for arn in arns:
        assert any(name.startswith("s3://") for name in where(arn, files)), arn
    assert str(deployment["local_dir"] / "state" / "local-bootstrap.tfstate") in files, "bootstrap state not searched"
    assert any("!tfplan" in name for name in files), "the saved plan's members were not searched"


def test_no_state_plan_or_synthesized_file_holds_a_generated_secret(searched, deployment):
    secrets, files = searched
    allowed = readable_secrets(deployment)
    # The documented exception is the Valkey token only, and the local deployment has no cache.
    assert all(name.endswith("/valkey-auth-token") for name in allowed), allowed
    assert allowed == set(), "the local deployment has no cache: nothing may be stored"
    leaks = {}
    for name, values in secrets.items():
        for value in values:
            found = where(value, files)
            if found and name not in allowed:
                leaks.setdefault(name, []).extend(found)
    assert not leaks, f"generated secret values found in: {json.dumps(leaks, indent=1)}"


def test_state_objects_are_encrypted_with_the_state_key(deployment):
    """Terraform docs, S3 backend ``kms_key_id`` (https://developer.hashicorp.com/terraform/language/backend/s3)."""
    s3 = aws("s3", deployment["endpoint"])
    head = s3.head_object(Bucket=STATE_BUCKET, Key=f"ajuda-digital/{STACK}.tfstate")
    assert head["ServerSideEncryption"] == "aws:kms"
    kms = aws("kms", deployment["endpoint"])
    key_id = kms.describe_key(KeyId="alias/ajuda-digital-local-state")["KeyMetadata"]["KeyId"]
    assert head["SSEKMSKeyId"] in {"alias/ajuda-digital-local-state", key_id} or head["SSEKMSKeyId"].endswith(key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
