"""tools.plan_summary shows the release: the image a changed task definition will run."""

from __future__ import annotations

import json

from tools.plan_summary import UNKNOWN, render, summarize

REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ajuda-digital"
SECRET = "s3cr3t-never-printed"


def task_definition(actions, before_image, after_image, after_unknown=None):
    def values(image):
        if image is None:
            return None
        return {"container_definitions": json.dumps([{"name": "open-webui", "image": image,
                                                      "environment": [{"name": "X", "value": SECRET}]}])}
    return {"address": "module.service.aws_ecs_task_definition.task", "mode": "managed", "type": "aws_ecs_task_definition",
            "change": {"actions": actions, "before": values(before_image), "after": values(after_image),
                       "after_unknown": after_unknown or {}}}


def plan(*changes):
    return {"format_version": "1.2", "resource_changes": list(changes)}


def test_a_release_plan_leads_with_the_image_line():
    document = render(summarize(plan(task_definition(["delete", "create"], f"{REPO}:v0.12.4", f"{REPO}:v0.13.0"))), "ajuda-prod")
    first = document.splitlines()[2]
    assert first.startswith("**Release:**") and f"`{REPO}:v0.12.4`" in first and f"`{REPO}:v0.13.0`" in first
    assert SECRET not in document


def test_a_task_definition_change_without_a_new_image_has_no_release_line():
    document = render(summarize(plan(task_definition(["delete", "create"], f"{REPO}:v0.12.4", f"{REPO}:v0.12.4"))), "ajuda-prod")
    assert "**Release:**" not in document


def test_an_image_not_yet_known_says_so_and_a_first_deploy_has_no_before():
    summary = summarize(plan(task_definition(["create"], None, None, after_unknown={"container_definitions": True})))
    (image,) = summary.images
    assert (image.before, image.after) == ("(none)", UNKNOWN)
