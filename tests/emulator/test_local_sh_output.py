"""On a failed deploy the main job prints the failing resource, Terraform's error and the log's path.

The deployment is made to fail cheaply: the emulator already holds the bootstrap's lock table, so the
very first ``cdktf deploy`` fails on that resource, a minute in.
"""

from __future__ import annotations

import os
import re
import subprocess

import boto3

from tests.emulator.local_sh_output import MAX_LINES, plain, steps
from tests.support import terraform
from tests.support.cdktf_project import ROOT
from tools import emulator

LOCK_TABLE = "ajuda-digital-local-locks"


def test_a_failed_deploy_names_the_resource_the_error_and_the_log(tmp_path):
    terraform.required_tools()
    local_dir = tmp_path / "local"
    state_dir = local_dir / "moto"
    env = {**os.environ, "CI": "true", "AJUDA_LOCAL_DIR": str(local_dir), "AJUDA_CONFIG_FILE": ""}
    try:
        assert emulator.cli_start(state_dir, None, 60) == 0
        endpoint = emulator.running_endpoint(state_dir)
        boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="emulator",
                     aws_secret_access_key="emulator").create_table(
            TableName=LOCK_TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}])
        up = subprocess.run(["bash", str(ROOT / "scripts" / "local.sh"), "up"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200)
    finally:
        emulator.cli_stop(state_dir)
    lines = plain(up.stdout)
    assert up.returncode != 0, up.stdout[-3000:]
    assert len(lines) <= MAX_LINES, "\n".join(lines[:60])
    assert steps(up.stdout)[-1].startswith("synthesize"), lines
    assert re.search(r"deploy local-bootstrap .*FAILED after \d+s \(exit \d+\)$", up.stdout, re.M), lines
    resource = next(line for line in lines if line.strip().startswith("resource:"))
    assert re.fullmatch(r"\s*resource: aws_dynamodb_table\.state_lock-table_[0-9A-F]+", resource), resource
    error = next(line for line in lines if line.strip().startswith("error:"))
    assert "already exists" in error.lower() or "ResourceInUse" in error, error
    assert f"full log: {local_dir / 'up.log'}" in lines
    assert "Error:" in (local_dir / "up.log").read_text(errors="replace")
