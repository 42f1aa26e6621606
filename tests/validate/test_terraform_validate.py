"""`terraform init` (offline, provider mirror) and `terraform validate` on every AWS-only stack."""

from __future__ import annotations

import shutil

from tests.support import terraform
from tools.terraform_cli import write_cli_config


def test_every_aws_only_stack_validates(synthesized, tmp_path):
    _, mirror = terraform.required_tools()
    cli = write_cli_config(tmp_path / "terraformrc", mirror)
    # One plugin cache shared by all stacks: the AWS provider is unpacked once, not per stack.
    cache = tmp_path / "plugin-cache"
    cache.mkdir()
    env = {"TF_CLI_CONFIG_FILE": str(cli), "TF_PLUGIN_CACHE_DIR": str(cache)}
    stacks = [name for name, doc in synthesized.stacks.items() if terraform.aws_only(doc)]
    assert {"bootstrap", "ci-access", "ajuda-prod", "ajuda-dev", "ajuda-staging", "ajuda-local"} <= set(stacks)
    failures = []
    for name in stacks:
        workdir = tmp_path / name
        shutil.copytree(synthesized.outdir / "stacks" / name, workdir)
        init = terraform.run(["init", "-backend=false", "-input=false", "-no-color"], workdir, env)
        if init.returncode != 0:
            failures.append(f"{name}: init failed\n{init.stderr}")
            continue
        result = terraform.run(["validate", "-no-color"], workdir, env)
        if result.returncode != 0:
            failures.append(f"{name}: validate failed\n{result.stdout}{result.stderr}")
    assert not failures, "\n".join(failures)


def test_database_stacks_use_the_postgresql_provider(synthesized):
    # No postgresql provider binary exists offline, so these are covered by synth tests instead.
    for env in ("dev", "staging", "prod"):
        providers = synthesized.stack(f"ajuda-{env}-database")["terraform"]["required_providers"]
        assert set(providers) == {"aws", "postgresql"}
