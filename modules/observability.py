"""Alarms (to an SNS topic) and a dashboard over the same metrics: one table drives both."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct


@dataclass(frozen=True)
class AlarmSpec:
    key: str
    description: str  # what it means and what to do (also in the README's runbook)
    namespace: str
    metric: str
    dimensions: dict[str, str]
    threshold: float
    comparison: str = "GreaterThanOrEqualToThreshold"
    statistic: str | None = "Average"
    extended_statistic: str | None = None
    period: int = 300
    evaluation_periods: int = 2
    treat_missing_data: str = "notBreaching"
    # The metric's Region when it is not the stack's (Bedrock may run elsewhere): such a spec is a
    # dashboard widget only, since an alarm can only watch metrics of its own Region.
    region: str | None = None


@dataclass(frozen=True)
class ObservabilityProps:
    name: str
    region: str
    kms_key_arn: str
    alarm_email: str | None
    load_balancer_arn_suffix: str
    target_group_arn_suffix: str
    cluster_name: str
    service_name: str
    db_instance_identifier: str
    # config/capacity.py alarm_threshold: above it, the next release's surge could exhaust the instance.
    db_connections_alarm_threshold: int
    db_allocated_storage_gb: int
    db_memory_gib: int
    # None when the environment runs without the cache (emulator only).
    cache_node_id: str | None
    # The model gateway's internal load balancer, and the Bedrock model ids it invokes by name.
    gateway_load_balancer_arn_suffix: str | None = None
    gateway_target_group_arn_suffix: str | None = None
    bedrock_region: str | None = None
    bedrock_models: tuple[tuple[str, str], ...] = ()  # (alarm key suffix, Bedrock ModelId)


# The alarms that fail (and roll back) an ECS deployment: new tasks failing /health or answering 5xx.
DEPLOYMENT_ALARM_KEYS = ("unhealthy-targets", "target-5xx")


def alarm_name(name: str, key: str) -> str:
    return f"{name}-{key}"


def deployment_alarm_names(name: str) -> list[str]:
    """Names (plain strings, so the service can refer to them without a dependency cycle)."""
    return [alarm_name(name, key) for key in DEPLOYMENT_ALARM_KEYS]


def alarm_specs(p: ObservabilityProps) -> list[AlarmSpec]:
    alb = {"LoadBalancer": p.load_balancer_arn_suffix}
    target = {"LoadBalancer": p.load_balancer_arn_suffix, "TargetGroup": p.target_group_arn_suffix}
    ecs = {"ClusterName": p.cluster_name, "ServiceName": p.service_name}
    rds = {"DBInstanceIdentifier": p.db_instance_identifier}
    gib = 1024**3
    specs = [
        AlarmSpec("alb-5xx", "The load balancer answered 5xx itself: no healthy target or a target reset",
                  "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb, 10, statistic="Sum"),
        AlarmSpec("target-5xx", "Open WebUI answered 5xx: read /ecs/open-webui logs",
                  "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", target, 20, statistic="Sum"),
        AlarmSpec("unhealthy-targets", "A task fails /health: check the service events and task logs",
                  "AWS/ApplicationELB", "UnHealthyHostCount", target, 1, statistic="Maximum"),
        AlarmSpec("response-time-p95", "p95 response time above 5 s (streaming answers excluded by nature: first byte)",
                  "AWS/ApplicationELB", "TargetResponseTime", target, 5, statistic=None, extended_statistic="p95",
                  evaluation_periods=3),
        AlarmSpec("ecs-cpu", "Tasks run hot: auto scaling should be adding tasks; check max_count",
                  "AWS/ECS", "CPUUtilization", ecs, 85, evaluation_periods=3),
        AlarmSpec("ecs-memory", "Tasks near their memory limit: risk of OOM kills; raise service.memory",
                  "AWS/ECS", "MemoryUtilization", ecs, 85, evaluation_periods=3),
        AlarmSpec("rds-cpu", "Database CPU high: look at Performance Insights top SQL",
                  "AWS/RDS", "CPUUtilization", rds, 80, evaluation_periods=3),
        AlarmSpec("rds-free-storage", "Under 10 % storage free (autoscaling may be at its maximum)",
                  "AWS/RDS", "FreeStorageSpace", rds, p.db_allocated_storage_gb * gib * 0.10,
                  comparison="LessThanOrEqualToThreshold"),
        AlarmSpec("rds-freeable-memory", "Under 10 % memory free: queries spill, consider a larger class",
                  "AWS/RDS", "FreeableMemory", rds, p.db_memory_gib * gib * 0.10, comparison="LessThanOrEqualToThreshold"),
        AlarmSpec("rds-connections", "Connections so high that a release's extra tasks could exhaust the database: "
                  "find who holds them (pg_stat_activity) before deploying; README capacity arithmetic",
                  "AWS/RDS", "DatabaseConnections", rds, p.db_connections_alarm_threshold, statistic="Maximum"),
    ]
    if p.cache_node_id:
        specs.append(AlarmSpec("cache-memory", "Valkey memory above 80 %: evictions would drop websocket state",
                               "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", {"CacheClusterId": p.cache_node_id}, 80))
    return specs + gateway_alarm_specs(p)


def gateway_alarm_specs(p: ObservabilityProps) -> list[AlarmSpec]:
    """Gateway 5xx at its internal balancer, and Bedrock throttling per model (AWS/Bedrock,
    dimension ModelId = the id the gateway invokes: "Monitor bedrock-runtime inference using
    CloudWatch metrics", https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-runtime-metrics.html)."""
    if not p.gateway_load_balancer_arn_suffix:
        return []
    target = {"LoadBalancer": p.gateway_load_balancer_arn_suffix, "TargetGroup": p.gateway_target_group_arn_suffix or ""}
    specs = [AlarmSpec("gateway-5xx", "The model gateway answered 5xx: read /ecs/model-gateway logs (Bedrock errors, "
                       "access denied on a model, timeouts)", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", target, 10,
                       statistic="Sum")]
    region = p.bedrock_region if p.bedrock_region and p.bedrock_region != p.region else None
    for key, model_id in p.bedrock_models:
        specs.append(AlarmSpec(f"bedrock-throttles-{key}", f"Bedrock throttled {model_id}: answers fail or slow down; "
                               "request a quota increase or use a cross-Region inference profile",
                               "AWS/Bedrock", "InvocationThrottles", {"ModelId": model_id}, 5, statistic="Sum",
                               evaluation_periods=1, region=region))
    return specs


class Observability(Construct):
    """Exposes ``topic_arn``, ``alarm_names`` and ``dashboard_name``."""

    def __init__(self, scope: Construct, id: str, props: ObservabilityProps) -> None:
        super().__init__(scope, id)
        topic = SnsTopic(self, "alarms", name=f"{props.name}-alarms", kms_master_key_id=props.kms_key_arn)
        if props.alarm_email:
            SnsTopicSubscription(self, "alarm-email", topic_arn=topic.arn, protocol="email", endpoint=props.alarm_email)
        specs = alarm_specs(props)
        self.alarm_names = []
        for spec in specs:
            if spec.region:
                continue
            alarm = CloudwatchMetricAlarm(
                self, spec.key, alarm_name=alarm_name(props.name, spec.key), alarm_description=spec.description,
                namespace=spec.namespace, metric_name=spec.metric, dimensions=spec.dimensions,
                statistic=spec.statistic, extended_statistic=spec.extended_statistic, period=spec.period,
                evaluation_periods=spec.evaluation_periods, threshold=spec.threshold,
                comparison_operator=spec.comparison, treat_missing_data=spec.treat_missing_data,
                alarm_actions=[topic.arn], ok_actions=[topic.arn],
            )
            self.alarm_names.append(alarm.alarm_name)
        widgets = [{
            "type": "metric", "width": 8, "height": 6, "x": (i % 3) * 8, "y": (i // 3) * 6,
            "properties": {
                "title": spec.key, "region": spec.region or props.region, "view": "timeSeries", "period": spec.period,
                "stat": spec.extended_statistic or spec.statistic,
                "metrics": [[spec.namespace, spec.metric, *[v for pair in spec.dimensions.items() for v in pair]]],
                "annotations": {"horizontal": [{"label": "alarm", "value": spec.threshold}]},
            },
        } for i, spec in enumerate(specs)]
        dashboard = CloudwatchDashboard(self, "dashboard", dashboard_name=f"{props.name}-overview",
                                        dashboard_body=json.dumps({"widgets": widgets}))
        self.topic_arn = topic.arn
        self.dashboard_name = dashboard.dashboard_name
