"""The offline Terraform CLI configuration (tools/terraform_cli.py) and scripts/lib.sh, which uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tools import terraform_cli


def _mirror(root: Path) -> Path:
    (root / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / "linux_amd64").mkdir(parents=True)
    return root


def _lib_sh(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f'source "{ROOT}/scripts/lib.sh"; {script}'], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_configuration_installs_providers_only_from_the_mirror(tmp_path):
    text = terraform_cli.write_cli_config(tmp_path / "a" / "terraformrc", tmp_path / "mirror").read_text()
    assert f'filesystem_mirror {{\n    path    = "{tmp_path / "mirror"}"' in text
    assert 'direct {\n    exclude = ["registry.terraform.io/*/*"]' in text


def test_a_mirror_without_the_aws_provider_is_refused(tmp_path):
    assert "hashicorp/aws" in terraform_cli.mirror_problem(str(tmp_path))
    assert "hashicorp/aws" in terraform_cli.mirror_problem("")
    assert terraform_cli.mirror_problem(str(_mirror(tmp_path / "m"))) is None
    assert terraform_cli.main([str(tmp_path / "rc"), str(tmp_path)]) == 2
    assert not (tmp_path / "rc").exists()


def test_lib_sh_writes_the_same_configuration(tmp_path):
    mirror = _mirror(tmp_path / "mirror")
    env = {**os.environ, "AJUDA_PROVIDER_MIRROR": str(mirror), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = _lib_sh(f'write_terraform_cli_config "{tmp_path}/rc"; echo "$TF_CLI_CONFIG_FILE"', env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{tmp_path}/rc"
    assert (tmp_path / "rc").read_text() == terraform_cli.cli_config(mirror)


@pytest.fixture
def fake_find(tmp_path):
    """A `find` on PATH that counts its calls and answers with a provider binary inside a mirror."""
    mirror = _mirror(tmp_path / "found-mirror")
    binary = mirror / "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5"
    binary.write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "find-calls"
    (bin_dir / "find").write_text(f'#!/bin/sh\necho call >> "{calls}"\necho "{binary}"\n')
    (bin_dir / "find").chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key != "AJUDA_PROVIDER_MIRROR"}
    env.update(PATH=f"{bin_dir}:{os.environ['PATH']}", AJUDA_PROVIDER_MIRROR_CACHE=str(tmp_path / "cache"))
    return env, mirror, calls


def test_the_mirror_is_searched_for_once_then_remembered(fake_find):
    env, mirror, calls = fake_find
    for _ in range(2):
        result = _lib_sh('discover_provider_mirror; echo "$AJUDA_PROVIDER_MIRROR"', env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(mirror)
    assert calls.read_text().count("call") == 1, "the second run searched again"


def test_a_remembered_mirror_that_lost_the_provider_is_searched_for_again(fake_find, tmp_path):
    env, mirror, calls = fake_find
    Path(env["AJUDA_PROVIDER_MIRROR_CACHE"]).write_text(f"{tmp_path / 'gone'}\n")
    result = _lib_sh('discover_provider_mirror; echo "$AJUDA_PROVIDER_MIRROR"', env)
    assert result.stdout.strip() == str(mirror) and calls.read_text().count("call") == 1
