"""Operators use the CDKTF CLI: `cdktf synth` must write every environment's stacks in one run."""

from __future__ import annotations

import json
import os

from tests.support.cdktf_project import CdktfProject


def test_cdktf_synth_writes_every_stack(tmp_path):
    env = {**os.environ, "CI": "true", "AJUDA_CONFIG_FILE": "", "AJUDA_ENVIRONMENTS": "",
           "AJUDA_BOOTSTRAP_STATE_DIR": str(tmp_path / "state"), "CHECKPOINT_DISABLE": "1"}
    env.pop("CDKTF_OUTDIR", None)
    project = CdktfProject(tmp_path / "project", env)
    project.cli("synth")
    manifest = json.loads((project.workdir / "cdktf.out" / "manifest.json").read_text())
    expected = {"bootstrap", "local-bootstrap", "ci-access"} | {f"ajuda-{e}" for e in ("dev", "staging", "prod", "local")} \
        | {f"ajuda-{e}-database" for e in ("dev", "staging", "prod")}
    assert set(manifest["stacks"]) == expected
    for stack in expected:
        assert (project.stack_dir(stack) / "cdk.tf.json").is_file(), stack
