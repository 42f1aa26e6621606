"""The Open WebUI ECS Fargate service: cluster, task definition, service, roles, logs, auto scaling."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.appautoscaling_policy import AppautoscalingPolicy
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster, EcsClusterSetting
from cdktf_cdktf_provider_aws.ecs_cluster_capacity_providers import (
    EcsClusterCapacityProviders,
    EcsClusterCapacityProvidersDefaultCapacityProviderStrategy,
)
from cdktf_cdktf_provider_aws.ecs_service import (
    EcsService,
    EcsServiceAlarms,
    EcsServiceCapacityProviderStrategy,
    EcsServiceLoadBalancer,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import EcsTaskDefinition
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from config.model import ServiceConfig
from modules import checkov, policy
from modules.open_webui import CONTAINER_PORT, HEALTH_CHECK_PATH

CONTAINER_NAME = "open-webui"
# The awslogs driver names streams <prefix>/<container>/<task id>: ecs/open-webui/<task id>.
LOG_STREAM_PREFIX = "ecs"


@dataclass(frozen=True)
class ServiceProps:
    config: ServiceConfig
    name: str
    region: str
    account_id: str
    subnet_ids: list[str]
    security_group_id: str
    target_group_arn: str
    # "<alb arn suffix>/<target group arn suffix>" for request-count scaling.
    request_count_resource_label: str
    image: str
    kms_key_arn: str
    documents_bucket_arn: str
    repository_arn: str
    environment: dict[str, str]
    # Container variable -> Secrets Manager valueFrom (an ARN, or "<arn>:<json key>::").
    secrets: dict[str, str]
    # The secrets the execution role may read: exactly the ones the task uses.
    secret_arns: list[str] = field(default_factory=list)
    # CloudWatch alarms that fail a deployment and roll it back (README: Releasing).
    deployment_alarm_names: list[str] = field(default_factory=list)


class Service(Construct):
    """Exposes ``cluster_name``, ``cluster_arn``, ``service_name`` and ``task_definition_arn``."""

    def __init__(self, scope: Construct, id: str, props: ServiceProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        log_group = CloudwatchLogGroup(self, "logs", name=cfg.log_group_name, retention_in_days=cfg.log_retention_days,
                                       kms_key_id=props.kms_key_arn)
        if cfg.log_retention_days < 365:
            checkov.skip(log_group, "CKV_AWS_338", f"Task logs kept {cfg.log_retention_days} days by configuration "
                         "(service.log_retention_days)")
        cluster = EcsCluster(self, "cluster", name=cfg.cluster_name,
                             setting=[EcsClusterSetting(name="containerInsights", value="enabled")])
        EcsClusterCapacityProviders(
            self, "capacity-providers", cluster_name=cluster.name, capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategy=[EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                capacity_provider=self._capacity_provider(cfg), weight=1)],
        )
        execution_role = self._execution_role(props, log_group.arn)
        task_role = self._task_role(props)

        family = f"{props.name}-open-webui"
        container = {
            "name": CONTAINER_NAME,
            "image": props.image,
            "essential": True,
            "portMappings": [{"containerPort": CONTAINER_PORT, "hostPort": CONTAINER_PORT, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(props.environment.items())],
            "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(props.secrets.items())],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": cfg.log_group_name, "awslogs-region": props.region,
                "awslogs-stream-prefix": LOG_STREAM_PREFIX}},
            # The image's HEALTHCHECK is ignored by ECS. The start period covers the embedding model load.
            "healthCheck": {"command": ["CMD-SHELL", "curl -fsS --max-time 4 "
                                        f"http://127.0.0.1:{CONTAINER_PORT}{HEALTH_CHECK_PATH} || exit 1"],
                            "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 180},
            # Time between SIGTERM and SIGKILL: uvicorn finishes the responses it is streaming.
            "stopTimeout": cfg.drain_seconds,
            # Open WebUI writes caches and uploads under /app/backend/data at run time (see README).
            "readonlyRootFilesystem": False,
            # The image runs as root (upstream supports no other user); it needs no Linux capability.
            "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        }
        self.task_definition = EcsTaskDefinition(
            self, "task", family=family, cpu=str(cfg.cpu), memory=str(cfg.memory), network_mode="awsvpc",
            requires_compatibilities=["FARGATE"], execution_role_arn=execution_role.arn, task_role_arn=task_role.arn,
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            container_definitions=json.dumps([container]),
            # Keep replaced revisions ACTIVE: the running service, a circuit-breaker or alarm
            # rollback, and the release command's migration run all refer to a revision by ARN.
            skip_destroy=True,
        )
        checkov.skip(self.task_definition, "CKV_AWS_336",
                     "Open WebUI writes its cache and upload staging under /app/backend/data (README: Security posture)")

        service = EcsService(
            self, "service", name=cfg.service_name, cluster=cluster.arn, task_definition=self.task_definition.arn,
            desired_count=cfg.desired_count, platform_version="LATEST",
            capacity_provider_strategy=[EcsServiceCapacityProviderStrategy(capacity_provider=self._capacity_provider(cfg), weight=1)],
            deployment_minimum_healthy_percent=100, deployment_maximum_percent=cfg.deployment_maximum_percent,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            alarms=EcsServiceAlarms(alarm_names=props.deployment_alarm_names, enable=True, rollback=True)
            if props.deployment_alarm_names else None,
            health_check_grace_period_seconds=cfg.health_check_grace_period_seconds,
            load_balancer=[EcsServiceLoadBalancer(target_group_arn=props.target_group_arn, container_name=CONTAINER_NAME,
                                                  container_port=CONTAINER_PORT)],
            # Fargate spreads tasks across the subnets' zones at launch; rebalancing restores the
            # spread after a zone recovers.
            availability_zone_rebalancing="ENABLED",
            network_configuration={"subnets": props.subnet_ids, "security_groups": [props.security_group_id],
                                   "assign_public_ip": False},
            enable_execute_command=cfg.enable_execute_command,
            propagate_tags="SERVICE", enable_ecs_managed_tags=True, wait_for_steady_state=False,
            # Auto scaling owns the running count once the service exists. The release command
            # (tools/release.py) owns the task definition: Terraform registers a new revision, the
            # migration task runs from it, and only then does the release point the service at it.
            # Terraform switching the service itself would start new code before its migrations.
            lifecycle={"ignore_changes": ["desired_count", "task_definition"]},
            depends_on=[execution_role],
        )
        self._autoscaling(props, cluster.name, service.name)

        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.service_name = service.name
        self.task_definition_arn = self.task_definition.arn

    @staticmethod
    def _capacity_provider(cfg: ServiceConfig) -> str:
        return "FARGATE_SPOT" if cfg.use_fargate_spot else "FARGATE"

    def _execution_role(self, props: ServiceProps, log_group_arn: str) -> IamRole:
        """What ECS itself needs to start a task: pull the image, write logs, read the task's secrets."""
        role = IamRole(self, "execution-role", name=f"{props.name}-ecs-execution",
                       assume_role_policy=policy.assume_role_policy("ecs-tasks.amazonaws.com", source_account=props.account_id))
        statements = policy.task_execution_statements(repository_arn=props.repository_arn, log_group_arn=log_group_arn,
                                                      kms_key_arn=props.kms_key_arn, secret_arns=props.secret_arns)
        IamRolePolicy(self, "execution-policy", role=role.id, name="start-open-webui-task", policy=policy.document(*statements))
        return role

    def _task_role(self, props: ServiceProps) -> IamRole:
        """What Open WebUI may do at run time: the documents bucket and nothing else."""
        role = IamRole(self, "task-role", name=f"{props.name}-open-webui-task",
                       assume_role_policy=policy.assume_role_policy("ecs-tasks.amazonaws.com", source_account=props.account_id))
        bucket = props.documents_bucket_arn
        statements = [
            policy.statement("ListDocuments", ["s3:ListBucket", "s3:GetBucketLocation"], [bucket]),
            policy.statement("ReadWriteDocuments", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [f"{bucket}/*"]),
            policy.statement("DocumentsEncryption", ["kms:Decrypt", "kms:GenerateDataKey"], [props.kms_key_arn],
                             condition={"StringEquals": {"kms:ViaService": f"s3.{props.region}.amazonaws.com"}}),
        ]
        if props.config.enable_execute_command:
            statements.append(policy.statement("EcsExec", ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                                                           "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"], ["*"]))
        IamRolePolicy(self, "task-policy", role=role.id, name="open-webui-runtime", policy=policy.document(*statements))
        return role

    def _autoscaling(self, props: ServiceProps, cluster_name: str, service_name: str) -> None:
        cfg = props.config
        target = AppautoscalingTarget(
            self, "scaling-target", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{cluster_name}/{service_name}", min_capacity=cfg.min_count, max_capacity=cfg.max_count,
        )
        policies: list[tuple[str, dict[str, str | None], int]] = [
            ("cpu", {"predefined_metric_type": "ECSServiceAverageCPUUtilization"}, cfg.cpu_target_percent),
            ("requests", {"predefined_metric_type": "ALBRequestCountPerTarget",
                          "resource_label": props.request_count_resource_label}, cfg.requests_per_target),
        ]
        for name, metric, target_value in policies:
            AppautoscalingPolicy(
                self, f"scale-on-{name}", name=f"{props.name}-scale-on-{name}", policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace, scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "predefined_metric_specification": metric, "target_value": target_value,
                    # Scale out fast, in slowly: a cold Open WebUI task takes minutes to become useful.
                    "scale_out_cooldown": 60, "scale_in_cooldown": 300,
                },
            )
