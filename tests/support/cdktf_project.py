"""Run the CDKTF CLI against this project from a scratch directory (the repo's cdktf.out stays untouched)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import missing

ROOT = Path(__file__).resolve().parents[2]


def cdktf_binary() -> str:
    binary = ROOT / "node_modules" / ".bin" / "cdktf"
    if not binary.exists():
        missing("the CDKTF CLI is not installed (npm ci)")
    return str(binary)


class CdktfProject:
    """A cdktf.json in ``workdir`` whose app is this repository's main.py."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.cdktf = cdktf_binary()
        workdir.mkdir(parents=True, exist_ok=True)
        config = json.loads((ROOT / "cdktf.json").read_text())
        config.update(app=f"{sys.executable} {ROOT / 'main.py'}", output="cdktf.out")
        (workdir / "cdktf.json").write_text(json.dumps(config, indent=2))

    def stack_dir(self, stack: str) -> Path:
        return self.workdir / "cdktf.out" / "stacks" / stack

    def run(self, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        """``cdktf deploy|destroy ...`` offline and unattended."""
        return self.cli(*args, "--skip-provider-lock", "--auto-approve", timeout=timeout)

    def cli(self, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        result = subprocess.run([self.cdktf, *args], cwd=self.workdir,
                                env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        assert result.returncode == 0, f"cdktf {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        return result

    def terraform(self, stack: str, *args: str, timeout: int = 600, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([shutil.which("terraform") or "terraform", *args], cwd=self.stack_dir(stack),
                                env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        if check:
            assert result.returncode == 0, f"terraform {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        return result
