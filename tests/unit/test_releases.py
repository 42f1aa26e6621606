"""Releases as reviewed data: the image each environment runs, and how ECS may roll it out and back."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from config.environments import PROD, RELEASES
from config.model import ConfigError, image_reference, validate

DIGEST = "sha256:" + "ab" * 32


def _container(synthesized, stack):
    (container,) = json.loads(synthesized.one(stack, "aws_ecs_task_definition", "service_task")["container_definitions"])
    return container


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_each_environment_runs_the_release_its_configuration_names(synthesized, env):
    tag, digest = RELEASES[env]
    image = _container(synthesized, f"ajuda-{env}")["image"]
    assert image.endswith(f"@{digest}" if digest else f":{tag}")
    # No input can override the reviewed release: a forgotten -var would otherwise roll it back.
    assert "variable" not in synthesized.stack(f"ajuda-{env}")


def test_a_pinned_digest_is_what_the_task_pulls():
    """Image references: repository-url@sha256:digest or repository-url:tag.

    "ContainerDefinition image", Amazon ECS API Reference:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
    """
    repo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ajuda-digital"
    assert image_reference(repo, replace(PROD.service, image_digest=DIGEST)) == f"{repo}@{DIGEST}"
    assert image_reference(repo, replace(PROD.service, image_digest=None)) == f"{repo}:{PROD.service.image_tag}"


@pytest.mark.parametrize("digest", ["sha256:" + "AB" * 32, "sha256:abc", "md5:" + "ab" * 32, ""])
def test_a_malformed_digest_is_a_configuration_error(digest):
    """An OCI image digest is algorithm:hex; ECR uses sha256 (64 lower-case hex digits).

    "Pulling an image from an Amazon ECR private repository", Amazon ECR User Guide:
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/docker-pull-ecr-image.html
    """
    with pytest.raises(ConfigError, match=r"prod\.service\.image_digest"):
        validate(replace(PROD, service=replace(PROD.service, image_digest=digest)))


def test_the_service_leaves_the_task_definition_to_the_release_command(synthesized):
    service = synthesized.one("ajuda-prod", "aws_ecs_service", "service_")
    assert set(service["lifecycle"]["ignore_changes"]) == {"desired_count", "task_definition"}
    # Replaced revisions stay ACTIVE: rollbacks and the running service refer to them.
    assert synthesized.one("ajuda-prod", "aws_ecs_task_definition", "service_task")["skip_destroy"] is True


@pytest.mark.parametrize("stack", ["ajuda-dev", "ajuda-prod", "ajuda-local"])
def test_deployment_alarms_roll_back_on_unhealthy_targets_and_target_5xx(synthesized, stack):
    """DeploymentAlarms work only with the ECS (rolling update) deployment controller.

    "DeploymentAlarms", Amazon ECS API Reference:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html
    """
    service = synthesized.one(stack, "aws_ecs_service", "service_")
    assert service["alarms"]["enable"] is True and service["alarms"]["rollback"] is True
    assert service.get("deployment_controller", {"type": "ECS"})["type"] == "ECS"
    alarms = {a["alarm_name"]: a for a in synthesized.resources(stack, "aws_cloudwatch_metric_alarm").values()}
    names = service["alarms"]["alarm_names"]
    assert sorted(alarms[n]["metric_name"] for n in names) == ["HTTPCode_Target_5XX_Count", "UnHealthyHostCount"]
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}


def test_the_migration_overrides_output_names_the_service_container(synthesized):
    outputs = synthesized.stack("ajuda-prod")["output"]
    overrides = json.loads(outputs["migration_overrides"]["value"])
    (override,) = overrides["containerOverrides"]
    assert override["name"] == _container(synthesized, "ajuda-prod")["name"]
    assert {"cluster_name", "service_name", "task_definition_arn", "app_subnet_ids", "app_security_group_id"} <= set(outputs)
