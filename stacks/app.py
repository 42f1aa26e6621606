"""Build the CDKTF App from validated configuration."""

from __future__ import annotations

import os

from cdktf import App

from config.model import EnvironmentConfig
from stacks.application import ApplicationStack
from stacks.bootstrap import BootstrapStack
from stacks.ci_access import CI_ACCESS_STACK, CiAccessStack
from stacks.database import DatabaseStack


def bootstrap_stack_name(env: EnvironmentConfig) -> str:
    return "bootstrap" if env.emulator is None else f"{env.name}-bootstrap"


def build_app(envs: list[EnvironmentConfig], outdir: str, bootstrap_state_dir: str) -> App:
    """Application and database stacks per environment, and one bootstrap per distinct state backend."""
    app = App(outdir=outdir, skip_validation=False)
    bootstraps: dict[str, EnvironmentConfig] = {}
    for env in envs:
        bootstraps.setdefault(bootstrap_stack_name(env), env)
    for stack_name, env in bootstraps.items():
        BootstrapStack(app, stack_name, env, state_dir=os.path.abspath(bootstrap_state_dir))
        # The deploy roles live in the real account only; the emulator has no GitHub to trust.
        if env.emulator is None and env.state.access is not None:
            CiAccessStack(app, CI_ACCESS_STACK, env)
    for env in envs:
        ApplicationStack(app, env.stack_name, env)
        if env.database_stack:
            DatabaseStack(app, f"{env.stack_name}-database", env)
    return app
