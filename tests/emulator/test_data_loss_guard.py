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
import subprocess
from pathlib import Path
from unittest import mock

import boto3
import pytest

from tests.support import terraform
from tools.emulator import MotoServer

REGION = "us-east-1"
GUARD_ON = {"operations": {"prevent_destroy": True}, "state": {"prevent_destroy": True}}
# Each forces a replacement of the instance or the bucket (a new database, an empty bucket).
REPLACING_CHANGE = {"database": {"database_name": "openwebui_renamed", "master_username": "ajuda_owner"},
                    "storage": {"documents_bucket_name": "openwebui-ajudadigital-local-renamed"}}
GUARD_ERROR = "Instance cannot be destroyed"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator", "AWS_DEFAULT_REGION": REGION}


class Synthesis:
    """The `local` stacks synthesized with one overrides document, and Terraform run in them."""

    def __init__(self, root: Path, name: str, endpoint: str, overrides: dict, tf_env: dict[str, str]) -> None:
        import config
        from stacks.app import build_app
        from stacks.output import synthesize_atomically

        self.outdir = root / name / "cdktf.out"
        self.outdir.parent.mkdir(parents=True)
        overrides_file = self.outdir.parent / "overrides.json"
        overrides_file.write_text(json.dumps({"local": overrides}))
        with mock.patch.dict(os.environ, {"AJUDA_EMULATOR_ENDPOINT": endpoint}):
            environments = config.load(["local"], overrides_file=str(overrides_file))
        state_dir = str(root / "bootstrap-state")
        synthesize_atomically(lambda staging: build_app(environments, staging, state_dir), str(self.outdir))
        self.tf_env = tf_env
        self.initialized: set[str] = set()

    def stack(self, name: str) -> dict:
        return json.loads((self.outdir / "stacks" / name / "cdk.tf.json").read_text())

    def address(self, stack: str, resource_type: str, contains: str = "") -> str:
        (name,) = [n for n in self.stack(stack)["resource"][resource_type] if contains in n]
        return f"{resource_type}.{name}"

    def terraform(self, stack: str, *args: str) -> subprocess.CompletedProcess:
        workdir = self.outdir / "stacks" / stack
        if stack not in self.initialized:
            init = terraform.run(["init", "-input=false", "-no-color"], workdir, self.tf_env)
            assert init.returncode == 0, init.stdout + init.stderr
            self.initialized.add(stack)
        command, *rest = args
        interactive = ["-input=false"] if command in ("plan", "apply") else []
        return terraform.run([command, "-no-color", *interactive, *rest], workdir, self.tf_env)


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
        synthesis = Synthesis(root, "guarded", server.endpoint, GUARD_ON, tf_env)
        applied = synthesis.terraform("local-bootstrap", "apply", "-auto-approve")
        assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr
        targets = {
            "database": synthesis.address("ajuda-local", "aws_db_instance"),
            "documents": synthesis.address("ajuda-local", "aws_s3_bucket", "documents"),
            "key": synthesis.address("ajuda-local", "aws_kms_key"),
        }
        target_args = [f"-target={address}" for address in targets.values()]
        applied = synthesis.terraform("ajuda-local", "apply", "-auto-approve", *target_args)
        assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr
        yield {"root": root, "server": server, "synthesis": synthesis, "targets": targets, "target_args": target_args,
               "tf_env": tf_env}


def _refused(result: subprocess.CompletedProcess, addresses) -> None:
    output = " ".join((result.stdout + result.stderr).split())  # Terraform wraps its messages
    assert result.returncode != 0, output[-3000:]
    assert output.count(GUARD_ERROR) == len(addresses), output[-3000:]
    for address in addresses:
        assert f"Resource {address} has lifecycle.prevent_destroy set" in output, output[-3000:]


def test_renaming_the_database_and_bucket_fails_the_plan_instead_of_replacing(guarded):
    changed = Synthesis(guarded["root"], "renamed", guarded["server"].endpoint, {**GUARD_ON, **REPLACING_CHANGE},
                        guarded["tf_env"])
    plan = changed.terraform("ajuda-local", "plan", *guarded["target_args"])
    _refused(plan, [guarded["targets"]["database"], guarded["targets"]["documents"]])


def test_without_the_guard_the_same_change_plans_replacements(guarded):
    """The control: the guard, not some other error, is what stops the plan above."""
    unguarded = Synthesis(guarded["root"], "unguarded", guarded["server"].endpoint, REPLACING_CHANGE, guarded["tf_env"])
    plan = unguarded.terraform("ajuda-local", "plan", "-out=tfplan", *guarded["target_args"])
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr
    shown = json.loads(unguarded.terraform("ajuda-local", "show", "-json", "tfplan").stdout)
    replaced = {c["address"] for c in shown["resource_changes"] if c["change"]["actions"] == ["delete", "create"]}
    assert {guarded["targets"]["database"], guarded["targets"]["documents"]} <= replaced


def test_destroying_the_guarded_data_fails_the_plan(guarded):
    synthesis = guarded["synthesis"]
    plan = synthesis.terraform("ajuda-local", "plan", "-destroy", *guarded["target_args"])
    _refused(plan, list(guarded["targets"].values()))


def test_destroying_the_state_backend_fails_the_plan(guarded):
    synthesis = guarded["synthesis"]
    plan = synthesis.terraform("local-bootstrap", "plan", "-destroy")
    _refused(plan, [synthesis.address("local-bootstrap", "aws_s3_bucket"),
                    synthesis.address("local-bootstrap", "aws_dynamodb_table")])


def test_an_automatic_minor_upgrade_plans_no_engine_version_change(guarded):
    """What RDS does on its own with auto_minor_version_upgrade: the instance moves to 16.11.
    With the major-only "16" the provider keeps the configuration and records the actual version."""
    synthesis, database = guarded["synthesis"], guarded["targets"]["database"]
    rds = boto3.client("rds", endpoint_url=guarded["server"].endpoint, region_name=REGION,
                       aws_access_key_id="emulator", aws_secret_access_key="emulator")
    identifier = synthesis.stack("ajuda-local")["resource"]["aws_db_instance"][database.split(".")[1]]["identifier"]
    rds.modify_db_instance(DBInstanceIdentifier=identifier, EngineVersion="16.11", ApplyImmediately=True)
    plan = synthesis.terraform("ajuda-local", "plan", "-out=upgraded", f"-target={database}")
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr
    shown = json.loads(synthesis.terraform("ajuda-local", "show", "-json", "upgraded").stdout)
    (change,) = [c["change"] for c in shown["resource_changes"] if c["address"] == database]
    assert change["before"]["engine_version_actual"] == "16.11"
    assert change["before"]["engine_version"] == change["after"]["engine_version"] == "16"
