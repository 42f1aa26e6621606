"""Each construct synthesized on its own, inside a minimal stack, with edge-case inputs.

A module builds its stacks once (module-scoped fixtures calling ``synth``); tests look resources
up by type and attribute values, never by the logical ids Terraform addresses are made of.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cdktf import TerraformStack, Testing
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

# Plain strings stand in for references a stack would pass (ids, ARNs): the construct treats them as opaque.
ACCOUNT = "123456789012"
REGION = "eu-west-1"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
VPC_ID = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
CLIENT_GROUP = "sg-0cccccccccccccccc"


class Resources:
    """The synthesized JSON of one stack."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        return list(self.document.get("resource", {}).get(resource_type, {}).values())

    def where(self, resource_type: str, **attributes: Any) -> list[dict[str, Any]]:
        return [r for r in self.of_type(resource_type) if all(r.get(k) == v for k, v in attributes.items())]

    def one(self, resource_type: str, **attributes: Any) -> dict[str, Any]:
        matches = self.where(resource_type, **attributes)
        assert len(matches) == 1, f"expected one {resource_type} with {attributes}, got {len(matches)}"
        return matches[0]

    def address(self, resource_type: str, resource: dict[str, Any]) -> str:
        """``type.name``: what another resource's ``${...}`` reference to ``resource`` starts with."""
        for name, candidate in self.document["resource"][resource_type].items():
            if candidate is resource:
                return f"{resource_type}.{name}"
        raise AssertionError(f"not a {resource_type} of this stack")


def checkov_skips(resource: dict[str, Any]) -> set[str]:
    """The check ids skipped on ``resource`` (modules/checkov.py writes them under "//")."""
    lines = resource.get("//", {}).get("checkov", [])
    return {line.split("=", 1)[1].split(":", 1)[0] for line in lines}


def synth(build: Callable[[Construct], object]) -> Resources:
    """Synthesize one stack holding an AWS provider and what ``build`` adds to it."""
    stack = TerraformStack(Testing.app(), "test")
    AwsProvider(stack, "aws", region=REGION)
    build(stack)
    # full_synth, not synth: only a full synthesis applies add_override (the checkov skips, lifecycle).
    outdir = Path(Testing.full_synth(stack))
    try:
        return Resources(json.loads((outdir / "stacks" / "test" / "cdk.tf.json").read_text()))
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
