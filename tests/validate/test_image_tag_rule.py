"""The `image_tag` Terraform variable and the configuration accept and reject exactly the same tags.

Terraform evaluates the synthesized validation condition itself (`terraform console`, RE2), and
config.model.image_tag_problem judges the same tags in Python: one rule, two renderings.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

from config.model import image_tag_problem
from tests.support import terraform

TAGS = ["v0.12.4", "0f3c2a9b1d4e", "release_2026-11-25", "a" * 128, "a" * 129, "latest", "Latest", "LATEST", "main",
        "Main", "master", "dev", "nightly", "stable", "edge", "", ".v1", "-v1", "_v1", "v1 2", "v1/2", "vé", "v1\n"]


def test_terraform_and_configuration_judge_every_tag_alike(synthesized, tmp_path):
    terraform.required_tools()
    variable = synthesized.stack("ajuda-prod")["variable"]["image_tag"]
    (validation,) = variable["validation"]
    condition = re.fullmatch(r"\$\{(.*)\}", validation["condition"], re.S).group(1)
    assert "var.image_tag" in condition
    expression = f"[for t in {json.dumps(TAGS)} : {condition.replace('var.image_tag', 't')}]"
    result = subprocess.run(["terraform", "console"], input=expression + "\n", cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "CHECKPOINT_DISABLE": "1"})
    assert result.returncode == 0, result.stderr
    terraform_accepts = json.loads(result.stdout.replace(",\n]", "\n]"))
    python_accepts = [image_tag_problem(tag) is None for tag in TAGS]
    assert dict(zip(TAGS, terraform_accepts)) == dict(zip(TAGS, python_accepts))
    assert any(python_accepts) and not all(python_accepts)

