"""Terraform ephemeral resources, which CDKTF 0.21 has no class for: the one place that escapes CDKTF.

An ephemeral resource (Terraform 1.10+) is opened on every plan and apply and its result is never
written to state or to a plan file. Terraform lets only write-only arguments (``*_wo``), provider
configurations and other ephemeral blocks consume it; anything else is refused at plan time.

The block is written with ``TerraformStack.add_override`` (tokens in ``arguments``, e.g. another
resource's ``arn``, still resolve), and its attributes are raw Terraform expressions. CDKTF's ``Fn``
helpers would quote such a raw ``${...}`` as a string literal, so expressions that compute on an
ephemeral value are built here too (``json_field``, ``jsonencode``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdktf import TerraformStack
from constructs import Construct


@dataclass(frozen=True)
class EphemeralAttribute:
    """``ephemeral.<type>.<name>.<attribute>``: usable inside expressions, never a value in JSON."""

    expression: str

    @property
    def reference(self) -> str:
        return "${" + self.expression + "}"


@dataclass(frozen=True)
class Ephemeral:
    resource_type: str
    name: str

    def attribute(self, attribute: str) -> EphemeralAttribute:
        return EphemeralAttribute(f"ephemeral.{self.resource_type}.{self.name}.{attribute}")

    def json_field(self, attribute: str, key: str) -> str:
        """``key`` of the JSON document in ``attribute`` (e.g. a secret's ``secret_string``)."""
        return "${jsondecode(" + self.attribute(attribute).expression + ")[" + hcl_string(key) + "]}"


def ephemeral_resource(scope: Construct, id: str, resource_type: str, arguments: Mapping[str, Any]) -> Ephemeral:
    """Declare ``ephemeral "<resource_type>" "<name>"`` in ``scope``'s stack; the name is unique per construct path."""
    path = f"{scope.node.path}/{id}"
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", "_".join(path.split("/")[1:]))
    # The path is unique in the app; the short hash keeps two sanitized paths from colliding.
    name = f"{readable}_{hashlib.sha256(path.encode()).hexdigest()[:8]}"
    TerraformStack.of(scope).add_override(f"ephemeral.{resource_type}.{name}", dict(arguments))
    return Ephemeral(resource_type, name)


def template_literal(text: str) -> str:
    """``text`` verbatim inside a Terraform template string: HCL's own escapes for ``${`` and ``%{``."""
    return text.replace("${", "$${").replace("%{", "%%{")


def hcl_string(value: str) -> str:
    """A Terraform string literal: JSON quoting, plus HCL's own template escapes."""
    return template_literal(json.dumps(value))


def jsonencode(fields: Mapping[str, str | EphemeralAttribute]) -> str:
    """``${jsonencode({...})}`` of plain strings and ephemeral attributes: ephemeral itself, so write-only only."""
    members = ", ".join(
        f"{hcl_string(key)} = {value.expression if isinstance(value, EphemeralAttribute) else hcl_string(value)}"
        for key, value in fields.items())
    return "${jsonencode({" + members + "})}"
