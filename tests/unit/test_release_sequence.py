"""tools.release: the rollout sequence against a scripted ECS (no cdktf import, no network).

The emulator tier (tests/emulator/test_release.py) runs the same code against moto end to end.
"""

from __future__ import annotations

import json

import pytest

from tools import release
from tools.release import Release, ReleaseError, Target, Timing

OLD, NEW = "arn:aws:ecs:us-east-1:1:task-definition/app:1", "arn:aws:ecs:us-east-1:1:task-definition/app:2"
OVERRIDES = {"containerOverrides": [{"name": "open-webui", "command": ["migrate"]}]}
TARGET = Target(cluster="c", service="s", task_definition_arn=NEW, migration_overrides=OVERRIDES,
                subnets=["subnet-1", "subnet-2"], security_groups=["sg-1"])


class FakeEcs:
    """Records calls; the migration stops after ``polls_to_stop`` polls with ``exit_code``."""

    def __init__(self, exit_code=0, rollout=("IN_PROGRESS", "COMPLETED"), running=OLD, polls_to_stop=2):
        self.calls: list[tuple[str, dict]] = []
        self.exit_code, self.rollout, self.running, self.polls_to_stop = exit_code, list(rollout), running, polls_to_stop
        self.deployments = [{"id": "ecs-svc/old", "status": "PRIMARY", "rolloutState": "COMPLETED", "taskDefinition": OLD}]

    def describe_services(self, **kw):
        self.calls.append(("describe_services", kw))
        if any(name == "update_service" for name, _ in self.calls) and self.rollout:
            state = self.rollout.pop(0)
            self.deployments[0]["rolloutState"] = state
            if state == "COMPLETED":
                self.deployments = self.deployments[:1]
            if state == "ROLLED_BACK":  # ECS replaces the failed deployment with one of the old revision
                self.running = OLD
                self.deployments = [{"id": "ecs-svc/rollback", "status": "PRIMARY", "rolloutState": "IN_PROGRESS",
                                     "taskDefinition": OLD}]
        return {"services": [{"taskDefinition": self.running, "deployments": self.deployments}]}

    def run_task(self, **kw):
        self.calls.append(("run_task", kw))
        return {"tasks": [{"taskArn": "arn:task/1"}], "failures": []}

    def describe_tasks(self, **kw):
        self.calls.append(("describe_tasks", kw))
        polls = sum(1 for name, _ in self.calls if name == "describe_tasks")
        if polls < self.polls_to_stop:
            return {"tasks": [{"lastStatus": "RUNNING", "containers": [{"name": "open-webui"}]}]}
        return {"tasks": [{"lastStatus": "STOPPED", "stoppedReason": "Essential container in task exited",
                           "containers": [{"name": "open-webui", "exitCode": self.exit_code}]}]}

    def update_service(self, **kw):
        self.calls.append(("update_service", kw))
        self.running = kw["taskDefinition"]
        self.deployments = [{"id": "ecs-svc/new", "status": "PRIMARY", "rolloutState": "IN_PROGRESS",
                             "taskDefinition": self.running}] + [dict(d, status="ACTIVE") for d in self.deployments]
        return {"service": {"deployments": self.deployments}}

    def names(self):
        return [name for name, _ in self.calls]


FAST = Timing(poll_seconds=0, migration_timeout_seconds=60, deployment_timeout_seconds=60)


def run(ecs, timing=FAST):
    clock = iter(range(0, 10_000))
    return Release(ecs, TARGET, timing, log=lambda _: None, sleep=lambda _: None, clock=lambda: next(clock)).run()


def test_migration_runs_before_the_service_moves_and_the_release_waits_for_completion():
    ecs = FakeEcs()
    assert run(ecs) is True
    names = ecs.names()
    assert names.index("run_task") < names.index("update_service")
    assert names[names.index("run_task"):].count("describe_tasks") == 2  # waited for STOPPED
    assert names[-1] == "describe_services" and ecs.deployments[0]["rolloutState"] == "COMPLETED"
    run_task = dict(ecs.calls)["run_task"]
    assert run_task["taskDefinition"] == NEW and run_task["overrides"] == OVERRIDES
    assert run_task["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": ["subnet-1", "subnet-2"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}
    assert dict(ecs.calls)["update_service"] == {"cluster": "c", "service": "s", "taskDefinition": NEW}


def test_a_failed_migration_fails_the_release_and_leaves_the_service_alone():
    ecs = FakeEcs(exit_code=1)
    with pytest.raises(ReleaseError, match=r"migration task failed \(exit code 1"):
        run(ecs)
    assert "update_service" not in ecs.names() and ecs.running == OLD


def test_a_migration_without_an_exit_code_is_a_failure():
    ecs = FakeEcs(exit_code=None)
    with pytest.raises(ReleaseError, match="migration task failed"):
        run(ecs)


@pytest.mark.parametrize("rollout", [("IN_PROGRESS", "FAILED"), ("ROLLED_BACK",)])
def test_a_deployment_ecs_rolled_back_fails_the_release(rollout):
    """ECS marks the deployment FAILED (circuit breaker or deployment alarm) and rolls back.

    "Rolling update deployments" / DeploymentAlarms, Amazon ECS API Reference:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html
    """
    ecs = FakeEcs(rollout=rollout)
    with pytest.raises(ReleaseError, match="rolled the service back"):
        run(ecs)


def test_a_deployment_that_never_settles_times_out():
    ecs = FakeEcs(rollout=["IN_PROGRESS"] * 1000)
    with pytest.raises(ReleaseError, match="timed out"):
        run(ecs, Timing(poll_seconds=0, migration_timeout_seconds=60, deployment_timeout_seconds=5))


def test_nothing_runs_when_the_service_already_runs_the_release():
    ecs = FakeEcs(running=NEW)
    assert run(ecs) is False
    assert ecs.names() == ["describe_services"]


def test_target_from_terraform_output_json():
    outputs = {"cluster_name": {"value": "c"}, "service_name": {"value": "s"}, "task_definition_arn": {"value": NEW},
               "migration_overrides": {"value": json.dumps(OVERRIDES)}, "app_subnet_ids": {"value": ["subnet-1", "subnet-2"]},
               "app_security_group_id": {"value": "sg-1"}}
    assert Target.from_outputs(outputs) == TARGET
    with pytest.raises(ReleaseError, match="'migration_overrides'"):
        Target.from_outputs({k: v for k, v in outputs.items() if k != "migration_overrides"})


def test_check_tag_refuses_a_tag_other_than_the_reviewed_one(capsys):
    from config.environments import RELEASES

    assert release.check_tag("prod", RELEASES["prod"][0]) == 0
    assert release.check_tag("prod", "v9.9.9-unreviewed") == 2
    assert "RELEASES in config/environments.py" in capsys.readouterr().err



def test_saved_plans_live_under_the_prefix_only_the_deploy_roles_reach(monkeypatch):
    from dataclasses import replace

    import config.environments as environments

    assert release.plan_uri("prod", "123-1") == "s3://ajuda-digital-terraform-state/plans/ajuda-prod/123-1.tfplan"
    no_roles = replace(environments.DEV, state=replace(environments.DEV.state, access=None))
    monkeypatch.setattr(environments, "all_environments", lambda: {"dev": no_roles})
    with pytest.raises(ReleaseError, match="state.access"):
        release.plan_uri("dev", "1")
