"""The one emulator deployment every test of this tier shares (deploying costs minutes).

Tests run in file order on it; tests marked ``destroys_deployment`` run last, after every other
test of the tier, whichever file they are in.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import terraform
from tests.support.cdktf_project import ROOT, CdktfProject
from tools.emulator import server as emulator

STACK = "ajuda-local"
REGION = "us-east-1"
DESTROYS = "destroys_deployment"


def pytest_configure(config):
    config.addinivalue_line("markers", f"{DESTROYS}: tears the shared emulator deployment down; runs last in the tier")


def pytest_collection_modifyitems(items):
    """Move this tier's destroying tests behind its other tests, keeping the tier contiguous."""
    here = Path(__file__).parent
    positions = [i for i, item in enumerate(items) if here in Path(str(item.fspath)).parents]
    tier = [items[i] for i in positions]
    ordered = [t for t in tier if not t.get_closest_marker(DESTROYS)] + [t for t in tier if t.get_closest_marker(DESTROYS)]
    for position, item in zip(positions, ordered):
        items[position] = item


def _local_sh(command: str, env: dict[str, str], log: Path) -> subprocess.CompletedProcess:
    """The README's main job, ``bash scripts/local.sh up|down``, exactly as a newcomer runs it."""
    with log.open("a") as sink:
        return subprocess.run(["bash", str(ROOT / "scripts" / "local.sh"), command], env=env,
                              stdout=sink, stderr=subprocess.STDOUT, timeout=1800)


@pytest.fixture(scope="package")
def deployment(tmp_path_factory):
    terraform.required_tools()
    local_dir = tmp_path_factory.mktemp("local-deploy")
    log = local_dir / "local.sh.log"
    env = {
        **os.environ,
        "CI": "true",  # plain progress lines instead of spinners
        "AJUDA_LOCAL_DIR": str(local_dir),  # everything local.sh writes, apart from the developer's .local/
        "AJUDA_CONFIG_FILE": "",
    }
    state = {"down": False}
    try:
        up = _local_sh("up", env, log)
        assert up.returncode == 0, f"scripts/local.sh up failed:\n{log.read_text()[-6000:]}"
        up_output = log.read_text()  # what the terminal showed (tests/emulator/local_sh_output.py)
        endpoint = emulator.running_endpoint(local_dir / "moto")
        assert endpoint and endpoint.startswith("http://127.0.0.1:"), endpoint
        outputs = json.loads((local_dir / "outputs.json").read_text())[STACK]
        # The same settings local.sh deploys with, for the re-plan, the lock race and the destroy.
        project = CdktfProject(local_dir, {
            **env,
            "AJUDA_ENVIRONMENTS": "local",
            "AJUDA_EMULATOR_ENDPOINT": endpoint,
            "AJUDA_BOOTSTRAP_STATE_DIR": str(local_dir / "state"),
            "TF_CLI_CONFIG_FILE": str(local_dir / "terraformrc"),
            "CHECKPOINT_DISABLE": "1",
            "AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator", "AWS_DEFAULT_REGION": REGION,
        })
        yield {"endpoint": endpoint, "project": project, "outputs": outputs, "state": state, "up_output": up_output,
               "local_sh": lambda command: _local_sh(command, env, log), "local_dir": local_dir, "log": log}
    finally:
        if not state["down"]:
            _local_sh("down", env, log)
        emulator.stop_detached(local_dir / "moto")  # a no-op unless `down` failed before stopping it


