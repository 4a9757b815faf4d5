"""CPU dispatch: MUVERA_NANO_ISA, and the fallbacks on CPUs without AVX2 / AVX-512, run for
real under qemu's x86-64 emulation (which also catches baseline code that would execute an
instruction the CPU lacks)."""

import os
import shutil
import subprocess
import sys

import pytest

import muvera_nano as mn

SNIPPET = """
import numpy as np, muvera_nano as mn
rng = np.random.default_rng(0)
d = mn.Ragged.from_list([rng.standard_normal((n, 33)).astype(np.float32) for n in (0, 1, 7, 30)])
q = rng.standard_normal((20, 33)).astype(np.float32)
print(mn.isa(), ",".join(mn.supported_isas()))
for dt in ("float32", "float16", "bfloat16", "int8"):
    print(dt, ",".join(f"{x:.4f}" for x in mn.maxsim(q, d.astype(dt)).tolist()))
print(mn.rerank(q, d, k=2)[0].tolist())
"""


def run(env_extra=None, prefix=()):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(
        [*prefix, sys.executable, "-c", SNIPPET], capture_output=True, text=True, env=env, timeout=300
    )


def test_environment_variable_selects_the_isa():
    for isa in mn.supported_isas():
        out = run({"MUVERA_NANO_ISA": isa})
        assert out.returncode == 0, out.stderr
        assert out.stdout.split()[0] == isa


def test_environment_variable_rejects_unknown_and_unsupported_isas():
    out = run({"MUVERA_NANO_ISA": "sse9"})
    assert out.returncode != 0
    assert (
        "ImportError: MUVERA_NANO_ISA: unknown instruction set 'sse9'; expected one of: scalar, avx2, avx512, neon"
        in out.stderr
    )
    missing = next((i for i in ("neon", "avx512", "avx2") if i not in mn.supported_isas()), None)
    out = run({"MUVERA_NANO_ISA": missing})
    assert out.returncode != 0
    assert f"MUVERA_NANO_ISA={missing}: this CPU does not support the '{missing}' instruction set" in out.stderr


def qemu():
    exe = shutil.which("qemu-x86_64-static")
    if exe is None:
        if os.environ.get("MUVERA_NANO_REQUIRE_QEMU"):
            pytest.fail("qemu-x86_64-static is required (apt-get install qemu-user-static)")
        pytest.skip("qemu-x86_64-static not installed (apt-get install qemu-user-static)")
    return exe


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86-64 emulation of an x86-64 build")
@pytest.mark.parametrize("cpu, isas", [("Nehalem", ["scalar"]), ("Haswell-v4", ["avx2", "scalar"])])
def test_older_cpus_fall_back_and_agree(cpu, isas):
    exe = qemu()
    native = run({"MUVERA_NANO_ISA": "scalar"})
    out = run(prefix=(exe, "-cpu", cpu))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == [isas[0], ",".join(isas)]
    # Results agree with this machine's scalar kernels to float32 rounding.
    for got, want in zip(lines[1:5], native.stdout.splitlines()[1:5]):
        g, w = got.split()[1].split(","), want.split()[1].split(",")
        for a, b in zip(g, w):
            assert a == b or abs(float(a) - float(b)) <= 1e-3 * max(1.0, abs(float(b))), (got, want)
    assert lines[5] == native.stdout.splitlines()[5]
    if "avx512" not in isas:
        forced = run({"MUVERA_NANO_ISA": "avx512"}, prefix=(exe, "-cpu", cpu))
        assert forced.returncode != 0 and "does not support the 'avx512' instruction set" in forced.stderr
