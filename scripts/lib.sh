# Shared shell helpers for scripts/*.sh and .ci/run. Source it; do not run it.
# shellcheck shell=bash

AJUDA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export CHECKPOINT_DISABLE=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# uv reads no pip configuration: the machine's pip settings (constraints, find-links, indexes;
# files and PIP_* variables alike) become uv options, so both resolve the same versions.
uv_pip_options() {
  local key value item
  while IFS='=' read -r key value; do
    value="${value#\'}"
    value="${value%\'}"
    for item in $value; do
      case "$key" in
        *.constraint) printf '%s\n' --constraint "$item" ;;
        *.find-links) printf '%s\n' --find-links "$item" ;;
        *.index-url) printf '%s\n' --index-url "$item" ;;
        # pip skips an extra index whose folder is absent (with a warning); uv would fail on it.
        *.extra-index-url) if [[ "$item" != file://* || -d "${item#file://}" ]]; then printf '%s\n' --extra-index-url "$item"; fi ;;
      esac
    done
  done < <("$AJUDA_ROOT/.venv/bin/pip" config list 2>/dev/null)
}

# Python virtualenv with the pinned packages; reused when requirements have not changed.
ensure_venv() {
  local venv="$AJUDA_ROOT/.venv" stamp
  stamp="$(cat "$AJUDA_ROOT/requirements.txt" "$AJUDA_ROOT/requirements-dev.txt" | sha256sum | cut -c1-16)"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating virtualenv $venv"
    python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
  fi
  if [ "$(cat "$venv/.requirements-stamp" 2>/dev/null)" != "$stamp" ]; then
    log "installing Python packages (requirements-dev.txt, with the pinned uv: ~1 min instead of pip's ~2)"
    "$venv/bin/pip" install -qq "$(grep '^uv==' "$AJUDA_ROOT/requirements-dev.txt")" || die "pip install uv failed"
    local options
    mapfile -t options < <(uv_pip_options)
    # unsafe-best-match: pip's rule, the highest version across all indexes.
    "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --index-strategy unsafe-best-match \
      ${options[@]+"${options[@]}"} -r "$AJUDA_ROOT/requirements-dev.txt" || die "installing requirements-dev.txt failed"
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
# Taken from the environment when set. Otherwise searched for with `find /` once per machine: the
# result is remembered in .local/provider-mirror (AJUDA_PROVIDER_MIRROR_CACHE) and reused while it still holds the provider, so
# later runs (and the scripts this one starts, through the export) do not search again.
PROVIDER_MIRROR_CACHE="${AJUDA_PROVIDER_MIRROR_CACHE:-$AJUDA_ROOT/.local/provider-mirror}"
_holds_aws_provider() { [ -n "$1" ] && [ -d "$1/registry.terraform.io/hashicorp/aws" ]; }
discover_provider_mirror() {
  if [ -n "${AJUDA_PROVIDER_MIRROR:-}" ]; then
    _holds_aws_provider "$AJUDA_PROVIDER_MIRROR" \
      || die "AJUDA_PROVIDER_MIRROR=$AJUDA_PROVIDER_MIRROR holds no registry.terraform.io/hashicorp/aws"
    return 0
  fi
  local cached binary found
  cached="$(cat "$PROVIDER_MIRROR_CACHE" 2>/dev/null || true)"
  if _holds_aws_provider "$cached"; then
    export AJUDA_PROVIDER_MIRROR="$cached"
    return 0
  fi
  # Only an executable of real size: test fixtures leave empty look-alikes under /tmp.
  binary="$(find / -path /proc -prune -o -name 'terraform-provider-aws_*' -type f -perm -u=x -size +1M -print 2>/dev/null \
    | head -n 1)"
  # <root>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_...
  found="$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "${binary:-/}")")")")")")"
  if [ -n "$binary" ] && _holds_aws_provider "$found"; then
    export AJUDA_PROVIDER_MIRROR="$found"
    mkdir -p "$(dirname "$PROVIDER_MIRROR_CACHE")"
    printf '%s\n' "$AJUDA_PROVIDER_MIRROR" > "$PROVIDER_MIRROR_CACHE"
    log "provider mirror: $AJUDA_PROVIDER_MIRROR (remembered in $PROVIDER_MIRROR_CACHE)"
  fi
}

# A Terraform CLI configuration that installs providers from the mirror only (offline). The text
# has one copy, in tools/terraform_cli.py, which the tests use too.
write_terraform_cli_config() {
  local path="$1"
  [ -n "${AJUDA_PROVIDER_MIRROR:-}" ] || die "no Terraform provider mirror found; set AJUDA_PROVIDER_MIRROR"
  (cd "$AJUDA_ROOT" && python3 -m tools.terraform_cli "$path" "$AJUDA_PROVIDER_MIRROR") \
    || die "could not write the Terraform CLI configuration $path"
  export TF_CLI_CONFIG_FILE="$path"
}
