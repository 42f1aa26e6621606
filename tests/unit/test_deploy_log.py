"""tools/deploy_log.py: the failing resource and error out of a cdktf/Terraform log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools import deploy_log

ROOT = Path(__file__).resolve().parents[2]

# cdktf deploy output (CI=true), shaped as it prints a provider error: the stack name prefixes the
# first line of each chunk, Terraform boxes each diagnostic, colours included.
LOG = """\
local-bootstrap  aws_dynamodb_table.state_lock-table_6543B35D: Creating...
                 \x1b[33m╷\x1b[0m\x1b[0m
                 \x1b[33m│\x1b[0m \x1b[0m\x1b[1m\x1b[33mWarning: \x1b[0m\x1b[0m\x1b[1mIncomplete lock file information for providers\x1b[0m
                 \x1b[33m│\x1b[0m \x1b[0m  with the lock file,
                 \x1b[33m╵\x1b[0m\x1b[0m
local-bootstrap  \x1b[31m╷\x1b[0m\x1b[0m
                 \x1b[31m│\x1b[0m \x1b[0m\x1b[1m\x1b[31mError: \x1b[0m\x1b[0m\x1b[1mcreating AWS DynamoDB Table (ajuda-digital-local-locks): ResourceInUseException: Table already exists: ajuda-digital-local-locks\x1b[0m
                 \x1b[31m│\x1b[0m \x1b[0m
                 \x1b[31m│\x1b[0m \x1b[0m\x1b[0m  with aws_dynamodb_table.state_lock-table_6543B35D (state/lock-table),
                 \x1b[31m│\x1b[0m \x1b[0m  on cdk.tf.json line 63, in resource "aws_dynamodb_table" "state_lock-table_6543B35D":
                 \x1b[31m│\x1b[0m \x1b[0m  63:       }
                 \x1b[31m╵\x1b[0m\x1b[0m
local-bootstrap  ╷
                 │ Error: reading S3 Bucket (ajuda-digital-local-state): operation error S3: HeadBucket, StatusCode: 403
                 │
                 ╵
Error: terraform deploy failed with exit code 1
"""


def test_each_boxed_error_with_the_resource_it_names():
    found = deploy_log.failures(LOG)
    assert found == [
        deploy_log.Failure(error="creating AWS DynamoDB Table (ajuda-digital-local-locks): ResourceInUseException: "
                                 "Table already exists: ajuda-digital-local-locks",
                           resource="aws_dynamodb_table.state_lock-table_6543B35D"),
        deploy_log.Failure(error="reading S3 Bucket (ajuda-digital-local-state): operation error S3: HeadBucket, "
                                 "StatusCode: 403"),
    ]


def test_bare_errors_only_without_a_boxed_one():
    assert deploy_log.failures("Error: terraform deploy failed with exit code 1\n") == [
        deploy_log.Failure(error="terraform deploy failed with exit code 1")]
    assert deploy_log.failures("Apply complete! Resources: 8 added\n") == []


def test_command_reads_only_the_failed_steps_part(tmp_path):
    log = tmp_path / "up.log"
    earlier = "│ Error: an earlier step's error\n╵\n"
    log.write_text(earlier + LOG)
    out = subprocess.run([sys.executable, "-m", "tools.deploy_log", str(log), "--offset", str(len(earlier.encode()))],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "  resource: aws_dynamodb_table.state_lock-table_6543B35D\n" in out
    assert "an earlier step" not in out and out.count("  error:") == 2
    nothing = subprocess.run([sys.executable, "-m", "tools.deploy_log", str(log), "--offset", str(log.stat().st_size)],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "no Terraform error found" in nothing
