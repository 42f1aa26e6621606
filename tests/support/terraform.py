"""Running the real Terraform CLI offline against the provider mirror named by AJUDA_PROVIDER_MIRROR."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support import missing
from tools.terraform_cli import MIRROR_VARIABLE, mirror_problem


def required_tools() -> tuple[str, Path]:
    """The terraform binary and the mirror root; fail in CI, skip elsewhere, when either is missing."""
    terraform = shutil.which("terraform")
    mirror = os.environ.get(MIRROR_VARIABLE, "")
    problem = "terraform is not on PATH" if terraform is None else mirror_problem(mirror)
    if problem:
        missing(f"a required tool is missing: {problem}")
    assert terraform is not None
    return terraform, Path(mirror)


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", **(env or {})}
    return subprocess.run(["terraform", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False)


def aws_only(stack_json: dict) -> bool:
    return set(stack_json.get("terraform", {}).get("required_providers", {})) == {"aws"}
