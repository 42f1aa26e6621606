"""What ``scripts/local.sh`` prints: one line per step, the outputs, the full log kept; on failure, what failed.

test_local_deploy.py checks its own ``local.sh up`` / ``plan`` / ``down`` with these (one deployment
for the whole tier). The failure summary itself is tests/unit/test_deploy_log.py.
"""

from __future__ import annotations

import re
from pathlib import Path

# A step line: "HH:MM:SS  <what> ... ok  12s".
STEP = re.compile(r"^\d\d:\d\d:\d\d  (?P<what>.+?)\s+(?P<result>ok  \d+s|FAILED after \d+s \(exit \d+\))$")
# Setup may add a line or two (creating the venv, the provider mirror), never Terraform's output.
MAX_LINES = 20
UP_OUTPUTS = ("url", "alb_dns_name", "ecr_repository_url", "db_endpoint", "documents_bucket", "cluster_name",
              "service_name")


def plain(text: str) -> list[str]:
    return [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in text.splitlines() if line.strip()]


def steps(text: str) -> list[str]:
    return [m.group("what") for m in map(STEP.match, plain(text)) if m and m.group("result").startswith("ok")]


def check_up_output(text: str, local_dir: Path, outputs: dict) -> None:
    lines = plain(text)
    assert len(lines) <= MAX_LINES, f"local.sh up printed {len(lines)} lines:\n" + "\n".join(lines[:60])
    done = steps(text)
    assert [s.split(" (")[0] for s in done] == [
        "start the AWS emulator", "synthesize", "deploy local-bootstrap", "deploy ajuda-local"], lines
    assert f"full log: {local_dir / 'up.log'}" in lines
    printed = {line.split(" = ", 1)[0]: line.split(" = ", 1)[1] for line in lines if line.startswith("ajuda-local.")}
    assert printed == {f"ajuda-local.{key}": str(outputs[key]) for key in UP_OUTPUTS}
    assert lines[-len(UP_OUTPUTS):] == [f"ajuda-local.{key} = {outputs[key]}" for key in UP_OUTPUTS], "outputs come last"
    log = (local_dir / "up.log").read_text(errors="replace")
    assert "Apply complete!" in log and log.count("\n") > 20 * len(lines), "the full cdktf log is kept"


def check_down_output(text: str, local_dir: Path) -> None:
    lines = plain(text)
    assert len(lines) <= MAX_LINES, "\n".join(lines[:60])
    assert steps(text) == ["destroy ajuda-local", "destroy local-bootstrap"], lines
    assert f"full log: {local_dir / 'down.log'}" in lines
    assert "Destroy complete!" in (local_dir / "down.log").read_text(errors="replace")


def check_plan_output(text: str, code: int, local_dir: Path) -> None:
    """``plan``: its steps, then tools/plan_summary.py's table, exit 2 exactly when it shows changes."""
    lines = plain(text)
    assert steps(text) == ["synthesize", "terraform init ajuda-local", "terraform plan ajuda-local",
                           "terraform show ajuda-local"], lines
    assert f"full log: {local_dir / 'plan.log'}" in lines
    assert "### Terraform plan: `ajuda-local`" in lines
    has_changes = any(line.startswith("**Plan:**") for line in lines)
    assert code == (2 if has_changes else 0), (code, lines)
    if has_changes:
        assert "| Resource type | Add | Change | Destroy | Replace |" in lines
    assert "Terraform will perform" not in text, "the text plan stays in the log"
    assert "Terraform will perform" in (local_dir / "plan.log").read_text(errors="replace") or not has_changes
