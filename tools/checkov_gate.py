"""Judge a checkov report against the skips recorded next to each resource.

checkov's terraform_json runner ignores inline suppressions (bridgecrewio/checkov#4634), so the
constructs record them where a reviewer sees them, in each resource's ``"//"`` comment:

    "//": {"checkov": ["checkov:skip=CKV_AWS_18:This is the log archive; logging it into itself would loop"]}

This gate counts a failed check as skipped only when that resource carries a skip for that check
with a non-empty reason; any other failure, a parsing error or an empty scan fails the gate.

    python tools/checkov_gate.py REPORT.json STACK_DIR [CHECKOV_EXIT_STATUS]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_SKIP = re.compile(r"^checkov:skip=(?P<check>[A-Z0-9_]+):(?P<reason>.*)$")


def inline_skips(stack: dict) -> dict[str, dict[str, str]]:
    """logical id -> {check id -> reason} for every resource with a recorded skip."""
    result: dict[str, dict[str, str]] = {}
    for resources in stack.get("resource", {}).values():
        for logical_id, body in resources.items():
            entries = body.get("//", {}).get("checkov", []) if isinstance(body.get("//"), dict) else []
            for entry in entries:
                match = _SKIP.match(entry)
                if match:
                    result.setdefault(logical_id, {})[match["check"]] = match["reason"].strip()
    return result


def _logical_id(resource: str) -> str:
    # checkov names resources "resource.<id>" (python checks) or "<type>.<id>" (graph checks).
    return resource.rsplit(".", 1)[-1]


def judge(reports: list[dict], stack: dict) -> tuple[dict[str, int], list[str], list[str]]:
    """Counts, unaccepted failures, and accepted failures (each with the recorded reason)."""
    skips = inline_skips(stack)
    counts = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0}
    failures, accepted = [], []
    for report in reports:
        summary = report.get("summary", {})
        counts["passed"] += int(summary.get("passed", 0))
        counts["parsing_errors"] += int(summary.get("parsing_errors", 0))
        for failed in report.get("results", {}).get("failed_checks", []):
            reason = skips.get(_logical_id(failed["resource"]), {}).get(failed["check_id"], "")
            if reason:
                counts["skipped"] += 1
                accepted.append(f"{failed['check_id']} {_logical_id(failed['resource'])}: {reason}")
            else:
                counts["failed"] += 1
                failures.append(f"{failed['check_id']} {failed['resource']}: {failed.get('check_name', '')}")
    return counts, failures, accepted


def main(argv: list[str]) -> int:
    report_path, stack_dir = Path(argv[0]), Path(argv[1])
    status = int(argv[2]) if len(argv) > 2 else 0
    try:
        data = json.loads(report_path.read_text())
    except (OSError, ValueError) as error:
        print(f"checkov {stack_dir}: no JSON report ({error}); exit status {status}", file=sys.stderr)
        return 1
    reports = data if isinstance(data, list) else [data]
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    counts, failures, accepted = judge(reports, stack)
    print(f"checkov {stack_dir.name}: passed={counts['passed']} failed={counts['failed']} "
          f"skipped-with-reason={counts['skipped']} parsing_errors={counts['parsing_errors']}", file=sys.stderr)
    for skip in accepted:
        print(f"  skipped {skip}", file=sys.stderr)
    for failure in failures:
        print(f"  FAILED {failure}", file=sys.stderr)
    problems = counts["failed"] or counts["parsing_errors"] or status not in (0, 1)
    if counts["passed"] + counts["failed"] + counts["skipped"] == 0:
        print(f"checkov {stack_dir.name}: no check ran", file=sys.stderr)
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
