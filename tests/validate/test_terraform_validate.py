"""`terraform init` (offline, provider mirror) and `terraform validate` on every stack.

The database stacks also use the cyrilgdn/postgresql provider, whose plugin binary is not in the
offline mirror (only hashicorp/aws is), and `terraform validate` cannot run without the schema the
binary reports. So each database stack is checked in two halves that together cover all of it:

- Terraform validates the stack without its postgresql provider block and postgresql_* resources.
  Every expression those held that does not point at a postgresql_* resource (the provider's
  host, port, user and password; the role's write-only password) is kept as a local value, so
  Terraform still checks its references and functions against the AWS provider's schema.
- tests/support/postgresql_schema.py checks the postgresql provider block and every postgresql_*
  resource against the provider schema shipped in the cdktf-cdktf-provider-postgresql package's
  jsii assembly (the same provider version the stack pins): argument names, required arguments,
  literal types, nested blocks, and references to postgresql_* resources and their attributes.

What neither checks: rules the provider enforces only when it connects (plan/apply).
"""

from __future__ import annotations

import json
import shutil

from tests.support import postgresql_schema, terraform
from tools.terraform_cli import write_cli_config

DATABASE_STACKS = ("ajuda-dev-database", "ajuda-staging-database", "ajuda-prod-database")


def aws_part(stack: dict) -> tuple[dict, dict[str, str]]:
    """The stack without its postgresql parts, and the expressions from them kept as locals."""
    kept: dict[str, str] = {}
    part = json.loads(json.dumps(stack))
    del part["terraform"]["required_providers"]["postgresql"]
    sources = {"provider.postgresql": part["provider"].pop("postgresql")}
    for resource_type in [t for t in part["resource"] if t.startswith("postgresql_")]:
        for logical_id, body in part["resource"].pop(resource_type).items():
            sources[f"{resource_type}.{logical_id}"] = {k: v for k, v in body.items() if k != "//"}
    if not part["resource"]:
        del part["resource"]
    for source, body in sources.items():
        for index, text in enumerate(postgresql_schema.strings(body)):
            if "${" in text and not postgresql_schema.references_postgresql(text):
                kept[f"{source}.{index}".replace(".", "__")] = text
    part.setdefault("locals", {}).update(kept)
    return part, kept


def test_every_stack_validates(synthesized, tmp_path):
    _, mirror = terraform.required_tools()
    cli = write_cli_config(tmp_path / "terraformrc", mirror)
    # One plugin cache shared by all stacks: the AWS provider is unpacked once, not per stack.
    cache = tmp_path / "plugin-cache"
    cache.mkdir()
    env = {"TF_CLI_CONFIG_FILE": str(cli), "TF_PLUGIN_CACHE_DIR": str(cache)}
    stacks = {name: doc for name, doc in synthesized.stacks.items() if terraform.aws_only(doc)}
    assert {"bootstrap", "ci-access", "ajuda-prod", "ajuda-dev", "ajuda-staging", "ajuda-local"} <= set(stacks)
    for name in DATABASE_STACKS:
        stacks[name], kept = aws_part(synthesized.stack(name))
        # The provider's connection settings and the role's password come from AWS: checked here.
        assert any("ephemeral.aws_secretsmanager_secret_version" in text for text in kept.values()), name
        assert terraform.aws_only(stacks[name]), name
    assert set(stacks) == set(synthesized.stacks), "a stack is validated by neither half"
    failures = []
    for name, document in stacks.items():
        workdir = tmp_path / name
        shutil.copytree(synthesized.outdir / "stacks" / name, workdir)
        (workdir / "cdk.tf.json").write_text(json.dumps(document))
        init = terraform.run(["init", "-backend=false", "-input=false", "-no-color"], workdir, env)
        if init.returncode != 0:
            failures.append(f"{name}: init failed\n{init.stderr}")
            continue
        result = terraform.run(["validate", "-no-color"], workdir, env)
        if result.returncode != 0:
            failures.append(f"{name}: validate failed\n{result.stdout}{result.stderr}")
    assert not failures, "\n".join(failures)


def test_postgresql_parts_match_the_provider_schema(synthesized):
    schema = postgresql_schema.load()
    for name in DATABASE_STACKS:
        stack = synthesized.stack(name)
        assert stack["resource"].get("postgresql_role"), f"{name}: no postgresql_role to check"
        assert postgresql_schema.check_stack(stack, schema) == [], name


def test_the_schema_check_refuses_what_terraform_validate_would():
    """The checker itself: each mistake below is one `terraform validate` reports for this provider."""
    schema = postgresql_schema.load()
    stack = {
        "terraform": {"required_providers": {"postgresql": {"source": schema.source, "version": schema.version}}},
        "provider": {"postgresql": [{"host": "db", "sslmode": "require", "port": "not-a-port"}]},
        "resource": {
            "postgresql_role": {"app": {"name": "app", "login": "yes", "conection_limit": 5}},
            "postgresql_grant": {"g": {"database": "d", "object_type": "database", "privileges": "CONNECT",
                                       "role": "${postgresql_role.other.name}"},
                                 "h": {"database": "d", "object_type": "database", "privileges": [],
                                       "role": "${postgresql_role.app.nmae}"}},
            "postgresql_widget": {"w": {}},
        },
    }
    errors = postgresql_schema.check_stack(stack, schema)
    expected = [
        "provider.postgresql[0].port: expected a number",
        "postgresql_role.app.login: expected a boolean",
        "postgresql_role.app: unknown argument 'conection_limit'",
        "postgresql_grant.g.privileges: expected a list",
        "postgresql_grant.g: postgresql_role.other is not declared",
        "postgresql_grant.h: postgresql_role has no attribute 'nmae'",
        "postgresql_widget.w: the provider has no resource type postgresql_widget",
    ]
    for fragment in expected:
        assert any(e.startswith(fragment) for e in errors), (fragment, errors)
    assert len(errors) == len(expected), errors
    assert postgresql_schema.check_stack({**stack, "terraform": {"required_providers": {
        "postgresql": {"source": schema.source, "version": "0.0.1"}}}}, schema)[0].startswith("the stack pins")
    del stack["resource"]["postgresql_grant"]["g"]["role"]
    assert "postgresql_grant.g: required argument 'role' is missing" in postgresql_schema.check_stack(stack, schema)
