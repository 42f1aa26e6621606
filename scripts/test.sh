#!/usr/bin/env bash
# Set up and run every test tier (unit, validate, entrypoint, emulator, integration) in two pytest
# processes (the emulator tier beside the rest), and the linters (ruff, mypy, checkov on every synthesized stack, hadolint, shellcheck, actionlint).
#
#   bash scripts/test.sh                    # everything
#   bash scripts/test.sh tests/unit         # one tier (arguments go to pytest; linters are skipped)
#
# Everything: the installs that do not depend on each other run side by side. The integration
# tier's virtualenvs (minutes) install while the unit and validate tiers run; the linters run in the
# background at low priority while pytest mostly waits on Terraform, moto and Open WebUI. Their log
# is printed after pytest's, and either failing fails the run.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AJUDA_ROOT"

ensure_venv
discover_provider_mirror
if [ "${CI:-}" = "true" ]; then
  command -v terraform >/dev/null || die "CI: terraform is not on PATH"
  [ -n "${AJUDA_PROVIDER_MIRROR:-}" ] || die "CI: no Terraform provider mirror (set AJUDA_PROVIDER_MIRROR)"
fi

if [ "$#" -gt 0 ]; then
  ensure_cdktf_cli
  exec python -m pytest "$@"
fi

work="$(mktemp -d)"
# On any exit, stop what this script started in the background.
trap 'kill $(jobs -p) 2> /dev/null || true; rm -rf "$work"' EXIT

# The linters, start to end: install, synthesize every environment (into a directory of their own:
# pytest's tiers synthesize elsewhere), then every tool. Exit status: how many tools failed.
lint_all() {
  local failures=0
  # ruff over the whole repository; mypy strict on config/ and modules/ (settings in pyproject.toml).
  log "linting Python (ruff)"
  ruff check "$AJUDA_ROOT" || failures=$((failures + 1))
  log "type-checking config/ and modules/ (mypy)"
  python -m mypy || failures=$((failures + 1))
  # shellcheck source=.ci/lint-tools.sh
  source "$AJUDA_ROOT/.ci/lint-tools.sh" .venv-tools
  lint_tools_install || return 1
  log "synthesizing every environment for the linters"
  CDKTF_OUTDIR="$work/cdktf.out" python main.py || return 1
  run_all_linters "$work/cdktf.out/stacks" || failures=$((failures + $?))
  return "$failures"
}

log "installing side by side: the CDKTF CLI, the linters, the integration tier's clients, then its venvs"
ensure_cdktf_cli &
cli_job=$!
# Low priority: the linters take the CPU time pytest leaves idle.
(renice -n 10 -p "$BASHPID" > /dev/null || true; lint_all) > "$work/lint.log" 2>&1 &
lint_job=$!
integration_exports="$(bash "$AJUDA_ROOT/scripts/integration-env.sh" clients)" \
  || die "the integration tier's clients could not be installed (see above)"
eval "$integration_exports"
wait "$cli_job" || die "the CDKTF CLI could not be installed (npm ci)"
ensure_cdktf_cli # puts node_modules/.bin on this shell's PATH
# The two big virtualenvs (Open WebUI, the gateway) install while the unit and validate tiers run;
# tests/support/install_wait.py holds the later tiers until the status file says how it went.
export AJUDA_INSTALL_STATUS_FILE="$work/venvs-status"
(
  status=0
  nice -n 5 bash "$AJUDA_ROOT/scripts/integration-env.sh" venvs > /dev/null 2> "$work/venvs.log" || status=$?
  echo "$status" > "$AJUDA_INSTALL_STATUS_FILE"
) &

# The emulator tier spends most of its ~12 min waiting on the AWS provider's fixed polls (RDS,
# load balancer, S3 lifecycle), so it runs in a second pytest process beside the other tiers
# (~10 min): each process has its own servers, ports and --basetemp. Its log follows pytest's.
log "running the test tiers (the emulator tier beside the others; its log comes after)"
python -m pytest -p tests.support.install_wait -ra --durations=15 --basetemp "$work/pytest-emulator" \
  tests/emulator > "$work/emulator.log" 2>&1 &
emulator_job=$!
tests_status=0
# Lower priority than the emulator tier, the critical path (~19 min against ~11).
nice -n 5 python -m pytest -p tests.support.install_wait -ra --durations=25 --basetemp "$work/pytest" \
  tests/unit tests/validate tests/entrypoint tests/integration || tests_status=$?
emulator_status=0
wait "$emulator_job" || emulator_status=$?
log "the emulator tier (ran beside the others)"
cat "$work/emulator.log"
[ "$emulator_status" -eq 0 ] || tests_status=$emulator_status

log "the integration tier's virtualenvs (installed during the tests)"
cat "$work/venvs.log"
log "the linters (run during the tests)"
lint_status=0
wait "$lint_job" || lint_status=$?
cat "$work/lint.log"
[ "$tests_status" -eq 0 ] || die "the test tiers failed (pytest exit code $tests_status)"
[ "$lint_status" -eq 0 ] || die "the linters failed (exit status $lint_status: the number of tools with findings; see above)"
log "all tests and linters passed"
