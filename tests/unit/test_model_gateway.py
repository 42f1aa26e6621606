"""The synthesized model gateway: its task definition (the contract in modules/model_gateway.py), the
Bedrock-scoped task role, the internal load balancer reachable only from Open WebUI, the key in
Secrets Manager, the Open WebUI wiring, logs and alarms."""

from __future__ import annotations

import json
import re

import pytest

from config.environments import PROD
from modules import model_gateway
from modules.gateway import BEDROCK_ACTIONS

APP_STACKS = ["ajuda-prod", "ajuda-staging", "ajuda-dev", "ajuda-local"]
SECRET_REF = re.compile(r"\$\{aws_secretsmanager_secret\.[^.]+\.arn\}")


def gateway_container(synthesized, stack) -> dict:
    task = synthesized.one(stack, "aws_ecs_task_definition", "model-gateway")
    return json.loads(task["container_definitions"])[0]


def webui_container(synthesized, stack) -> dict:
    task = synthesized.one(stack, "aws_ecs_task_definition", "service_task")
    return json.loads(task["container_definitions"])[0]


def named(items: list[dict], key: str = "value") -> dict[str, str]:
    return {item["name"]: item[key] for item in items}


def resource_id(synthesized, stack, resource_type, name_contains) -> str:
    matches = [k for k in synthesized.resources(stack, resource_type) if name_contains in k]
    assert len(matches) == 1, matches
    return matches[0]


def policy_of(synthesized, stack, name_contains) -> dict:
    return json.loads(synthesized.one(stack, "aws_iam_role_policy", name_contains)["policy"])


@pytest.mark.parametrize("stack", APP_STACKS)
def test_gateway_task_definition_follows_the_contract(synthesized, stack):
    """Container health check bounds: interval 5-300 s, timeout 2-120 s, retries 1-10, startPeriod 0-300 s
    ("HealthCheck", Amazon ECS API Reference, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html).
    A bind-mount volume without a host path is task-ephemeral storage on Fargate ("Use bind mounts with
    Amazon ECS", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html)."""
    task = synthesized.one(stack, "aws_ecs_task_definition", "model-gateway")
    container = json.loads(task["container_definitions"])[0]
    assert container["name"] == model_gateway.CONTAINER_NAME and "command" not in container
    assert container["portMappings"] == [{"containerPort": 4000, "hostPort": 4000, "protocol": "tcp"}]
    env = named(container["environment"])
    assert env["PORT"] == "4000" and env[model_gateway.CONFIG_FILE_VARIABLE].startswith(model_gateway.SCRATCH_PATH + "/")
    assert env["DISABLE_ADMIN_UI"] == "True" and env["NO_DOCS"] == "True"
    assert named(container["secrets"], "valueFrom") .keys() == {"LITELLM_MASTER_KEY"}
    assert SECRET_REF.fullmatch(named(container["secrets"], "valueFrom")["LITELLM_MASTER_KEY"])
    assert not any(name.startswith("AWS_ACCESS") or name.startswith("AWS_SECRET") for name in env)
    health = container["healthCheck"]
    assert model_gateway.HEALTH_CHECK_PATH in " ".join(health["command"]) and health["command"][0] == "CMD"
    assert 5 <= health["interval"] <= 300 and 2 <= health["timeout"] <= 120 and health["timeout"] < health["interval"]
    assert 1 <= health["retries"] <= 10 and 0 <= health["startPeriod"] <= 300
    assert container["readonlyRootFilesystem"] is True
    assert container["mountPoints"] == [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}]
    assert [v["name"] for v in task["volume"]] == ["scratch"] and "host_path" not in task["volume"][0]
    assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert task["requires_compatibilities"] == ["FARGATE"] and task["network_mode"] == "awsvpc"
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/model-gateway"


def test_model_list_reaches_the_gateway_as_configuration(synthesized):
    """Chat models through the Converse route; Titan embeddings at the configured dimension; the key
    referenced, never written ("Amazon Titan Text Embeddings models",
    https://docs.aws.amazon.com/bedrock/latest/userguide/titan-embedding-models.html)."""
    env = named(gateway_container(synthesized, "ajuda-prod")["environment"])
    litellm = json.loads(env[model_gateway.CONFIG_VARIABLE])
    served = {m["model_name"]: m["litellm_params"] for m in litellm["model_list"]}
    assert set(served) == {m.name for m in PROD.models.chat_models} | {model_gateway.EMBEDDING_MODEL_NAME}
    for model in PROD.models.chat_models:
        assert served[model.name] == {"model": f"bedrock/converse/{model.id}", "aws_region_name": "us-east-1"}
    assert served["embeddings"] == {"model": "bedrock/amazon.titan-embed-text-v2:0", "aws_region_name": "us-east-1",
                                    "dimensions": 1024}
    assert litellm["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert env["AWS_REGION"] == "us-east-1"


def test_task_role_invokes_only_the_configured_models(synthesized):
    """Converse and ConverseStream are authorised as bedrock:InvokeModel and
    bedrock:InvokeModelWithResponseStream ("Prerequisites for running model inference",
    https://docs.aws.amazon.com/bedrock/latest/userguide/inference-prereq.html). An inference profile
    needs the profile ARN and the foundation model ARN in every Region it routes to ("Prerequisites for
    inference profiles", https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html)."""
    document = policy_of(synthesized, "ajuda-prod", "model-gateway_task-policy")
    [statement] = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == sorted(BEDROCK_ACTIONS) == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    resources = statement["Resource"]
    assert "*" not in json.dumps(resources)
    account = "${data.aws_caller_identity.account.account_id}"
    for size in ("lite", "pro"):
        assert f"arn:aws:bedrock:us-east-1:{account}:inference-profile/us.amazon.nova-{size}-v1:0" in resources
        for region in ("us-east-1", "us-east-2", "us-west-2"):
            assert f"arn:aws:bedrock:{region}::foundation-model/amazon.nova-{size}-v1:0" in resources
    assert "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0" in resources
    assert not any("nova-micro" in r for r in resources)  # configured models only
    assert len(resources) == len(set(resources)) == 3 * 4 + 1


def test_no_static_aws_keys_and_no_secret_in_gateway_environment(synthesized):
    text = synthesized.text("ajuda-prod")
    assert "AKIA" not in text and "aws_secret_access_key" not in text.lower()
    env = named(gateway_container(synthesized, "ajuda-prod")["environment"])
    assert not any(re.search(r"KEY$|SECRET|PASSWORD|TOKEN", name) for name in env)


def test_gateway_key_is_generated_with_the_litellm_prefix(synthesized):
    """GetRandomPassword: ExcludePunctuation leaves letters and digits ("GetRandomPassword", AWS Secrets
    Manager API Reference, https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html);
    Open WebUI splits OPENAI_API_KEYS on ';' (open_webui/config.py:343)."""
    generator_id = resource_id(synthesized, "ajuda-prod", "aws_secretsmanager_secret", "model-gateway-key")
    # Write-only (never in state): an ephemeral generator, the prefix as template text before it.
    generator = synthesized.stack("ajuda-prod")["ephemeral"]["aws_secretsmanager_random_password"]
    [key_generator] = [v for k, v in generator.items() if k.startswith("model-gateway-key")]
    assert key_generator["exclude_punctuation"] is True and key_generator["password_length"] == 48
    version = synthesized.one("ajuda-prod", "aws_secretsmanager_secret_version", "model-gateway-key")
    assert re.fullmatch(r"sk-\$\{ephemeral\.aws_secretsmanager_random_password\.[^.]+\.random_password\}",
                        version["secret_string_wo"]), version
    assert generator_id.startswith("model-gateway-key")


def test_open_webui_reaches_the_gateway_with_the_same_key(synthesized):
    """Both services get the key as ECS secrets and the execution roles may read exactly it."""
    container = webui_container(synthesized, "ajuda-prod")
    env, secrets = named(container["environment"]), named(container["secrets"], "valueFrom")
    gateway_key = named(gateway_container(synthesized, "ajuda-prod")["secrets"], "valueFrom")["LITELLM_MASTER_KEY"]
    assert secrets["OPENAI_API_KEYS"] == secrets["RAG_OPENAI_API_KEY"] == gateway_key
    lb = resource_id(synthesized, "ajuda-prod", "aws_lb", "model-gateway")
    url = f"http://${{aws_lb.{lb}.dns_name}}/v1"
    assert env["ENABLE_OPENAI_API"] == "true" and env["OPENAI_API_BASE_URLS"] == env["RAG_OPENAI_API_BASE_URL"] == url
    assert json.loads(env["OPENAI_API_CONFIGS"]) == {"0": {"enable": True, "model_ids": [m.name for m in PROD.models.chat_models]}}
    assert env["DEFAULT_MODELS"] == "Nova Lite"
    assert env["RAG_EMBEDDING_ENGINE"] == "openai" and env["RAG_EMBEDDING_MODEL"] == model_gateway.EMBEDDING_MODEL_NAME
    assert env["PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH"] == "1024"
    assert env["ENABLE_OLLAMA_API"] == "false"
    key_arn = gateway_key
    for role_policy in ("service_execution-policy", "model-gateway_execution-policy"):
        read = [s for s in policy_of(synthesized, "ajuda-prod", role_policy)["Statement"] if s["Sid"] == "ReadTaskSecrets"][0]
        assert key_arn in (read["Resource"] if isinstance(read["Resource"], list) else [read["Resource"]])


def test_gateway_is_reachable_only_from_the_open_webui_tasks(synthesized):
    """Internal scheme: nodes have only private addresses ("Application Load Balancers", Load balancer scheme,
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#load-balancer-scheme).
    Idle timeout 1-4000 s; names at most 32 characters ("CreateLoadBalancer" / "CreateTargetGroup", Elastic
    Load Balancing API Reference, https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html)."""
    stack = "ajuda-prod"
    lb = synthesized.one(stack, "aws_lb", "model-gateway")
    assert lb["internal"] is True and lb["load_balancer_type"] == "application" and lb["drop_invalid_header_fields"] is True
    assert lb["subnets"] == [f"${{aws_subnet.{k}.id}}" for k in synthesized.resources(stack, "aws_subnet") if "app" in k]
    assert 1 <= lb["idle_timeout"] <= 4000 and lb["idle_timeout"] >= 300
    app_group = resource_id(synthesized, stack, "aws_security_group", "app-security-group")
    balancer_group = resource_id(synthesized, stack, "aws_security_group", "balancer-security-group")
    task_group = resource_id(synthesized, stack, "aws_security_group", "model-gateway_task-security-group")
    ingress = synthesized.resources(stack, "aws_vpc_security_group_ingress_rule")
    into_balancer = [r for r in ingress.values() if r["security_group_id"] == f"${{aws_security_group.{balancer_group}.id}}"]
    assert [(r["referenced_security_group_id"], r["from_port"]) for r in into_balancer] == [
        (f"${{aws_security_group.{app_group}.id}}", 80)]
    into_tasks = [r for r in ingress.values() if r["security_group_id"] == f"${{aws_security_group.{task_group}.id}}"]
    assert [(r["referenced_security_group_id"], r["from_port"]) for r in into_tasks] == [
        (f"${{aws_security_group.{balancer_group}.id}}", 4000)]
    assert not any("cidr_ipv4" in r for r in into_balancer + into_tasks)
    service = synthesized.one(stack, "aws_ecs_service", "model-gateway")
    assert service["network_configuration"]["assign_public_ip"] is False
    assert service["network_configuration"]["subnets"] == lb["subnets"]
    assert service["cluster"] == f"${{aws_ecs_cluster.{resource_id(synthesized, stack, 'aws_ecs_cluster', 'service')}.arn}}"
    for env_stack in APP_STACKS:
        for resource_type in ("aws_lb", "aws_lb_target_group"):
            for resource in synthesized.resources(env_stack, resource_type).values():
                assert len(resource["name"]) <= 32, resource["name"]


def test_only_the_model_api_is_forwarded(synthesized):
    """Default action 404; one rule forwards the three OpenAI paths Open WebUI calls. A rule condition
    takes at most five values ("Listener rules for your Application Load Balancer", Path conditions,
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html#path-conditions)."""
    listener = synthesized.one("ajuda-prod", "aws_lb_listener", "model-gateway")
    assert listener["default_action"][0]["type"] == "fixed-response"
    assert listener["default_action"][0]["fixed_response"]["status_code"] == "404"
    rule = synthesized.one("ajuda-prod", "aws_lb_listener_rule", "model-gateway")
    assert rule["action"][0]["type"] == "forward"
    values = rule["condition"][0]["path_pattern"]["values"]
    assert values == ["/v1/chat/completions", "/v1/embeddings", "/v1/models"] and len(values) <= 5
    group = synthesized.one("ajuda-prod", "aws_lb_target_group", "model-gateway")
    assert group["health_check"]["path"] == "/health/liveliness" and group["target_type"] == "ip"
    assert 0 <= int(group["deregistration_delay"]) <= 3600


def test_gateway_logs_are_encrypted_and_kept(synthesized):
    group = synthesized.one("ajuda-prod", "aws_cloudwatch_log_group", "model-gateway")
    assert group["name"] == "/ecs/model-gateway" and group["retention_in_days"] == 365
    assert group["kms_key_id"].startswith("${aws_kms_key.")


def test_gateway_and_bedrock_alarms_and_dashboard(synthesized):
    """InvocationThrottles in AWS/Bedrock with the ModelId dimension ("Monitor bedrock-runtime inference
    using CloudWatch metrics", https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-runtime-metrics.html);
    HTTPCode_Target_5XX_Count per LoadBalancer/TargetGroup ("CloudWatch metrics for your Application Load
    Balancer", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html)."""
    alarms = {a["alarm_name"]: a for a in synthesized.resources("ajuda-prod", "aws_cloudwatch_metric_alarm").values()}
    five_xx = alarms["ajuda-prod-gateway-5xx"]
    assert five_xx["metric_name"] == "HTTPCode_Target_5XX_Count" and five_xx["namespace"] == "AWS/ApplicationELB"
    assert "model-gateway" in five_xx["dimensions"]["LoadBalancer"] and "model-gateway" in five_xx["dimensions"]["TargetGroup"]
    throttles = {a["dimensions"]["ModelId"]: a for a in alarms.values() if a["metric_name"] == "InvocationThrottles"}
    assert set(throttles) == {m.id for m in PROD.models.chat_models} | {"amazon.titan-embed-text-v2:0"}
    assert all(a["namespace"] == "AWS/Bedrock" and a["statistic"] == "Sum" for a in throttles.values())
    assert "ajuda-prod-bedrock-throttles-nova-lite" in alarms
    dashboard = json.loads(synthesized.one("ajuda-prod", "aws_cloudwatch_dashboard")["dashboard_body"])
    titles = {w["properties"]["title"] for w in dashboard["widgets"]}
    assert {"gateway-5xx", "bedrock-throttles-nova-lite", "bedrock-throttles-embeddings"} <= titles


def test_bedrock_in_another_region_is_a_dashboard_widget_not_an_alarm():
    """An alarm watches metrics of its own Region only ("Using Amazon CloudWatch alarms",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html)."""
    from modules.observability import ObservabilityProps, alarm_specs

    props = ObservabilityProps(
        name="x", region="us-east-1", kms_key_arn="k", alarm_email=None, load_balancer_arn_suffix="lb",
        target_group_arn_suffix="tg", cluster_name="c", service_name="s", db_instance_identifier="db",
        db_connections_alarm_threshold=80, db_allocated_storage_gb=20, db_memory_gib=4, cache_node_id=None,
        gateway_load_balancer_arn_suffix="glb", gateway_target_group_arn_suffix="gtg", bedrock_region="ap-southeast-2",
        bedrock_models=(("nova-lite", "apac.amazon.nova-lite-v1:0"),))
    specs = {s.key: s for s in alarm_specs(props)}
    assert specs["bedrock-throttles-nova-lite"].region == "ap-southeast-2"
    assert specs["gateway-5xx"].region is None
