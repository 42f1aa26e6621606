"""Measure what moving from CDKTF 0.21 to CDK Terrain (cdktn) would cost, without switching.

HashiCorp deprecated CDKTF on 2025-12-10; its community continuation is CDK Terrain. This trial
answers "what breaks if we move?" with evidence instead of opinion, in a scratch directory:

1. a virtualenv with ``cdktn``, ``cdktn-provider-aws`` (hashicorp/aws 6.x bindings) and
   ``cdktn-provider-postgresql``;
2. a copy of the committed tree (``git archive HEAD``) with the imports renamed;
3. every stack synthesized under both, and the Terraform JSON compared leaf by leaf;
4. every top-level argument the stacks set, checked against the 6.x bindings' schema (the jsii
   assembly carries the provider schema the bindings were generated from);
5. optionally the unit tier under cdktn (``--unit``) and the cdktn CLI's own synth (``--cli``).

    python -m tools.cdktn_trial --workdir /tmp/cdktn-trial [--unit] [--cli]

It needs PyPI (and npm for ``--cli``), about 600 MB and a few minutes; it is not part of CI.
The README's "CDKTF's deprecation" section records the last run's findings.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cdktn==0.24.0", "cdktn-provider-aws==25.8.1", "cdktn-provider-postgresql==15.0.0",
            "constructs>=10.3,<11")
CLI_PACKAGE = "cdktn-cli@0.24.0"
RENAMES = (
    (re.compile(r"\bcdktf_cdktf_provider_aws\b"), "cdktn_provider_aws"),
    (re.compile(r"\bcdktf_cdktf_provider_postgresql\b"), "cdktn_provider_postgresql"),
    (re.compile(r"^(\s*)from cdktf import", re.M), r"\1from cdktn import"),
    (re.compile(r"^(\s*)import cdktf$", re.M), r"\1import cdktn as cdktf"),
)
# Terraform meta-arguments: valid on every resource, absent from provider schemas.
META_ARGUMENTS = {"//", "depends_on", "lifecycle", "provider", "count", "for_each", "connection", "provisioner"}


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, text=True, capture_output=True, check=False)


def rename_imports(tree: Path) -> tuple[int, int]:
    """Rewrite the CDKTF imports to cdktn in every Python file; returns (files, lines) changed."""
    files = lines = 0
    for path in tree.rglob("*.py"):
        text = path.read_text()
        new = text
        for pattern, replacement in RENAMES:
            new = pattern.sub(replacement, new)
        if new != text:
            files += 1
            lines += sum(a != b for a, b in zip(text.splitlines(), new.splitlines(), strict=False))
            path.write_text(new)
    return files, lines


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaves(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaves(child, f"{path}[{index}]")
    else:
        yield path, value


def compare_stacks(before: Path, after: Path) -> dict[str, list[str]]:
    """Per stack, every leaf that differs (the bootstrap's absolute local-state path excluded)."""
    report: dict[str, list[str]] = {}
    for stack in sorted(p.name for p in (before / "stacks").iterdir()):
        a = dict(leaves(json.loads((before / "stacks" / stack / "cdk.tf.json").read_text())))
        b = dict(leaves(json.loads((after / "stacks" / stack / "cdk.tf.json").read_text())))
        differences = [f"{key}: {a.get(key)!r} -> {b.get(key)!r}" for key in sorted(set(a) | set(b))
                       if a.get(key) != b.get(key) and not key.startswith(".terraform.backend.local.path")]
        report[stack] = differences
    return report


def binding_schema(venv: Path) -> dict[str, set[str]]:
    """Top-level arguments of every resource and data source, from the 6.x bindings' jsii assembly."""
    archive = next(venv.glob("lib/python*/site-packages/cdktn_provider_aws/_jsii/*.jsii.tgz"))
    with tarfile.open(archive) as tar:
        member = tar.extractfile("package/.jsii")
        assert member is not None
        types = json.load(member)["types"]
    snake = re.compile(r"(?<!^)(?=[A-Z])")
    schema: dict[str, set[str]] = {}
    for fqn, spec in types.items():
        parts = fqn.split(".")
        if spec.get("kind") == "interface" and len(parts) == 3 and \
                any("TerraformMetaArguments" in i for i in spec.get("interfaces", [])):
            schema[parts[1]] = {snake.sub("_", p["name"]).lower() for p in spec.get("properties", [])}
    return schema


def arguments_missing_from(schema: dict[str, set[str]], outdir: Path) -> tuple[int, list[str]]:
    checked, missing = 0, set()
    for path in (outdir / "stacks").glob("*/cdk.tf.json"):
        document = json.loads(path.read_text())
        for kind in ("resource", "data"):
            for terraform_type, blocks in document.get(kind, {}).items():
                if not terraform_type.startswith("aws_"):
                    continue
                words = (["data", "aws"] if kind == "data" else []) + terraform_type[4:].split("_")
                module = words[0] + "".join(w.capitalize() for w in words[1:])
                known = schema.get(module)
                for block in blocks.values():
                    for argument in block:
                        checked += 1
                        if known is None or (argument not in META_ARGUMENTS and argument not in known):
                            missing.add(f"{kind}.{terraform_type}.{argument}")
    return checked, sorted(missing)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--unit", action="store_true", help="also run tests/unit under cdktn")
    parser.add_argument("--cli", action="store_true", help="also install the cdktn CLI and run its synth")
    args = parser.parse_args()
    work: Path = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CHECKPOINT_DISABLE": "1", "AJUDA_CONFIG_FILE": ""}

    venv = work / "venv"
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(venv)], work).check_returncode()
    install = run([str(venv / "bin" / "pip"), "install", "--quiet", *PACKAGES, "pytest", "moto[server]", "boto3"], work)
    if install.returncode:
        print(install.stderr[-2000:], file=sys.stderr)
        return 1

    trees = {"cdktf": work / "tree-cdktf", "cdktn": work / "tree-cdktn"}
    for tree in trees.values():
        subprocess.run(f"rm -rf '{tree}' && mkdir -p '{tree}' && git -C '{ROOT}' archive HEAD | tar -x -C '{tree}'",
                       shell=True, check=True)
    files, lines = rename_imports(trees["cdktn"])
    print(f"renamed imports: {lines} lines in {files} files")

    for name, python in (("cdktf", sys.executable), ("cdktn", str(venv / "bin" / "python"))):
        synth = run([python, "main.py"], trees[name], env)
        print(f"synth under {name}: exit {synth.returncode}")
        if synth.returncode:
            print(synth.stderr[-3000:])
            return 1
    for stack, differences in compare_stacks(trees["cdktf"] / "cdktf.out", trees["cdktn"] / "cdktf.out").items():
        print(f"  {stack}: {len(differences)} differing leaves")
        for line in differences:
            print(f"    {line}")

    checked, missing = arguments_missing_from(binding_schema(venv), trees["cdktn"] / "cdktf.out")
    print(f"arguments checked against the 6.x schema: {checked}; unknown: {missing or 'none'}")

    if args.unit:
        unit = run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"],
                   trees["cdktn"], env)
        print("unit tier under cdktn:", (unit.stdout.strip().splitlines() or ["no output"])[-1])
    if args.cli:
        cli_dir = work / "cli"
        cli_dir.mkdir(exist_ok=True)
        run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", CLI_PACKAGE], cli_dir)
        engines = json.loads((cli_dir / "node_modules" / "cdktn-cli" / "package.json").read_text()).get("engines")
        synth = run([str(cli_dir / "node_modules" / ".bin" / "cdktn"), "synth"], trees["cdktn"],
                    {**env, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"})
        node = run(["node", "--version"], work).stdout.strip()
        print(f"cdktn CLI: engines {engines}, node {node}, synth exit {synth.returncode}")
        if synth.returncode:
            print("   ", (synth.stderr.strip().splitlines() or ["no output"])[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
