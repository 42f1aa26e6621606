"""Checkov skips recorded next to resources, and the gate that honours them (tools/checkov_gate.py)."""

from __future__ import annotations

import json
import re

from modules.service import CONTAINER_NAME
from tools import checkov_gate


def _skip_entries(stack: dict):
    """(resource type, logical id, raw entry) for every "//".checkov entry in a stack."""
    for resource_type, resources in stack.get("resource", {}).items():
        for logical_id, body in resources.items():
            comment = body.get("//")
            if comment is None:
                continue
            assert isinstance(comment, dict), f"{resource_type}.{logical_id}: '//' is not an object"
            for entry in comment.get("checkov", []):
                yield resource_type, logical_id, entry


# --- skips in the synthesized stacks ------------------------------------------------------------

def test_every_recorded_skip_names_a_check_and_gives_a_reason(synthesized):
    seen = 0
    for name, stack in synthesized.stacks.items():
        for resource_type, logical_id, entry in _skip_entries(stack):
            seen += 1
            match = checkov_gate._SKIP.match(entry)
            assert match, f"{name} {resource_type}.{logical_id}: {entry!r} is not checkov:skip=<ID>:<reason>"
            assert match["reason"].strip(), f"{name} {resource_type}.{logical_id}: {match['check']} has no reason"
    assert seen, "no skip recorded anywhere: the scan above proved nothing"


def test_the_gate_reads_every_recorded_skip(synthesized):
    for name, stack in synthesized.stacks.items():
        entries = {(logical_id, checkov_gate._SKIP.match(entry)["check"]) for _, logical_id, entry in _skip_entries(stack)}
        read = {(logical_id, check) for logical_id, checks in checkov_gate.inline_skips(stack).items() for check in checks}
        assert read == entries, name


def _open_webui(stack: dict) -> tuple[dict, str]:
    """Open WebUI's ECS service (the one whose load balancer entry names its container) and its container's log group."""
    (service,) = [s for s in stack["resource"]["aws_ecs_service"].values()
                  if any(lb["container_name"] == CONTAINER_NAME for lb in s.get("load_balancer", []))]
    task_id = _referenced_id(service["task_definition"], "aws_ecs_task_definition")
    containers = json.loads(stack["resource"]["aws_ecs_task_definition"][task_id]["container_definitions"])
    (container,) = [c for c in containers if c["name"] == CONTAINER_NAME]
    return service, container["logConfiguration"]["options"]["awslogs-group"]


def _referenced_id(reference: str, resource_type: str) -> str:
    match = re.fullmatch(rf"\$\{{{resource_type}\.([^.}}]+)\.[a-z_]+\}}", reference)
    assert match, f"{reference!r} is not a reference to a {resource_type}"
    return match.group(1)


def _one_id(stack: dict, resource_type: str, where=lambda body: True) -> str:
    """The logical id of the one resource of that type that ``where`` accepts (fails on none or several:
    a renamed or removed resource cannot make an absence assertion pass)."""
    found = [i for i, body in stack["resource"].get(resource_type, {}).items() if where(body)]
    assert len(found) == 1, f"expected one {resource_type}, found {found}"
    return found[0]


def test_conditional_skips_follow_configuration(synthesized):
    """Skips that depend on a configuration value appear only where that value calls for them.

    Each resource is found by what it is (the log group Open WebUI's container writes to, the
    stack's one replication group, the target group Open WebUI's service registers in), never by a
    piece of its logical id: an absence must be the absence of a skip, not of the resource."""
    checks = {}
    for env in ("prod", "staging"):
        stack = synthesized.stack(f"ajuda-{env}")
        skips = checkov_gate.inline_skips(stack)
        service, log_group = _open_webui(stack)
        found = {
            "service logs": _one_id(stack, "aws_cloudwatch_log_group", lambda body, name=log_group: body["name"] == name),
            "cache": _one_id(stack, "aws_elasticache_replication_group"),
            "targets": _referenced_id(service["load_balancer"][0]["target_group_arn"], "aws_lb_target_group"),
        }
        checks[env] = {what: set(skips.get(logical_id, ())) for what, logical_id in found.items()}

    # Prod keeps task logs a year and runs a replica of the cache; staging does neither.
    assert "CKV_AWS_338" not in checks["prod"]["service logs"]
    assert "CKV_AWS_338" in checks["staging"]["service logs"]
    assert "CKV2_AWS_50" not in checks["prod"]["cache"]
    assert "CKV2_AWS_50" in checks["staging"]["cache"]
    # With a domain, plain HTTP only redirects: the target group needs no HTTP skip.
    assert "CKV_AWS_378" not in checks["prod"]["targets"]


# --- the gate itself ----------------------------------------------------------------------------

def _stack(skips: dict[str, list[str]]) -> dict:
    return {"resource": {"aws_s3_bucket": {
        logical_id: {"bucket": logical_id, "//": {"checkov": entries}} for logical_id, entries in skips.items()
    }}}


def _report(passed: int, failed: list[tuple[str, str]]) -> dict:
    return {
        "summary": {"passed": passed, "failed": len(failed), "parsing_errors": 0},
        "results": {"failed_checks": [
            {"check_id": check, "resource": resource, "check_name": "fake"} for check, resource in failed
        ]},
    }


def test_a_failure_with_a_reasoned_skip_counts_as_skipped():
    stack = _stack({"logs_ABC": ["checkov:skip=CKV_AWS_18:This is the log archive"]})
    counts, failures, accepted = checkov_gate.judge([_report(3, [("CKV_AWS_18", "aws_s3_bucket.logs_ABC")])], stack)
    assert counts == {"passed": 3, "failed": 0, "skipped": 1, "parsing_errors": 0}
    assert failures == []
    assert accepted == ["CKV_AWS_18 logs_ABC: This is the log archive"]


def test_a_failure_without_a_skip_or_with_an_empty_reason_fails():
    stack = _stack({"logs_ABC": ["checkov:skip=CKV_AWS_18:This is the log archive", "checkov:skip=CKV_AWS_145:  "]})
    report = _report(0, [
        ("CKV_AWS_145", "resource.logs_ABC"),  # skip present, reason blank
        ("CKV_AWS_21", "aws_s3_bucket.logs_ABC"),  # no skip for this check
        ("CKV_AWS_18", "aws_s3_bucket.other_DEF"),  # the skip is on another resource
    ])
    counts, failures, accepted = checkov_gate.judge([report], stack)
    assert counts["failed"] == 3 and counts["skipped"] == 0 and accepted == []
    assert [failure.split()[0] for failure in failures] == ["CKV_AWS_145", "CKV_AWS_21", "CKV_AWS_18"]


def _main(tmp_path, report, stack: dict, status: int = 0) -> int:
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text(json.dumps(stack))
    report_path = tmp_path / "report.json"
    report_path.write_text(json.dumps(report))
    return checkov_gate.main([str(report_path), str(stack_dir), str(status)])


def test_main_fails_an_empty_scan(tmp_path):
    assert _main(tmp_path, _report(0, []), _stack({})) == 1


def test_main_passes_when_every_failure_is_skipped_with_a_reason(tmp_path):
    stack = _stack({"logs_ABC": ["checkov:skip=CKV_AWS_18:This is the log archive"]})
    assert _main(tmp_path, [_report(5, [("CKV_AWS_18", "aws_s3_bucket.logs_ABC")])], stack, status=1) == 0


def test_main_fails_an_unskipped_failure(tmp_path):
    assert _main(tmp_path, _report(5, [("CKV_AWS_18", "aws_s3_bucket.logs_ABC")]), _stack({}), status=1) == 1
