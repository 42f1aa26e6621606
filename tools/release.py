"""The rollout sequence of a release, after Terraform has registered the new task definition.

    migration task (same task definition, `migration_overrides`) -> exit code 0, or the release fails
    -> point the service at the new task definition -> wait until that deployment is COMPLETED;
       a FAILED deployment (circuit breaker, or the deployment alarms: unhealthy targets, target
       5xx) has been rolled back by ECS and fails the release.

Why this order: service tasks never migrate (ENABLE_DB_MIGRATIONS=false), so new code must not
start before its migrations ran; the application stack's service ignores task_definition changes
for that reason and this module is the only thing that moves it (README: Releasing).

``scripts/release.sh`` (operators and CI alike) runs ``terraform apply`` and then::

    terraform output -json > outputs.json
    python -m tools.release rollout --outputs outputs.json

The AWS endpoint comes from the usual boto3 settings (AWS_ENDPOINT_URL points it at the emulator).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STARTED_BY = "ajuda-release"


class ReleaseError(RuntimeError):
    """The release stopped; the message says at which step and why."""


@dataclass(frozen=True)
class Target:
    """What one application stack's outputs say about its service."""

    cluster: str
    service: str
    task_definition_arn: str
    migration_overrides: dict[str, Any]
    subnets: list[str]
    security_groups: list[str]

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> Target:
        """From ``terraform output -json`` ({name: {"value": ...}}) or plain {name: value}."""
        def value(name: str) -> Any:
            if name not in outputs:
                raise ReleaseError(f"the stack outputs lack {name!r}: is this an application stack?")
            item = outputs[name]
            return item["value"] if isinstance(item, dict) and "value" in item else item

        overrides = value("migration_overrides")
        return cls(
            cluster=value("cluster_name"), service=value("service_name"),
            task_definition_arn=value("task_definition_arn"),
            migration_overrides=json.loads(overrides) if isinstance(overrides, str) else overrides,
            subnets=list(value("app_subnet_ids")), security_groups=[value("app_security_group_id")],
        )


@dataclass(frozen=True)
class Timing:
    poll_seconds: float = 10.0
    migration_timeout_seconds: float = 1800.0
    deployment_timeout_seconds: float = 1800.0


Log = Callable[[str], None]


def _log(message: str) -> None:
    print(f"[release] {message}", file=sys.stderr, flush=True)


def _poll(check: Callable[[], Any | None], timeout: float, poll: float, what: str,
          sleep: Callable[[float], None], clock: Callable[[], float]) -> Any:
    """Call ``check`` until it returns something other than None, or fail after ``timeout``."""
    deadline = clock() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if clock() >= deadline:
            raise ReleaseError(f"timed out after {timeout:.0f} s waiting for {what}")
        sleep(poll)


class Release:
    """The sequence against one ECS client (boto3, or a fake in tests)."""

    def __init__(self, ecs: Any, target: Target, timing: Timing = Timing(), log: Log = _log,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.ecs, self.target, self.timing, self.log = ecs, target, timing, log
        self._sleep, self._clock = sleep, clock

    def running_task_definition(self) -> str:
        services = self.ecs.describe_services(cluster=self.target.cluster, services=[self.target.service])["services"]
        if not services:
            raise ReleaseError(f"service {self.target.service} not found in cluster {self.target.cluster}")
        return services[0]["taskDefinition"]

    def run(self) -> bool:
        """Roll out the target task definition; False when the service already runs it."""
        current = self.running_task_definition()
        if current == self.target.task_definition_arn:
            self.log(f"{self.target.service} already runs {current}: nothing to roll out")
            return False
        self.log(f"rolling out {self.target.task_definition_arn} (running: {current})")
        self.migrate()
        deployment = self.update_service()
        self.wait_for_deployment(deployment)
        self.log(f"{self.target.service} is steady on {self.target.task_definition_arn}")
        return True

    def migrate(self) -> None:
        """Run the one-off migration task from the new task definition; its exit code must be 0."""
        t = self.target
        response = self.ecs.run_task(
            cluster=t.cluster, taskDefinition=t.task_definition_arn, count=1, startedBy=STARTED_BY,
            overrides=t.migration_overrides,
            networkConfiguration={"awsvpcConfiguration": {"subnets": t.subnets, "securityGroups": t.security_groups,
                                                          "assignPublicIp": "DISABLED"}},
        )
        if response.get("failures") or not response.get("tasks"):
            raise ReleaseError(f"the migration task did not start: {response.get('failures')}")
        task_arn = response["tasks"][0]["taskArn"]
        self.log(f"migration task {task_arn} started")
        task = _poll(lambda: self._stopped(task_arn), self.timing.migration_timeout_seconds, self.timing.poll_seconds,
                     "the migration task to stop", self._sleep, self._clock)
        names = {o.get("name") for o in t.migration_overrides.get("containerOverrides", [])}
        containers = [c for c in task.get("containers", []) if not names or c.get("name") in names]
        codes = [c.get("exitCode") for c in containers]
        if not containers or any(code != 0 for code in codes):
            reason = task.get("stoppedReason") or "no reason given"
            raise ReleaseError(f"the migration task failed (exit code {codes[0] if len(codes) == 1 else codes}: "
                               f"{reason}); the service still runs the previous release")
        self.log("migrations done (exit code 0)")

    def _stopped(self, task_arn: str) -> dict[str, Any] | None:
        tasks = self.ecs.describe_tasks(cluster=self.target.cluster, tasks=[task_arn])["tasks"]
        return tasks[0] if tasks and tasks[0].get("lastStatus") == "STOPPED" else None

    def update_service(self) -> str:
        t = self.target
        service = self.ecs.update_service(cluster=t.cluster, service=t.service, taskDefinition=t.task_definition_arn)["service"]
        primary = [d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"]
        if not primary:
            raise ReleaseError("update-service returned no PRIMARY deployment")
        self.log(f"deployment {primary[0]['id']} started")
        return primary[0]["id"]

    def wait_for_deployment(self, deployment_id: str) -> None:
        _poll(lambda: self._deployment_done(deployment_id), self.timing.deployment_timeout_seconds,
              self.timing.poll_seconds, f"deployment {deployment_id} to complete", self._sleep, self._clock)

    def _deployment_done(self, deployment_id: str) -> bool | None:
        service = self.ecs.describe_services(cluster=self.target.cluster, services=[self.target.service])["services"][0]
        deployments = service.get("deployments", [])
        mine = next((d for d in deployments if d.get("id") == deployment_id), None)
        if mine is None or mine.get("rolloutState") == "FAILED":
            reason = (mine or {}).get("rolloutStateReason") or "replaced by a rollback"
            raise ReleaseError(f"deployment {deployment_id} failed ({reason}); ECS rolled the service back to "
                               f"{service.get('taskDefinition')}")
        if mine.get("rolloutState") == "COMPLETED" and len(deployments) == 1:
            return True
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.release", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rollout = sub.add_parser("rollout", help="migrate, update the service, wait for steady state")
    rollout.add_argument("--outputs", required=True, help="`terraform output -json` of the application stack")
    rollout.add_argument("--poll-seconds", type=float, default=Timing.poll_seconds)
    rollout.add_argument("--timeout-seconds", type=float, default=Timing.deployment_timeout_seconds,
                         help="per step: the migration task, then the deployment")
    uri = sub.add_parser("plan-uri", help="where CI keeps the saved plan of ENVIRONMENT for RUN between plan and apply")
    uri.add_argument("environment")
    uri.add_argument("run")
    tag = sub.add_parser("check-tag", help="fail unless the environment's reviewed release is TAG")
    tag.add_argument("environment")
    tag.add_argument("tag")
    args = parser.parse_args(argv)
    try:
        if args.command == "check-tag":
            return check_tag(args.environment, args.tag)
        if args.command == "plan-uri":
            print(plan_uri(args.environment, args.run))
            return 0
        with open(args.outputs, encoding="utf-8") as handle:
            target = Target.from_outputs(json.load(handle))
        import boto3

        timing = Timing(args.poll_seconds, args.timeout_seconds, args.timeout_seconds)
        Release(boto3.client("ecs"), target, timing).run()
    except ReleaseError as error:
        print(f"release failed: {error}", file=sys.stderr)
        return 1
    return 0


def plan_uri(environment: str, run: str) -> str:
    """s3://<state bucket>/<plans prefix>/ajuda-<env>/<run>.tfplan: only the deploy roles reach it."""
    import config

    (env,) = config.load([environment])
    if env.state.access is None:
        raise ReleaseError(f"{environment}: state.access is not configured; saved plans need the deploy roles")
    return f"s3://{env.state.bucket}/{env.state.access.plans_prefix}/{env.stack_name}/{run}.tfplan"


def check_tag(environment: str, tag: str) -> int:
    """An operator's ``release.sh <env> <tag>`` must name the tag the environment's configuration holds."""
    import config

    try:
        (env,) = config.load([environment])
    except config.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if env.service.image_tag != tag:
        print(f"error: {environment} is configured to run {env.service.image_tag!r}, not {tag!r}: a release is a "
              f"pull request that changes RELEASES in config/environments.py (README: Releasing)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
