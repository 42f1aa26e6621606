"""modules/service.py and modules/gateway.py on their own: one-task services with the fewest options."""

from __future__ import annotations

import json
from typing import Any

import pytest
from constructs import Construct

from config.model import ChatModel, GatewayConfig, ModelsConfig, ServiceConfig
from modules import model_gateway, open_webui
from modules.gateway import Gateway, GatewayProps
from modules.service import Service, ServiceProps
from tests.unit.constructs.conftest import (
    ACCOUNT,
    CLIENT_GROUP,
    KMS_KEY_ARN,
    REGION,
    SUBNETS,
    VPC_ID,
    Resources,
    checkov_skips,
    synth,
)

SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:edge/key-AbCdEf"
REPOSITORY_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/edge"
ONE_MODEL = ModelsConfig(chat_models=(ChatModel(id="amazon.nova-lite-v1:0", name="Nova Lite"),), bedrock_region=REGION)


@pytest.fixture(scope="module")
def services() -> Resources:
    def build(stack: Construct) -> None:
        service = Service(stack, "service", ServiceProps(
            config=ServiceConfig(desired_count=1, min_count=1, max_count=1, log_retention_days=14),
            name="edge", region=REGION, account_id=ACCOUNT, subnet_ids=SUBNETS, security_group_id=CLIENT_GROUP,
            target_group_arn="arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/edge-web/0123456789abcdef",
            request_count_resource_label="app/edge-alb/0123/targetgroup/edge-web/4567",
            image=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/edge:v1", kms_key_arn=KMS_KEY_ARN,
            documents_bucket_arn="arn:aws:s3:::edge-documents", repository_arn=REPOSITORY_ARN,
            environment={"WEBUI_NAME": "edge"}, secrets={}, secret_arns=[]))
        gateway = Gateway(stack, "gateway", GatewayProps(
            config=GatewayConfig(desired_count=1), models=ONE_MODEL, name="edge", region=REGION, account_id=ACCOUNT,
            vpc_id=VPC_ID, subnet_ids=SUBNETS, client_security_group_id=CLIENT_GROUP, image="edge-gateway:1",
            repository_arn=REPOSITORY_ARN, kms_key_arn=KMS_KEY_ARN, master_key_secret_arn=SECRET_ARN,
            log_retention_days=14))
        gateway.run_in(service.cluster_arn)
    return synth(build)


def _container(resources: Resources, family: str) -> dict[str, Any]:
    (container,) = json.loads(resources.one("aws_ecs_task_definition", family=family)["container_definitions"])
    return container


def test_open_webui_port_and_health_check_come_from_its_container_contract(services: Resources) -> None:
    """The container listens on the image's port and ECS probes Open WebUI's liveness path there."""
    container = _container(services, "edge-open-webui")
    assert container["portMappings"] == [{"containerPort": open_webui.CONTAINER_PORT,
                                          "hostPort": open_webui.CONTAINER_PORT, "protocol": "tcp"}]
    probe = container["healthCheck"]["command"][1]
    assert f"http://127.0.0.1:{open_webui.CONTAINER_PORT}{open_webui.HEALTH_CHECK_PATH} " in probe
    web = services.one("aws_ecs_service", name="open-webui-service")
    assert web["load_balancer"][0]["container_port"] == open_webui.CONTAINER_PORT


def test_no_deployment_alarms_means_no_alarm_block(services: Resources) -> None:
    """ECS API Reference, "DeploymentAlarms",
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html: alarmNames
    is required when the block is given, so a service without alarms leaves it out."""
    web = services.one("aws_ecs_service", name="open-webui-service")
    assert "alarms" not in web and web["deployment_circuit_breaker"] == {"enable": True, "rollback": True}


def test_task_role_without_ecs_exec_has_no_ssm_messages(services: Resources) -> None:
    task_policy = services.one("aws_iam_role_policy", name="open-webui-runtime")
    actions = {a for s in json.loads(task_policy["policy"])["Statement"] for a in s["Action"]}
    assert actions and not {a for a in actions if a.startswith("ssmmessages:")}


def test_one_task_scales_between_one_and_one(services: Resources) -> None:
    """Application Auto Scaling API Reference, "RegisterScalableTarget",
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html:
    MinCapacity may equal MaxCapacity."""
    (target,) = services.of_type("aws_appautoscaling_target")
    assert target["min_capacity"] == target["max_capacity"] == 1
    assert len(services.of_type("aws_appautoscaling_policy")) == 2


def test_task_logs_under_a_year_record_their_setting(services: Resources) -> None:
    group = services.one("aws_cloudwatch_log_group", name="/ecs/open-webui")
    assert group["retention_in_days"] == 14 and "CKV_AWS_338" in checkov_skips(group)


def test_gateway_balancer_is_internal_and_forwards_only_the_model_api(services: Resources) -> None:
    """ELB User Guide, "Listener rules for your Application Load Balancer",
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html: a
    path-pattern condition takes up to five values (three here)."""
    (balancer,) = services.of_type("aws_lb")
    assert balancer["internal"] is True
    (rule,) = services.of_type("aws_lb_listener_rule")
    (condition,) = rule["condition"]
    assert condition["path_pattern"]["values"] == list(model_gateway.FORWARDED_PATHS)
    assert len(model_gateway.FORWARDED_PATHS) <= 5
    (listener,) = services.of_type("aws_lb_listener")
    assert listener["default_action"][0]["fixed_response"]["status_code"] == "404"


def test_gateway_port_80_skip_is_on_the_rule_from_the_open_webui_tasks(services: Resources) -> None:
    (from_app,) = services.where("aws_vpc_security_group_ingress_rule", referenced_security_group_id=CLIENT_GROUP)
    assert from_app["from_port"] == 80 and "CKV_AWS_260" in checkov_skips(from_app)
    others = [r for r in services.of_type("aws_vpc_security_group_ingress_rule") if r is not from_app]
    assert others and not any("CKV_AWS_260" in checkov_skips(r) for r in others)


def test_gateway_runs_in_the_given_cluster_on_its_configured_port(services: Resources) -> None:
    gateway = services.one("aws_ecs_service", name="edge-model-gateway")
    web_cluster = services.one("aws_ecs_cluster", name="open-webui-cluster")
    assert gateway["cluster"] == f"${{{services.address('aws_ecs_cluster', web_cluster)}.arn}}"
    assert gateway["load_balancer"][0]["container_port"] == GatewayConfig().port
    container = _container(services, "edge-model-gateway")
    assert container["portMappings"][0]["containerPort"] == GatewayConfig().port
