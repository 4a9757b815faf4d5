#!/usr/bin/env bash
# Installs muvera-nano with everything its tests need into a fresh virtual environment and
# runs every test: the C++ kernel tests under AddressSanitizer + UndefinedBehaviorSanitizer,
# the NEON kernels cross-compiled for AArch64 and run under qemu, then the Python suite.
# Usage: bash tests/run.sh [extra pytest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="${MUVERA_NANO_TEST_VENV:-$root/.venv-test}"
build="${MUVERA_NANO_TEST_BUILD:-$root/build/tests}"

echo "== fresh virtual environment: $venv"
python3 -m venv --clear "$venv"
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q cmake ninja

echo "== installing the project and the reference implementations"
bash tests/install.sh

echo "== C++ kernel tests under ASan + UBSan"
cmake -S . -B "$build/sanitize" -G Ninja -DMUVERA_NANO_BUILD_PYTHON=OFF -DMUVERA_NANO_BUILD_TESTS=ON \
  -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" >/dev/null
cmake --build "$build/sanitize"
ctest --test-dir "$build/sanitize" --output-on-failure

echo "== NEON kernels: AArch64 cross build under qemu"
if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64-static >/dev/null; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq g++-aarch64-linux-gnu qemu-user-static >/dev/null
fi
cmake -S . -B "$build/neon" -G Ninja -DCMAKE_TOOLCHAIN_FILE=tests/cpp/aarch64-linux-gnu.cmake \
  -DMUVERA_NANO_BUILD_PYTHON=OFF -DMUVERA_NANO_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build/neon"
ctest --test-dir "$build/neon" --output-on-failure

echo "== Python tests"
cd "$root/tests"  # import the installed package, not the source tree
MUVERA_NANO_REQUIRE_QEMU=1 python -m pytest -q -p no:cacheprovider "$@"
