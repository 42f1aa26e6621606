# Shared shell helpers for scripts/*.sh and .ci/run. Source it; do not run it.
# shellcheck shell=bash

AJUDA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export CHECKPOINT_DISABLE=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Python virtualenv with the pinned packages; reused when requirements have not changed.
ensure_venv() {
  local venv="$AJUDA_ROOT/.venv" stamp
  stamp="$(cat "$AJUDA_ROOT/requirements.txt" "$AJUDA_ROOT/requirements-dev.txt" | sha256sum | cut -c1-16)"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating virtualenv $venv"
    python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
  fi
  if [ "$(cat "$venv/.requirements-stamp" 2>/dev/null)" != "$stamp" ]; then
    log "installing Python packages (requirements-dev.txt)"
    "$venv/bin/pip" install --quiet -r "$AJUDA_ROOT/requirements-dev.txt"
    echo "$stamp" > "$venv/.requirements-stamp"
  fi
  export PATH="$venv/bin:$PATH"
}

# The CDKTF CLI pinned in package.json / package-lock.json.
ensure_cdktf_cli() {
  if [ ! -x "$AJUDA_ROOT/node_modules/.bin/cdktf" ]; then
    command -v npm >/dev/null || die "npm is required (Node.js 20)"
    log "installing the CDKTF CLI (npm ci)"
    (cd "$AJUDA_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  export PATH="$AJUDA_ROOT/node_modules/.bin:$PATH"
}

# AJUDA_PROVIDER_MIRROR: the root of a Terraform filesystem mirror holding hashicorp/aws.
# Taken from the environment when set; otherwise looked for once on this machine.
discover_provider_mirror() {
  if [ -n "${AJUDA_PROVIDER_MIRROR:-}" ]; then
    [ -d "$AJUDA_PROVIDER_MIRROR/registry.terraform.io/hashicorp/aws" ] \
      || die "AJUDA_PROVIDER_MIRROR=$AJUDA_PROVIDER_MIRROR holds no registry.terraform.io/hashicorp/aws"
    return 0
  fi
  local binary
  binary="$(find / -path /proc -prune -o -name 'terraform-provider-aws_*' -type f -print 2>/dev/null | head -n 1)"
  if [ -n "$binary" ]; then
    # <root>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_...
    AJUDA_PROVIDER_MIRROR="$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$binary")")")")")")"
    export AJUDA_PROVIDER_MIRROR
    log "provider mirror: $AJUDA_PROVIDER_MIRROR"
  fi
}

# A Terraform CLI configuration that installs providers from the mirror only (offline).
write_terraform_cli_config() {
  local path="$1"
  [ -n "${AJUDA_PROVIDER_MIRROR:-}" ] || die "no Terraform provider mirror found; set AJUDA_PROVIDER_MIRROR"
  mkdir -p "$(dirname "$path")"
  cat > "$path" <<HCL
provider_installation {
  filesystem_mirror {
    path    = "$AJUDA_PROVIDER_MIRROR"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
HCL
  export TF_CLI_CONFIG_FILE="$path"
}
