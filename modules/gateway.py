"""The model gateway: LiteLLM's proxy as its own ECS Fargate service in front of Amazon Bedrock.

Reachable only from the Open WebUI tasks, through an INTERNAL Application Load Balancer in the app
subnets (README "Model gateway" has the choice against ECS Service Connect, with costs). The task
role may invoke exactly the configured models; the container contract is ``modules/model_gateway.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecs_service import EcsService, EcsServiceLoadBalancer
from cdktf_cdktf_provider_aws.ecs_task_definition import EcsTaskDefinition, EcsTaskDefinitionVolume
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.lb_listener import LbListener, LbListenerDefaultAction
from cdktf_cdktf_provider_aws.lb_listener_rule import (
    LbListenerRule,
    LbListenerRuleAction,
    LbListenerRuleCondition,
    LbListenerRuleConditionPathPattern,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from constructs import Construct

from config import catalog
from config.model import GatewayConfig, ModelsConfig
from modules import checkov, firewall, model_gateway, policy

LISTENER_PORT = firewall.HTTP_PORT
# What the gateway may do on Bedrock. Converse and ConverseStream have no IAM actions of their own:
# they are authorised as InvokeModel and InvokeModelWithResponseStream ("Prerequisites for running
# model inference", https://docs.aws.amazon.com/bedrock/latest/userguide/inference-prereq.html).
BEDROCK_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
STOP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class GatewayProps:
    config: GatewayConfig
    models: ModelsConfig
    name: str
    region: str
    account_id: str
    vpc_id: str
    subnet_ids: list[str]
    client_security_group_id: str  # the Open WebUI tasks: the only callers
    image: str
    repository_arn: str
    kms_key_arn: str
    master_key_secret_arn: str
    log_retention_days: int
    # Every streamed answer passes through the gateway too: its draining and stopTimeout must
    # outlast the longest answer as Open WebUI's do (service.drain_seconds, README: go-live safety).
    drain_seconds: int = STOP_TIMEOUT_SECONDS


def bedrock_resource_arns(models: ModelsConfig, account_id: str) -> list[str]:
    """Every ARN the task role may invoke: each configured model, and for inference profiles the
    profile plus its foundation model in each destination Region."""
    ids = [m.id for m in models.chat_models] + [models.embedding_model]
    arns = [arn for model_id in ids for arn in catalog.bedrock_resource_arns(model_id, models.bedrock_region, account_id)]
    return list(dict.fromkeys(arns))


class Gateway(Construct):
    """Exposes ``base_url``, ``master_key_secret_arn``, ``task_definition_arn`` and the
    load balancer's ``arn_suffix`` / ``target_group_arn_suffix`` (alarms)."""

    def __init__(self, scope: Construct, id: str, props: GatewayProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        settings = model_gateway.GatewaySettings(models=props.models, port=cfg.port,
                                                 master_key_secret_arn=props.master_key_secret_arn)
        log_group = CloudwatchLogGroup(self, "logs", name=cfg.log_group_name, retention_in_days=props.log_retention_days,
                                       kms_key_id=props.kms_key_arn)
        if props.log_retention_days < 365:
            checkov.skip(log_group, "CKV_AWS_338", f"Gateway logs kept {props.log_retention_days} days by configuration "
                         "(service.log_retention_days)")

        task_group, balancer_group = self._security_groups(props)
        target_group = self._load_balancer(props, balancer_group)

        container = {
            "name": model_gateway.CONTAINER_NAME,
            "image": props.image,
            "essential": True,
            "portMappings": [{"containerPort": cfg.port, "hostPort": cfg.port, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(model_gateway.container_environment(settings).items())],
            "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(model_gateway.container_secrets(settings).items())],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": cfg.log_group_name, "awslogs-region": props.region, "awslogs-stream-prefix": "ecs"}},
            # The image has python but no curl.
            "healthCheck": {"command": ["CMD", "python", "-c",
                                        "import urllib.request; urllib.request.urlopen("
                                        f"'http://127.0.0.1:{cfg.port}{model_gateway.HEALTH_CHECK_PATH}', timeout=4)"],
                            "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 60},
            "stopTimeout": props.drain_seconds,
            "readonlyRootFilesystem": True,
            "mountPoints": [{"sourceVolume": "scratch", "containerPath": model_gateway.SCRATCH_PATH, "readOnly": False}],
            "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        }
        execution_role = self._execution_role(props, log_group.arn)
        task_role = self._task_role(props)
        self.task_definition = EcsTaskDefinition(
            self, "task", family=f"{props.name}-model-gateway", cpu=str(cfg.cpu), memory=str(cfg.memory),
            network_mode="awsvpc", requires_compatibilities=["FARGATE"], execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn, runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            # A task-ephemeral volume: the one writable place (the rendered config file, HOME).
            volume=[EcsTaskDefinitionVolume(name="scratch")],
            container_definitions=json.dumps([container]),
        )
        self._props = props
        self._execution_role_resource = execution_role
        self._target_group = target_group
        self._task_group = task_group
        self.service_name = f"{props.name}-model-gateway"
        self.task_definition_arn = self.task_definition.arn
        self.base_url = model_gateway.base_url(self.load_balancer.dns_name)
        self.arn_suffix = self.load_balancer.arn_suffix
        self.target_group_arn_suffix = target_group.arn_suffix
        self.master_key_secret_arn = props.master_key_secret_arn

    def run_in(self, cluster_arn: str) -> EcsService:
        """The ECS service, in the application's cluster (created after this construct, whose URL
        the Open WebUI task definition needs)."""
        cfg = self._props.config
        return EcsService(
            self, "ecs", name=self.service_name, cluster=cluster_arn,
            task_definition=self.task_definition.arn, desired_count=cfg.desired_count, launch_type="FARGATE",
            platform_version="LATEST", deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            # LiteLLM imports in seconds and loads no model: the container health check's start period suffices.
            health_check_grace_period_seconds=60,
            load_balancer=[EcsServiceLoadBalancer(target_group_arn=self._target_group.arn,
                                                  container_name=model_gateway.CONTAINER_NAME, container_port=cfg.port)],
            network_configuration={"subnets": self._props.subnet_ids, "security_groups": [self._task_group.id],
                                   "assign_public_ip": False},
            propagate_tags="SERVICE", enable_ecs_managed_tags=True, wait_for_steady_state=False,
            depends_on=[self._execution_role_resource, self._listener],
        )

    def _security_groups(self, props: GatewayProps) -> tuple[SecurityGroup, SecurityGroup]:
        """Open WebUI tasks -> balancer (80) -> gateway tasks (port) -> HTTPS out (Bedrock via NAT)."""
        balancer = firewall.security_group(self, "balancer-security-group", name=f"{props.name}-gateway-lb",
                                           vpc_id=props.vpc_id, description="Model gateway load balancer: from the Open WebUI tasks only")
        from_app = firewall.allow(self, "from-app", port=LISTENER_PORT, to_group_id=balancer.id,
                                  from_group_id=props.client_security_group_id,
                                  description="Model gateway from the Open WebUI tasks")
        # checkov reads any port-80 rule as open to the internet.
        checkov.skip(from_app, "CKV_AWS_260",
                     "Source is the Open WebUI tasks' security group, not 0.0.0.0/0 (internal balancer)")
        tasks = firewall.security_group(self, "task-security-group", name=f"{props.name}-gateway",
                                        vpc_id=props.vpc_id, description="Model gateway tasks: from their load balancer only")
        firewall.allow(self, "from-balancer", port=props.config.port, to_group_id=tasks.id, from_group_id=balancer.id,
                       description="Model gateway tasks from their load balancer")
        # bedrock-runtime.<region>.amazonaws.com has no fixed address range to narrow this to.
        firewall.allow_egress_to_cidr(self, "https-out", group_id=tasks.id, port=firewall.HTTPS_PORT, cidr="0.0.0.0/0",
                                      description="HTTPS to Bedrock, ECR, Secrets Manager and CloudWatch via NAT")
        return tasks, balancer

    def _load_balancer(self, props: GatewayProps, group: SecurityGroup) -> LbTargetGroup:
        self.load_balancer = Lb(
            self, "balancer", name=f"{props.name}-gw", load_balancer_type="application", internal=True,
            security_groups=[group.id], subnets=props.subnet_ids, drop_invalid_header_fields=True,
            # A streamed answer may take as long as the gateway's own request_timeout.
            idle_timeout=model_gateway.litellm_config(props.models)["litellm_settings"]["request_timeout"],
        )
        checkov.skip(self.load_balancer, "CKV_AWS_91", "Internal gateway balancer: the gateway logs every request to "
                     "its own CloudWatch log group; the log archive's ALB prefix belongs to the public ALB")
        checkov.skip(self.load_balancer, "CKV2_AWS_28", "Internal balancer reachable only from the Open WebUI tasks' "
                     "security group; WAF protects the public ALB")
        checkov.skip(self.load_balancer, "CKV_AWS_150", "Internal balancer holds no data; recreated with the stack")
        checkov.skip(self.load_balancer, "CKV2_AWS_20", "Internal balancer without a certificate (README: Model gateway)")
        target_group = LbTargetGroup(
            self, "targets", name=f"{props.name}-gw", port=props.config.port, protocol="HTTP", target_type="ip",
            vpc_id=props.vpc_id, deregistration_delay=str(props.drain_seconds),
            health_check={"path": model_gateway.HEALTH_CHECK_PATH, "matcher": "200", "interval": 15, "timeout": 5,
                          "healthy_threshold": 2, "unhealthy_threshold": 3},
        )
        checkov.skip(target_group, "CKV_AWS_378", "Inside the VPC between two security groups (README: Model gateway)")
        # Only the model API is forwarded; everything else ends at the balancer.
        self._listener = LbListener(self, "listener", load_balancer_arn=self.load_balancer.arn, port=LISTENER_PORT,
                                    protocol="HTTP", default_action=[LbListenerDefaultAction(
                                        type="fixed-response", fixed_response={"content_type": "text/plain",
                                                                               "message_body": "not found", "status_code": "404"})])
        for reason_check in ("CKV_AWS_2", "CKV_AWS_103"):
            checkov.skip(self._listener, reason_check, "Internal listener between two security groups; TLS would need a "
                         "private CA or a public name for a private address (README: Model gateway)")
        LbListenerRule(self, "model-api", listener_arn=self._listener.arn, priority=10,
                       action=[LbListenerRuleAction(type="forward", target_group_arn=target_group.arn)],
                       condition=[LbListenerRuleCondition(path_pattern=LbListenerRuleConditionPathPattern(
                           values=list(model_gateway.FORWARDED_PATHS)))])
        return target_group

    def _execution_role(self, props: GatewayProps, log_group_arn: str) -> IamRole:
        role = IamRole(self, "execution-role", name=f"{props.name}-gateway-execution",
                       assume_role_policy=policy.assume_role_policy("ecs-tasks.amazonaws.com", source_account=props.account_id))
        statements = policy.task_execution_statements(repository_arn=props.repository_arn, log_group_arn=log_group_arn,
                                                      kms_key_arn=props.kms_key_arn,
                                                      secret_arns=[props.master_key_secret_arn])
        IamRolePolicy(self, "execution-policy", role=role.id, name="start-model-gateway-task", policy=policy.document(*statements))
        return role

    def _task_role(self, props: GatewayProps) -> IamRole:
        """Bedrock model invocation on the configured models only; no other AWS access."""
        role = IamRole(self, "task-role", name=f"{props.name}-gateway-task",
                       assume_role_policy=policy.assume_role_policy("ecs-tasks.amazonaws.com", source_account=props.account_id))
        IamRolePolicy(self, "task-policy", role=role.id, name="invoke-configured-bedrock-models", policy=policy.document(
            policy.statement("InvokeConfiguredModels", BEDROCK_ACTIONS, bedrock_resource_arns(props.models, props.account_id))))
        return role
