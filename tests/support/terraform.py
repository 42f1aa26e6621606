"""Running the real Terraform CLI offline against the provider mirror named by AJUDA_PROVIDER_MIRROR."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

MIRROR_VARIABLE = "AJUDA_PROVIDER_MIRROR"


def required_tools() -> tuple[str, Path]:
    """The terraform binary and the mirror root; fail in CI, skip elsewhere, when either is missing."""
    terraform = shutil.which("terraform")
    mirror = os.environ.get(MIRROR_VARIABLE, "")
    problem = None
    if terraform is None:
        problem = "terraform is not on PATH"
    elif not mirror or not (Path(mirror) / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        problem = f"{MIRROR_VARIABLE}={mirror!r} does not hold registry.terraform.io/hashicorp/aws"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"required tool missing in CI: {problem}")
        pytest.skip(problem)
    return terraform, Path(mirror)


def cli_config(path: Path, mirror: Path) -> Path:
    """A Terraform CLI configuration that installs providers only from the local mirror."""
    path.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/*/*"]\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
        "}\n"
    )
    return path


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", **(env or {})}
    return subprocess.run(["terraform", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def aws_only(stack_json: dict) -> bool:
    return set(stack_json.get("terraform", {}).get("required_providers", {})) == {"aws"}
