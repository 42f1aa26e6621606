"""Checkov skips that travel with the resource they are about, each with its one-line reason."""

from __future__ import annotations

from cdktf import TerraformResource


def skip(resource: TerraformResource, check_id: str, reason: str) -> None:
    """Record that ``check_id`` does not apply to ``resource`` and why (read by checkov and by tests)."""
    if not reason.strip():
        raise ValueError(f"checkov skip {check_id} needs a reason")
    existing = getattr(resource, "_checkov_skips", {})
    existing[check_id] = reason
    resource._checkov_skips = existing  # type: ignore[attr-defined]
    resource.add_override("//", {"checkov": [f"checkov:skip={cid}:{why}" for cid, why in existing.items()]})
