"""What the stack synthesized for the prod task definition, and the apply-time values the
synthesized JSON itself fixes (the rest of the harness reads the task definition only through here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.synthesized import Synthesized, synthesize_all

PROD_STACK = "ajuda-prod"


def synthesize(outdir: Path) -> Synthesized:
    """One synthesis of every stack, as tests/conftest.py's ``synthesized`` fixture does (for bench)."""
    state_dir = outdir.parent / "bootstrap-state"
    state_dir.mkdir(parents=True, exist_ok=True)
    return synthesize_all(outdir, state_dir)


def container_definition(synthesized, stack: str = PROD_STACK) -> dict:
    from modules.service import CONTAINER_NAME

    task = synthesized.one(stack, "aws_ecs_task_definition", "service_task")
    containers = [c for c in json.loads(task["container_definitions"]) if c["name"] == CONTAINER_NAME]
    assert len(containers) == 1, f"no single {CONTAINER_NAME!r} container in {stack}"
    return containers[0]


def migration_container_override(synthesized, stack: str = PROD_STACK) -> dict:
    """The ``containerOverrides`` item operators pass to run-task (the stack output)."""
    from modules.service import CONTAINER_NAME

    value = json.loads(synthesized.stack(stack)["output"]["migration_overrides"]["value"])
    items = [o for o in value["containerOverrides"] if o["name"] == CONTAINER_NAME]
    assert len(items) == 1
    return items[0]


_REFERENCE = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")


class UnresolvedReference(ValueError):
    pass


def resolve_terraform_value(value: str, stack_json: dict) -> str:
    """The apply-time value of a synthesized string, where the synthesized JSON itself fixes it.

    Only ``aws_s3_bucket.<id>.id`` / ``.bucket`` (= the resource's ``bucket``, which the test then
    creates in moto) is known; any other reference raises: the harness does not know it.
    """

    def one(match: re.Match) -> str:
        rtype, rid, attr = match.groups()
        resource = stack_json.get("resource", {}).get(rtype, {}).get(rid)
        if rtype == "aws_s3_bucket" and attr in ("id", "bucket") and resource and "${" not in resource["bucket"]:
            return resource["bucket"]
        raise UnresolvedReference(f"the harness cannot resolve ${{{rtype}.{rid}.{attr}}}")

    resolved = _REFERENCE.sub(one, value)
    if "${" in resolved:
        raise UnresolvedReference(f"unresolved Terraform expression in {value!r}")
    return resolved


_SECRET_REFERENCE = re.compile(r"\$\{aws_secretsmanager_secret\.([A-Za-z0-9_-]+)\.arn\}")


def secret_name_of_reference(value_from: str, stack_json: dict) -> str:
    """``${aws_secretsmanager_secret.<id>.arn}[:key::]`` -> that resource's synthesized ``name``."""
    match = _SECRET_REFERENCE.match(value_from)
    if not match:
        raise UnresolvedReference(f"valueFrom is not a secret ARN reference: {value_from!r}")
    resource = stack_json["resource"]["aws_secretsmanager_secret"][match.group(1)]
    return resource["name"]
