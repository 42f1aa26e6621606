"""Terraform lifecycle guards shared by the constructs that hold data."""

from __future__ import annotations

from cdktf import TerraformResource


def prevent_destroy(resource: TerraformResource, enabled: bool) -> None:
    """With ``enabled``, Terraform fails any plan that would destroy or replace ``resource``.

    Renaming a database or bucket forces a replacement; this turns that into a plan error instead
    of data loss (issue 9, "Data-loss guard"). Switched on per environment by configuration.
    """
    if enabled:
        resource.add_override("lifecycle.prevent_destroy", True)
