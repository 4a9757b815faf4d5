#!/usr/bin/env bash
# Installs muvera-nano and everything its tests need into the active Python environment,
# including the reference implementations the tests compare against (PyLate on torch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
pip() { python -m pip "$@"; }

# torch first, pinned: this version is a local CPU build; any other would pull CUDA.
pip install torch==2.13.0
# PyLate pins fast-plaid, which pins another torch: install it alone and add what
# `from pylate import models, rank` needs, with torch held by the constraints file.
pip install --no-deps pylate==1.4.0
# txtai 9.12.0's Muvera is the reference the FDE tests run; only its numpy module is loaded.
pip install --no-deps txtai==9.12.0
pip install -c "$here/constraints.txt" "$root[test]" -r "$here/requirements-reference.txt"
