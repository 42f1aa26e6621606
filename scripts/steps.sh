# One line per step on the terminal, everything a step prints in one log file. Source it.
#
#   steps_begin <log name>         # the log is $LOCAL_DIR/<log name>.log, started afresh
#   step "<what>" command args...  # runs the command with its output in the log; prints
#                                  # "HH:MM:SS  <what> ... ok  12s"; on failure prints what failed
#                                  # (tools/deploy_log.py: resource, error) and the log's path, and exits
#   STEP_OK_CODES="0 2" step ...   # exit codes that count as success (terraform plan -detailed-exitcode)
#
# Callers set LOCAL_DIR before steps_begin. STEP_STATUS holds the last step's exit code.
# shellcheck shell=bash

STEP_LOG=""
# shellcheck disable=SC2034 # read by the scripts that source this file
STEP_STATUS=0

steps_begin() {
  STEP_LOG="$LOCAL_DIR/$1.log"
  : > "$STEP_LOG"
}

step() {
  local what="$1" started offset code
  shift
  started="$(date +%s)"
  offset="$(wc -c < "$STEP_LOG")"
  printf '%s  %-58s ' "$(date +%H:%M:%S)" "$what" >&2
  printf '\n### %s %s: %s\n' "$(date -u +%FT%TZ)" "$what" "$*" >> "$STEP_LOG"
  code=0
  "$@" >> "$STEP_LOG" 2>&1 || code=$?
  # shellcheck disable=SC2034 # read by the scripts that source this file
  STEP_STATUS=$code
  if [[ " ${STEP_OK_CODES:-0} " == *" $code "* ]]; then
    printf 'ok  %ss\n' "$(( $(date +%s) - started ))" >&2
    return 0
  fi
  printf 'FAILED after %ss (exit %s)\n' "$(( $(date +%s) - started ))" "$code" >&2
  (cd "$AJUDA_ROOT" && python -m tools.deploy_log "$STEP_LOG" --offset "$offset") >&2 || true
  printf 'full log: %s\n' "$STEP_LOG" >&2
  exit "$code"
}
