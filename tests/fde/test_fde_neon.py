"""The NEON kernel on x86 machines: cross-compiled for AArch64 and run under qemu-user,
against the scalar reference bit for bit (neon_check.cpp). Runs where an AArch64 cross
compiler and qemu-aarch64 are installed (apt: g++-aarch64-linux-gnu qemu-user)."""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CXX = shutil.which("aarch64-linux-gnu-g++")
QEMU = shutil.which("qemu-aarch64")
SYSROOT = Path("/usr/aarch64-linux-gnu")


@pytest.mark.skipif(platform.machine() != "x86_64" or not CXX or not QEMU or not SYSROOT.exists(),
                    reason="needs aarch64-linux-gnu-g++ and qemu-aarch64 (NEON runs natively on Arm CI)")
def test_neon_matches_scalar_under_qemu(tmp_path):
    src = ROOT / "cpp" / "src"
    sources = ["cpu.cpp", "parallel.cpp", "maxsim.cpp", "maxsim_scalar.cpp", "maxsim_neon.cpp", "topk.cpp",
               "quantize.cpp", "fde.cpp", "fde_scalar.cpp", "fde_neon.cpp"]
    objs = []
    for name in sources:
        obj = tmp_path / (name + ".o")
        subprocess.run([CXX, "-O2", "-std=c++17", f"-I{ROOT / 'cpp' / 'include'}", f"-I{src}", "-c", str(src / name),
                        "-o", str(obj)], check=True, capture_output=True)
        objs.append(str(obj))
    rnd = tmp_path / "fde_random.o"
    subprocess.run([CXX, "-O2", "-std=c++17", "-ffp-contract=off", f"-I{ROOT / 'cpp' / 'include'}", "-c",
                    str(src / "fde_random.cpp"), "-o", str(rnd)], check=True, capture_output=True)
    exe = tmp_path / "neon_check"
    subprocess.run([CXX, "-O2", "-std=c++17", f"-I{ROOT / 'cpp' / 'include'}", str(Path(__file__).with_name("neon_check.cpp")),
                    *objs, str(rnd), "-lpthread", "-o", str(exe)], check=True, capture_output=True)
    run = subprocess.run([QEMU, "-L", str(SYSROOT), str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 failed" in run.stdout
