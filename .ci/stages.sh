# Stage helpers for tests/run.sh (sourced): each stage is timed, and the first that fails stops
# the run with its name.

STAGE_TIMES=()

_now() { date +%s.%N; }
_since() { awk -v a="$1" -v b="$(_now)" 'BEGIN { printf "%.1f", b - a }'; }

# stage NAME COMMAND [ARG...]: runs the command (a function or a program) in a subshell with
# errexit on, so any failing command inside ends the stage.
stage() {
  local name=$1 t0 rc
  shift
  echo
  echo "==== stage $name"
  t0=$(_now)
  set +e
  (set -euo pipefail; "$@")
  rc=$?
  set -e
  local took
  took=$(_since "$t0")
  if [ "$rc" -ne 0 ]; then
    echo "==== stage $name FAILED (exit $rc) after ${took}s"
    stage_summary
    exit "$rc"
  fi
  STAGE_TIMES+=("$name ${took}s")
  echo "==== stage $name passed in ${took}s"
}

stage_summary() {
  [ ${#STAGE_TIMES[@]} -gt 0 ] || return 0
  echo
  echo "==== stages passed:"
  local s
  for s in "${STAGE_TIMES[@]}"; do printf '     %-12s %8s\n' ${s}; done
}
