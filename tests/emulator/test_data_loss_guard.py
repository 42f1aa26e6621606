"""The data-loss guard with a real `terraform plan`: a change that would replace prod's data fails the plan.

The `local` environment is prod's shape pointed at the emulator; an overrides file switches the
guard on (operations.prevent_destroy, state.prevent_destroy), as prod has it. Only the guarded
resources (and what they depend on) are applied, with `-target`, to keep the run short: the guard
is a property of each resource, so the rest of the stack cannot change the outcome.

Also proven here on the applied instance: an automatic minor upgrade (16 -> 16.11) plans nothing
for `engine_version` (the major-only form, issue 9 item 3).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import boto3
import pytest

from tests.support import terraform
from tools.emulator.server import MotoServer

REGION = "us-east-1"
GUARD_ON = {"operations": {"prevent_destroy": True}, "state": {"prevent_destroy": True}}
# Each forces a replacement of the instance or the bucket (a new database, an empty bucket).
REPLACING_CHANGE = {"database": {"database_name": "openwebui_renamed", "master_username": "ajuda_owner"},
                    "storage": {"documents_bucket_name": "openwebui-ajudadigital-local-renamed"}}
GUARD_ERROR = "Instance cannot be destroyed"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator", "AWS_DEFAULT_REGION": REGION}


def synthesize(root: Path, name: str, endpoint: str, overrides: dict) -> Path:
    """The `local` stacks synthesized with ``overrides`` applied to `local`; returns cdktf.out."""
    import config
    from stacks.app import build_app
    from stacks.output import synthesize_atomically

    outdir = root / name / "cdktf.out"
    outdir.parent.mkdir(parents=True)
    overrides_file = outdir.parent / "overrides.json"
    overrides_file.write_text(json.dumps({"local": overrides}))
    with mock.patch.dict(os.environ, {"AJUDA_EMULATOR_ENDPOINT": endpoint}):
        environments = config.load(["local"], overrides_file=str(overrides_file))
    state_dir = str(root / "bootstrap-state")
    synthesize_atomically(lambda staging: build_app(environments, staging, state_dir), str(outdir))
    return outdir


class Workspace:
    """One initialized Terraform directory per stack; a new synthesis replaces only its cdk.tf.json,
    so every plan runs against the same state without initializing again (provider start-up is slow)."""

    def __init__(self, root: Path, outdir: Path, tf_env: dict[str, str]) -> None:
        self.root, self.tf_env = root / "workspace", tf_env
        shutil.copytree(outdir / "stacks", self.root)
        self.initialized: set[str] = set()

    def use(self, outdir: Path) -> None:
        for stack in ("local-bootstrap", "ajuda-local"):
            shutil.copy(outdir / "stacks" / stack / "cdk.tf.json", self.root / stack / "cdk.tf.json")

    def stack(self, name: str) -> dict:
        return json.loads((self.root / name / "cdk.tf.json").read_text())

    def address(self, stack: str, resource_type: str, contains: str = "") -> str:
        (name,) = [n for n in self.stack(stack)["resource"][resource_type] if contains in n]
        return f"{resource_type}.{name}"

    def terraform(self, stack: str, command: str, *args: str) -> subprocess.CompletedProcess:
        if stack not in self.initialized:  # after the bootstrap exists: the app's backend lives in it
            init = terraform.run(["init", "-input=false", "-no-color"], self.root / stack, self.tf_env)
            assert init.returncode == 0, init.stdout + init.stderr
            self.initialized.add(stack)
        return terraform.run([command, "-no-color", "-input=false", *args], self.root / stack, self.tf_env)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """Bootstrap and the guarded resources of `local`, applied to a fresh emulator with the guard on."""
    _, mirror = terraform.required_tools()
    root = tmp_path_factory.mktemp("data-loss-guard")
    cache = root / "plugin-cache"
    cache.mkdir()
    tf_env = {**CREDENTIALS, "TF_CLI_CONFIG_FILE": str(terraform.cli_config(root / "terraformrc", mirror)),
              "TF_PLUGIN_CACHE_DIR": str(cache)}
    with MotoServer(log_path=root / "moto.log") as server:
        original = synthesize(root, "guarded", server.endpoint, GUARD_ON)
        workspace = Workspace(root, original, tf_env)
        applied = workspace.terraform("local-bootstrap", "apply", "-auto-approve")
        assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr
        targets = {
            "database": workspace.address("ajuda-local", "aws_db_instance"),
            "documents": workspace.address("ajuda-local", "aws_s3_bucket", "documents"),
            "key": workspace.address("ajuda-local", "aws_kms_key", "encryption_key"),
        }
        target_args = [f"-target={address}" for address in targets.values()]
        applied = workspace.terraform("ajuda-local", "apply", "-auto-approve", *target_args)
        assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr
        yield {"root": root, "server": server, "workspace": workspace, "original": original, "targets": targets,
               "target_args": target_args}


def _text(result: subprocess.CompletedProcess) -> str:
    return " ".join((result.stdout + result.stderr).split())  # Terraform wraps its messages


def _refused(result: subprocess.CompletedProcess, addresses) -> None:
    output = _text(result)
    assert result.returncode != 0, output[-4000:]
    assert GUARD_ERROR in output, output[-4000:]
    for address in addresses:
        assert f"Resource {address} has lifecycle.prevent_destroy set" in output, output[-4000:]


def test_renaming_the_database_and_bucket_fails_the_plan_instead_of_replacing(guarded):
    workspace = guarded["workspace"]
    workspace.use(synthesize(guarded["root"], "renamed", guarded["server"].endpoint, {**GUARD_ON, **REPLACING_CHANGE}))
    try:
        plan = workspace.terraform("ajuda-local", "plan", *guarded["target_args"])
    finally:
        workspace.use(guarded["original"])
    _refused(plan, [guarded["targets"]["database"], guarded["targets"]["documents"]])


def test_destroying_the_guarded_data_fails_the_plan(guarded):
    plan = guarded["workspace"].terraform("ajuda-local", "plan", "-destroy")
    # Terraform stops at the first guarded resources in destroy order (the database and the bucket);
    # the KMS key they depend on would come after them. Its guard is checked in the synthesized JSON
    # (tests/unit/test_engine_version_and_guards.py).
    _refused(plan, [guarded["targets"]["database"], guarded["targets"]["documents"]])


def test_destroying_the_state_backend_fails_the_plan(guarded):
    workspace = guarded["workspace"]
    plan = workspace.terraform("local-bootstrap", "plan", "-destroy")
    _refused(plan, [workspace.address("local-bootstrap", "aws_s3_bucket"),
                    workspace.address("local-bootstrap", "aws_dynamodb_table")])


def test_an_automatic_minor_upgrade_plans_no_engine_version_change(guarded):
    """What RDS does on its own with auto_minor_version_upgrade: the instance moves to 16.11.
    With the major-only "16" the provider keeps the configuration and records the actual version."""
    workspace, database = guarded["workspace"], guarded["targets"]["database"]
    rds = boto3.client("rds", endpoint_url=guarded["server"].endpoint, region_name=REGION,
                       aws_access_key_id="emulator", aws_secret_access_key="emulator")
    identifier = workspace.stack("ajuda-local")["resource"]["aws_db_instance"][database.split(".")[1]]["identifier"]
    rds.modify_db_instance(DBInstanceIdentifier=identifier, EngineVersion="16.11", ApplyImmediately=True)
    plan = workspace.terraform("ajuda-local", "plan", f"-target={database}")
    output = _text(plan)
    assert plan.returncode == 0, output[-4000:]
    assert rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["EngineVersion"] == "16.11"
    # A pinned minor would show here as `~ engine_version = "16.11" -> "16.10"`, a downgrade RDS refuses.
    assert "~ engine_version " not in output, output[-4000:]
