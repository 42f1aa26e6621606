"""What the server process adds to moto: small fixes for gaps that make Terraform
(hashicorp/aws 5.100.0) hang or fail against moto 5.2.5. Each fix only adds behaviour moto lacks;
set MOTO_EMULATOR_NO_PATCHES=1 to run stock moto."""

from __future__ import annotations

import os

from tools.emulator.server import HOST


def apply_patches() -> None:
    import threading

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    # a) Serialize requests.  moto's backends are not thread-safe; terraform's
    #    parallel calls otherwise race (seen: two concurrent
    #    RevokeSecurityGroupIngress on one group -> InvalidPermission.NotFound).
    lock = threading.Lock()
    dispatch = DomainDispatcherApplication.__call__

    def serialized(self, environ, start_response):  # type: ignore[no-untyped-def]
        with lock:
            return dispatch(self, environ, start_response)

    DomainDispatcherApplication.__call__ = serialized  # type: ignore[method-assign]

    # b) Application Auto Scaling tag API is missing: the provider's tag read
    #    gets HTTP 500 and retries until timeout (aws_appautoscaling_target).
    import json

    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as AAS

    tags: dict[str, dict[str, str]] = {}
    register = AAS.register_scalable_target

    def register_scalable_target(self):  # type: ignore[no-untyped-def]
        body = register(self)
        arn = json.loads(body)["ScalableTargetARN"]
        tags.setdefault(arn, {}).update(self._get_param("Tags") or {})
        return body

    def list_tags_for_resource(self):  # type: ignore[no-untyped-def]
        return json.dumps({"Tags": tags.get(self._get_param("ResourceARN"), {})})

    def tag_resource(self):  # type: ignore[no-untyped-def]
        tags.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self):  # type: ignore[no-untyped-def]
        current = tags.get(self._get_param("ResourceARN"), {})
        for key in self._get_param("TagKeys") or []:
            current.pop(key, None)
        return "{}"

    AAS.register_scalable_target = register_scalable_target  # type: ignore[method-assign]
    AAS.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]
    AAS.tag_resource = tag_resource  # type: ignore[attr-defined]
    AAS.untag_resource = untag_resource  # type: ignore[attr-defined]

    # c) ElastiCache DeleteCacheSubnetGroup is missing: destroy retries forever.
    from moto.core.responses import EmptyResult
    from moto.elasticache.responses import ElastiCacheResponse

    def delete_cache_subnet_group(self):  # type: ignore[no-untyped-def]
        self.elasticache_backend.cache_subnet_groups.pop(self._get_param("CacheSubnetGroupName"), None)
        return EmptyResult()

    ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group  # type: ignore[attr-defined]

    # d) ECS RunTask with task-level memory only (see patch_ecs_task_memory).
    patch_ecs_task_memory()
    # e) Deleting a delete marker by version id (see patch_s3_delete_marker).
    patch_s3_delete_marker()

    # f) AWS Backup ListTags reads the ARN from the path's second-to-last segment, which holds only
    #    with a trailing slash (boto3's form); the provider sends /tags/<arn>, gets no tags and
    #    plans default tags again on every run (aws_backup_plan, aws_backup_vault).
    from urllib.parse import unquote

    from moto.backup.responses import BackupResponse

    def backup_list_tags(self):  # type: ignore[no-untyped-def]
        segments = [s for s in self.path.split("?")[0].split("/") if s]
        arn = unquote(segments[segments.index("tags") + 1])
        return json.dumps({"Tags": self.backup_backend.list_tags(resource_arn=arn)})

    BackupResponse.list_tags = backup_list_tags  # type: ignore[method-assign]

    _patch_ecs_release()


def patch_ecs_task_memory() -> None:
    """ECS RunTask sums container-level memory only: a Fargate task definition that sets memory at
    task level alone (ours, as AWS allows) fails with a TypeError. Used by the restore drill's task."""
    import copy

    from moto.ecs.models import EC2ContainerServiceBackend as ECS

    calculate = ECS._calculate_task_resource_requirements
    if getattr(calculate, "_ajuda_patched", False):
        return
    memory_keys = ("memory", "memoryReservation", "Memory", "MemoryReservation")

    def calculate_task_resource_requirements(task_definition):  # type: ignore[no-untyped-def]
        shadow = copy.copy(task_definition)
        shadow.container_definitions = [c if any(k in c for k in memory_keys) else {**c, "memory": 0}
                                        for c in task_definition.container_definitions]
        return calculate(shadow)

    calculate_task_resource_requirements._ajuda_patched = True  # type: ignore[attr-defined]
    ECS._calculate_task_resource_requirements = staticmethod(calculate_task_resource_requirements)  # type: ignore[method-assign]


def patch_s3_delete_marker() -> None:
    """In a bucket whose versioning was suspended, DeleteObject of a key that has a delete marker
    fails (FakeDeleteMarker has no dispose): destroy suspends versioning first, so force_destroy of
    the documents bucket after any delete retries forever. A marker holds no data to dispose of."""
    from moto.s3.models import FakeDeleteMarker

    if not hasattr(FakeDeleteMarker, "dispose"):
        FakeDeleteMarker.dispose = lambda self, garbage=False: None  # type: ignore[attr-defined]


# The release command (tools/release.py) needs a one-off task that ends and a deployment that
# settles; moto runs no containers. A container environment variable (in the task definition or
# the run-task overrides) steers the outcome, so tests can take the failure paths too:
EXIT_CODE_VARIABLE = "EMULATOR_EXIT_CODE"  # run-task: the container's exit code (default 0)
ROLLOUT_VARIABLE = "EMULATOR_ROLLOUT"  # update-service: "FAILED" fails the deployment and rolls back


def _container_setting(task_definition, overrides, name: str):  # type: ignore[no-untyped-def]
    values = {}
    for container in task_definition.container_definitions:
        values.update({e["name"]: e["value"] for e in container.get("environment") or []})
    for container in (overrides or {}).get("containerOverrides") or []:
        values.update({e["name"]: e["value"] for e in container.get("environment") or []})
    return values.get(name)


def _patch_ecs_release() -> None:
    from moto.core.utils import utcnow

    # g) A task's network interface lacks a DNS name in VPCs without DNS hostnames (RunTask).
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ecs.models import EC2ContainerServiceBackend as Ecs
    from moto.moto_api import state_manager
    from moto.moto_api._internal import mock_random

    if not hasattr(NetworkInterface, "private_dns_name"):
        NetworkInterface.private_dns_name = None  # type: ignore[attr-defined]

    # h) RunTask: the task has run to completion, with EMULATOR_EXIT_CODE (default 0).
    run_task = Ecs.run_task

    def run_and_stop(self, cluster_str, task_definition_str, count, overrides, *args, **kwargs):  # type: ignore[no-untyped-def]
        tasks = run_task(self, cluster_str, task_definition_str, count, overrides, *args, **kwargs)
        # A test that set its own ecs::task transition (the restore drill holds its task RUNNING)
        # keeps moto's behaviour; moto's registered default ({"manual", times 1}) does not count.
        if "ecs::task" in state_manager._transitions:
            return tasks
        task_definition = self.describe_task_definition(task_definition_str)
        code = int(_container_setting(task_definition, overrides, EXIT_CODE_VARIABLE) or 0)
        for task in tasks:
            task.last_status = task.desired_status = "STOPPED"
            task.stopped_reason = "Essential container in task exited"
            for container in task.containers:
                container.last_status, container.exitCode = "STOPPED", code
        return tasks

    Ecs.run_task = run_and_stop  # type: ignore[method-assign]

    # i) UpdateService with a new task definition starts a deployment that completes at once,
    #    or, with EMULATOR_ROLLOUT=FAILED, fails and is rolled back to the previous revision.
    update_service = Ecs.update_service

    def update_with_deployment(self, service_properties):  # type: ignore[no-untyped-def]
        new_definition = service_properties.get("task_definition")
        service = self._get_service(service_properties.get("cluster", "default"), service_properties["service"].split("/")[-1])
        previous = service.task_definition
        service = update_service(self, service_properties)
        if not new_definition:
            return service
        now = utcnow()
        failed = _container_setting(self.describe_task_definition(new_definition), None, ROLLOUT_VARIABLE) == "FAILED"
        deployment = {"id": f"ecs-svc/{mock_random.randint(0, 32**12)}", "status": "PRIMARY",
                      "taskDefinition": service.task_definition, "desiredCount": service.desired_count,
                      "runningCount": service.desired_count, "pendingCount": 0, "failedTasks": 0,
                      "createdAt": now, "updatedAt": now, "launchType": service.launch_type,
                      "rolloutState": "COMPLETED", "rolloutStateReason": "ECS deployment completed."}
        service.running_count, service.pending_count = service.desired_count, 0
        service.deployments = [deployment]
        if failed:
            # Answered IN_PROGRESS, as ECS does; the next DescribeServices shows the outcome.
            deployment.update(rolloutState="IN_PROGRESS", rolloutStateReason="ECS deployment in progress.")
            service.emulator_rollback_to = previous
        return service

    # What ECS does when a deployment alarm fires with rollback on: the failed deployment stays
    # listed as FAILED beside a new PRIMARY deployment of the previous revision.
    describe_services = Ecs.describe_services

    def describe_after_rollback(self, cluster_str, service_names_or_arns):  # type: ignore[no-untyped-def]
        services, failures = describe_services(self, cluster_str, service_names_or_arns)
        for service in services:
            previous = getattr(service, "emulator_rollback_to", None)
            if previous is None:
                continue
            failed = service.deployments[0]
            rollback = {**failed, "id": f"ecs-svc/{mock_random.randint(0, 32**12)}", "taskDefinition": previous,
                        "rolloutState": "COMPLETED", "rolloutStateReason": "ECS deployment completed."}
            failed.update(status="ACTIVE", rolloutState="FAILED",
                          rolloutStateReason="ECS deployment detected triggered alarms; rolled back.")
            service.task_definition, service.deployments = previous, [rollback, failed]
            service.emulator_rollback_to = None
        return services, failures

    Ecs.describe_services = describe_after_rollback  # type: ignore[method-assign]
    Ecs.update_service = update_with_deployment  # type: ignore[method-assign]

    # j) CreateService drops the capacity provider strategy, and that attribute forces
    #    replacement: the next apply would replace the service (starting the new task definition
    #    before the release's migration). Keep what was asked for.
    from moto.ecs.responses import EC2ContainerServiceResponse as EcsResponse

    create_service = EcsResponse.create_service

    def create_with_strategy(self):  # type: ignore[no-untyped-def]
        result = create_service(self)
        strategy = self._get_param("capacityProviderStrategy")
        if strategy:
            service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("serviceName"))
            service.capacity_provider_strategy = strategy
        return result

    EcsResponse.create_service = create_with_strategy  # type: ignore[method-assign]


def serve(port: int) -> None:
    """Run the (patched) moto server in this process until killed."""
    if os.environ.get("MOTO_EMULATOR_NO_PATCHES") != "1":
        apply_patches()
    from moto.server import main as moto_main

    moto_main(["-H", HOST, "-p", str(port)])
