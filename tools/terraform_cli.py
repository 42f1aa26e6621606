"""The Terraform CLI configuration that installs providers only from a local filesystem mirror (offline).

The one copy: the tests call ``write_cli_config`` in-process and scripts/lib.sh runs
``python3 -m tools.terraform_cli PATH MIRROR``. It lives in Python rather than in the shell because
the Python callers need it as a function in every test process, while every script already has
python3 (the reverse would make each test source lib.sh in a bash subprocess). Standard library only.

    python3 -m tools.terraform_cli .local/terraformrc /opt/tf-plugins
"""

from __future__ import annotations

import sys
from pathlib import Path

# The environment variable naming the mirror root (<root>/registry.terraform.io/hashicorp/aws/...).
MIRROR_VARIABLE = "AJUDA_PROVIDER_MIRROR"


def mirror_problem(mirror: str) -> str | None:
    """Why ``mirror`` cannot serve the AWS provider, or None when it can."""
    if not mirror or not (Path(mirror) / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        return f"{MIRROR_VARIABLE}={mirror!r} does not hold registry.terraform.io/hashicorp/aws"
    return None


def cli_config(mirror: str | Path) -> str:
    """Every registry.terraform.io provider from ``mirror``; nothing from the network."""
    return (
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/*/*"]\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
        "}\n"
    )


def write_cli_config(path: Path, mirror: str | Path) -> Path:
    """Writes the configuration to ``path`` (for TF_CLI_CONFIG_FILE) and returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cli_config(mirror))
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python3 -m tools.terraform_cli PATH MIRROR", file=sys.stderr)
        return 2
    problem = mirror_problem(args[1])
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    write_cli_config(Path(args[0]), args[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
