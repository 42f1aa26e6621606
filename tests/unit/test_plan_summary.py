"""tools.plan_summary: Markdown summaries of `terraform show -json` plans (no cdktf import here)."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.terraform import required_tools
from tools import plan_summary
from tools.plan_summary import GITHUB_COMMENT_LIMIT, classify, render, summarize
from tools.terraform_cli import write_cli_config

SECRET = "s3cr3t-Value-never-printed"


def change(address: str, actions: list[str], mode: str = "managed", **extra) -> dict:
    """One resource_changes entry, shaped like Terraform's (values included, to prove they are not printed)."""
    resource_type, name = address.split(".")[-2:]
    entry = {
        "address": address,
        "mode": mode,
        "type": resource_type,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": actions,
            "before": None if actions == ["create"] else {"password": SECRET},
            "after": None if actions == ["delete"] else {"password": SECRET},
            "after_unknown": {},
            "before_sensitive": {"password": True},
            "after_sensitive": {"password": True},
        },
    }
    for key, value in extra.items():
        if key in ("replace_paths", "importing"):
            entry["change"][key] = value
        else:
            entry[key] = value
    return entry


def plan(*changes: dict, **extra) -> dict:
    return {"format_version": "1.2", "terraform_version": "1.11.4", "resource_changes": list(changes), **extra}


MIXED = plan(
    change("aws_s3_bucket.documents", ["create"]),
    change("aws_s3_bucket.logs", ["create"]),
    change("aws_security_group.alb", ["update"]),
    change("aws_db_instance.main", ["delete", "create"], action_reason="replace_because_cannot_update",
           replace_paths=[["engine_version"], ["tags", "Name"]]),
    change("aws_ecs_service.app", ["create", "delete"]),
    change("module.cache.aws_elasticache_cluster.old", ["delete"], action_reason="delete_because_no_resource_config"),
    change("aws_iam_role.task", ["no-op"]),
    change("data.aws_caller_identity.current", ["read"], mode="data"),
)


def test_classify_every_action_list() -> None:
    assert classify(["create"]) == "add"
    assert classify(["update"]) == "change"
    assert classify(["delete"]) == "destroy"
    assert classify(["delete", "create"]) == "replace"
    assert classify(["create", "delete"]) == "replace"
    assert classify(["read"]) is None
    assert classify(["no-op"]) is None


def test_counts_per_resource_type_sorted_with_totals() -> None:
    summary = summarize(MIXED)
    assert dict(summary.counts["aws_s3_bucket"]) == {"add": 2}
    assert dict(summary.counts["aws_security_group"]) == {"change": 1}
    assert dict(summary.counts["aws_db_instance"]) == {"replace": 1}
    assert dict(summary.counts["aws_ecs_service"]) == {"replace": 1}
    assert dict(summary.counts["aws_elasticache_cluster"]) == {"destroy": 1}
    assert "aws_iam_role" not in summary.counts  # no-op
    assert [summary.total(c) for c in ("add", "change", "destroy", "replace")] == [2, 1, 1, 2]

    text = render(summary, "ajuda-dev")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == sorted(summary.counts)
    assert "| `aws_s3_bucket` | 2 | 0 | 0 | 0 |" in rows
    assert "| **Total** | **2** | **1** | **1** | **2** |" in text
    assert "**Plan:** 2 to add, 1 to change, 1 to destroy, 2 to replace." in text
    assert text.startswith("### Terraform plan: `ajuda-dev`")


def test_destroy_and_replace_are_flagged_with_reasons() -> None:
    text = render(summarize(MIXED), "ajuda-prod")
    flagged = [line for line in text.splitlines() if line.startswith("- :warning:")]
    assert len(flagged) == 3
    db = next(line for line in flagged if "aws_db_instance.main" in line)
    assert "**REPLACE**" in db and "destroy before create" in db
    assert "a changed attribute forces replacement" in db and "`engine_version`" in db and "`tags.Name`" in db
    ecs = next(line for line in flagged if "aws_ecs_service.app" in line)
    assert "**REPLACE**" in ecs and "create before destroy" in ecs
    cache = next(line for line in flagged if "aws_elasticache_cluster.old" in line)
    assert "**DESTROY**" in cache and "`module.cache.aws_elasticache_cluster.old`" in cache
    assert "its configuration was removed" in cache
    assert "#### :warning: 3 destructive change(s)" in text


def test_no_op_plan_says_no_changes() -> None:
    no_op = plan(
        change("aws_iam_role.task", ["no-op"]),
        change("data.aws_iam_policy_document.x", ["read"], mode="data"),
    )
    text = render(summarize(no_op), "ajuda-staging")
    assert "No changes." in text
    assert "| Resource type" not in text and ":warning:" not in text


def test_missing_or_null_resource_changes_is_a_no_op() -> None:
    for document in ({"format_version": "1.2"}, {"format_version": "1.2", "resource_changes": None}):
        assert "No changes." in render(summarize(document), "ajuda-dev")


def test_reads_of_data_sources_are_ignored() -> None:
    reads = plan(
        change("data.aws_availability_zones.available", ["read"], mode="data"),
        # a managed entry with a "read" action is not counted either
        change("aws_ssm_parameter.x", ["read"]),
        change("aws_sqs_queue.q", ["create"]),
    )
    summary = summarize(reads)
    assert set(summary.counts) == {"aws_sqs_queue"}
    assert "aws_availability_zones" not in render(summary, "ajuda-dev")


def test_values_are_never_printed() -> None:
    text = render(summarize(MIXED), "ajuda-dev")
    assert SECRET not in text
    assert "password" not in text


def test_imports_and_drift_are_noted() -> None:
    document = plan(
        change("aws_s3_bucket.imported", ["no-op"], importing={"id": "bucket-name"}),
        resource_drift=[change("aws_s3_bucket.drifted", ["update"])],
    )
    text = render(summarize(document), "ajuda-dev")
    assert "1 to import" in text
    assert "1 resource(s) changed outside Terraform" in text


def test_errored_plan_is_called_out() -> None:
    text = render(summarize(plan(change("aws_sqs_queue.q", ["create"]), errored=True)), "ajuda-dev")
    assert "**errored**" in text


def test_not_a_plan_is_rejected() -> None:
    with pytest.raises(plan_summary.PlanError):
        summarize({"hello": "world"})
    with pytest.raises(plan_summary.PlanError):
        plan_summary.load_plan(io.StringIO("not json"))


def test_text_plan_goes_in_details_and_is_truncated_to_fit_a_comment() -> None:
    summary = summarize(MIXED)
    short = render(summary, "ajuda-dev", text_plan="Plan: 2 to add, 1 to change, 1 to destroy.\n")
    assert "<details><summary>Full plan</summary>" in short and short.rstrip().endswith("</details>")
    assert "Plan: 2 to add" in short and "truncated" not in short

    huge = "\n".join(f'  + resource "aws_s3_bucket" "b{i}" {{ bucket = "b{i}" }}' for i in range(20000))
    text = render(summary, "ajuda-dev", text_plan=huge)
    assert len(text) <= plan_summary.DEFAULT_MAX_CHARS < GITHUB_COMMENT_LIMIT
    assert "truncated" in text and text.rstrip().endswith("</details>")
    assert text.count("```") % 2 == 0  # fences stay balanced

    tight = render(summary, "ajuda-dev", text_plan=huge, max_chars=3000)
    assert len(tight) <= 3000


def test_text_plan_with_backtick_fences_cannot_break_out() -> None:
    text = render(summarize(MIXED), "ajuda-dev", text_plan="```\n<details>\n```")
    assert "````text" in text


def test_cli_reads_file_or_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(MIXED))
    text_file = tmp_path / "plan.txt"
    text_file.write_text("Terraform will perform the following actions:\n")

    assert plan_summary.main(["--stack", "ajuda-dev", str(plan_file), "--text", str(text_file)]) == 0
    from_file = capsys.readouterr().out
    assert "| **Total** |" in from_file and "Terraform will perform" in from_file

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(MIXED)))
    assert plan_summary.main(["--stack", "ajuda-dev"]) == 0
    assert "| **Total** |" in capsys.readouterr().out

    assert plan_summary.main(["--stack", "x", str(tmp_path / "missing.json")]) == 2
    assert "plan_summary:" in capsys.readouterr().err


# --- a real plan from the real Terraform CLI (terraform_data is built in: no provider download) ---

LOCAL_CONFIG = """
variable "generation" { type = string }
variable "secret" {
  type      = string
  sensitive = true
}
resource "terraform_data" "kept" { input = "stable" }
resource "terraform_data" "replaced" { triggers_replace = [var.generation] }
resource "terraform_data" "secretive" { input = var.secret }
"""


def test_real_terraform_plan_is_summarized(tmp_path: Path) -> None:
    terraform, mirror = required_tools()
    # Offline: providers only from the mirror (terraform_data needs none), no checkpoint calls.
    cli_config = write_cli_config(tmp_path / "terraform.rc", mirror)
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1",
           "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
    workdir = tmp_path / "config"
    workdir.mkdir()
    (workdir / "main.tf").write_text(LOCAL_CONFIG)

    def tf(*args: str) -> str:
        result = subprocess.run([terraform, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    tf("init", "-input=false", "-no-color")
    tf("apply", "-auto-approve", "-input=false", "-no-color", "-var", "generation=1", "-var", f"secret={SECRET}")
    tf("plan", "-out=tfplan", "-input=false", "-no-color", "-var", "generation=2", "-var", "secret=Second-s3cr3t")
    document = json.loads(tf("show", "-json", "tfplan"))

    summary = summarize(document)
    assert dict(summary.counts["terraform_data"]) == {"replace": 1, "change": 1}
    assert [(f.category, f.address) for f in summary.flagged] == [("replace", "terraform_data.replaced")]
    text = render(summary, "local", text_plan=tf("show", "-no-color", "tfplan"))
    assert "| `terraform_data` | 0 | 1 | 0 | 1 |" in text
    assert "`triggers_replace`" in text
    summary_part = text.split("<details>")[0]
    assert SECRET not in summary_part and "Second-s3cr3t" not in summary_part
