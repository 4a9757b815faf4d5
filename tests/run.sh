#!/usr/bin/env bash
# Every test, in stages, each timed; the first stage that fails stops the run and is named:
#   environment  a fresh virtual environment with everything the tests need (tests/install.sh)
#   lint         ruff and clang-format (.ci/lint)
#   sanitizers   the C++ kernel tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   qemu         the NEON kernels cross-built for AArch64 under qemu, and the x86 fallbacks under
#                qemu's emulation of CPUs without AVX / AVX-512 (.ci/qemu)
#   pytest       the Python suite (extra arguments go to pytest)
#   wheel        a manylinux wheel built, repaired, installed without a compiler and smoke-tested
#                (.ci/wheel)
# Usage: bash tests/run.sh [extra pytest arguments]
#   MUVERA_NANO_TEST_VENV   the venv (default .venv-test); MUVERA_NANO_TEST_BUILD the build folder
#                           for the C++ builds and the wheel (default build/tests)
#   MUVERA_NANO_APT=1       lets the environment stage apt-get install missing system packages
#                           (the cross compiler and qemu); without it they are named, not installed
#   MUVERA_NANO_STAGES      the stages to run (default: all, in the order above); without
#                           `environment` the venv must exist already
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="${MUVERA_NANO_TEST_VENV:-$root/.venv-test}"
build="${MUVERA_NANO_TEST_BUILD:-$root/build/tests}"
stages="${MUVERA_NANO_STAGES:-environment lint sanitizers qemu pytest wheel}"
# shellcheck source=../.ci/stages.sh
. "$root/.ci/stages.sh"

for s in $stages; do
  case " environment lint sanitizers qemu pytest wheel " in
    *" $s "*) ;;
    *) echo "run.sh: unknown stage '$s' in MUVERA_NANO_STAGES" >&2; exit 2 ;;
  esac
done
wants() { case " $stages " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

apt=()
[ "${MUVERA_NANO_APT:-0}" = 1 ] && apt=(--apt)
if wants environment; then
  stage environment bash tests/install.sh --venv "$venv" "${apt[@]}"
fi
mkdir -p "$build"
[ -f "$venv/bin/activate" ] || { echo "run.sh: no venv at $venv (run the environment stage)" >&2; exit 2; }
# shellcheck disable=SC1091
. "$venv/bin/activate"

run_pytest() {
  cd "$root/tests"  # import the installed package, not the source tree
  MUVERA_NANO_REQUIRE_QEMU=1 python -m pytest -q -p no:cacheprovider -m "not qemu" "$@" | tee "$build/pytest.log"
}

if wants lint; then stage lint bash .ci/lint; fi
if wants sanitizers; then stage sanitizers bash .ci/sanitizers "$build/sanitize"; fi
if wants qemu; then stage qemu bash .ci/qemu "$build/neon"; fi
if wants pytest; then stage pytest run_pytest "$@"; fi
if wants wheel; then stage wheel bash .ci/wheel "$build/wheel"; fi
stage_summary
# The pytest stage's count as the last line (a failure has stopped the run before this).
if wants pytest; then
  passed=$(grep -Eo '[0-9]+ passed' "$build/pytest.log" | tail -1 | cut -d' ' -f1)
  echo "pytest: ${passed:-0} passed, 0 failed"
fi
