"""Build the CDKTF App from validated configuration."""

from __future__ import annotations

import os

from cdktf import App

from config.model import EnvironmentConfig
from stacks.application import ApplicationStack
from stacks.bootstrap import BootstrapStack
from stacks.ci_access import CI_ACCESS_STACK, CiAccessStack
from stacks.database import DatabaseStack


def bootstrap_stacks(envs: list[EnvironmentConfig]) -> dict[str, list[EnvironmentConfig]]:
    """One bootstrap stack per distinct state backend (bucket + region), with the environments it serves.

    An emulator environment's backend is its own (``<env>-bootstrap``). With one real backend the
    stack is ``bootstrap``; with several, each is ``bootstrap-<bucket>``.
    """
    groups: dict[tuple[str, str, str], list[EnvironmentConfig]] = {}
    for env in envs:
        emulated = env.name if env.emulator is not None else ""
        groups.setdefault((emulated, env.state.bucket, env.state.region), []).append(env)
    real = [key for key in groups if not key[0]]
    stacks: dict[str, list[EnvironmentConfig]] = {}
    for (emulated, bucket, _region), served in groups.items():
        if emulated:
            name = f"{emulated}-bootstrap"
        else:
            name = "bootstrap" if len(real) == 1 else f"bootstrap-{bucket.replace('.', '-')}"
        stacks[name] = served
    return stacks


def build_app(envs: list[EnvironmentConfig], outdir: str, bootstrap_state_dir: str) -> App:
    """Application and database stacks per environment, and one bootstrap per distinct state backend."""
    app = App(outdir=outdir, skip_validation=False)
    for stack_name, served in bootstrap_stacks(envs).items():
        BootstrapStack(app, stack_name, served, state_dir=os.path.abspath(bootstrap_state_dir))
        env = served[0]
        # The deploy roles live in the real account only; the emulator has no GitHub to trust.
        if env.emulator is None and env.state.access is not None:
            CiAccessStack(app, stack_name.replace("bootstrap", CI_ACCESS_STACK, 1), env)
    for env in envs:
        ApplicationStack(app, env.stack_name, env)
        if env.database_stack:
            DatabaseStack(app, env.names.database_stack, env)
    return app
