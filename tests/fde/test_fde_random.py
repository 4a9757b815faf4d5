"""The portable port of libstdc++'s random streams that Google's FDE draws from: each
primitive against an independent emulation written from spec/fde.md (numpy's legacy MT19937
seeding is the standard init_genrand), and the whole random state against real libstdc++
<random> compiled here (when a C++ compiler is available)."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
from fde_helpers import bits

import muvera_nano as mn
from muvera_nano import _core
from muvera_nano._testing import fde_log_float, fde_random_stream


def mt_raw(seed: int, count: int) -> np.ndarray:
    bg = np.random.MT19937()
    bg._legacy_seeding(seed)  # std::mt19937(seed)
    return bg.random_raw(count).astype(np.uint32)


class Stream:
    """An independent emulation of the libstdc++ draws over a numpy MT19937 stream."""

    def __init__(self, seed: int):
        self.raw = iter(mt_raw(seed, 1 << 16).tolist())
        self.saved = None

    def u32(self) -> int:
        return next(self.raw)

    def canonical_float(self) -> np.float32:
        u = np.float32(np.float32(self.u32()) / np.float32(2.0**32))
        return u if u < 1 else np.nextafter(np.float32(1), np.float32(0))

    def normal(self) -> np.float32:
        if self.saved is not None:
            v, self.saved = self.saved, None
            return v
        while True:
            x = np.float32(float(np.float32(2.0) * self.canonical_float()) - 1.0)
            y = np.float32(float(np.float32(2.0) * self.canonical_float()) - 1.0)
            r2 = np.float32(x * x + y * y)
            if not (r2 > 1.0 or r2 == 0.0):
                break
        log_r2 = np.float32(math.log(float(r2)))  # correctly rounded
        mult = np.sqrt(np.float32(np.float32(-2.0) * log_r2) / r2)
        self.saved = np.float32(x * mult)
        return np.float32(y * mult)

    def uniform(self, n: int) -> int:
        product = self.u32() * n
        low = product & 0xFFFFFFFF
        if low < n:
            threshold = (2**32 - n) % n
            while low < threshold:
                product = self.u32() * n
                low = product & 0xFFFFFFFF
        return product >> 32

    def bernoulli(self) -> bool:
        total = float(self.u32()) + float(self.u32()) * 2.0**32
        return total / 2.0**64 < 0.5


def test_mt19937_known_values():
    np.testing.assert_array_equal(fde_random_stream("mt19937", 42, 3), [1608637542, 3421126067, 4083286876])
    # The C++ standard's check: the 10000th output of a default-constructed (seed 5489) mt19937.
    assert int(fde_random_stream("mt19937", 5489, 10000)[-1]) == 4123659995
    for seed in (0, 1, 7, 2**32 - 1):
        np.testing.assert_array_equal(fde_random_stream("mt19937", seed, 2000), mt_raw(seed, 2000))


@pytest.mark.parametrize("seed", [1, 42, 2**31 + 5])
def test_normal_float(seed):
    ref = Stream(seed)
    want = np.array([ref.normal() for _ in range(3000)], np.float32)
    np.testing.assert_array_equal(bits(fde_random_stream("normal", seed, 3000)), bits(want))


@pytest.mark.parametrize("n", [1, 2, 3, 16, 1000, 2**31 - 1, 2**32 - 1, 3 * 2**30])
def test_uniform_int(n):
    ref = Stream(11)
    want = [ref.uniform(n) for _ in range(2000)]
    got = fde_random_stream("uniform", 11, 2000, n)
    np.testing.assert_array_equal(got, want)
    assert got.max() < n


def test_bernoulli_and_canonical():
    ref = Stream(3)
    np.testing.assert_array_equal(fde_random_stream("bernoulli", 3, 5000), [ref.bernoulli() for _ in range(5000)])
    ref = Stream(5)
    want = np.array([ref.canonical_float() for _ in range(5000)], np.float32)
    np.testing.assert_array_equal(bits(fde_random_stream("canonical_float", 5, 5000)), bits(want))
    raw = mt_raw(9, 4000).astype(np.float64)
    np.testing.assert_array_equal(
        fde_random_stream("canonical_double", 9, 2000), (raw[0::2] + raw[1::2] * 2.0**32) / 2.0**64
    )


def test_log_float_is_correctly_rounded():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.random(200_000, dtype=np.float32),
            np.float32(2.0) ** -rng.integers(1, 149, 2000).astype(np.float32),
            np.array([1.0, np.nextafter(np.float32(1), np.float32(0)), 0.5, 2.0**-48, 2.0**-149, 3.0e38], np.float32),
        ]
    )
    x = x[x > 0]
    want = np.array([math.log(float(v)) for v in x]).astype(np.float32)
    np.testing.assert_array_equal(bits(fde_log_float(x)), bits(want))


# Real libstdc++ <random>, drawing Google's state exactly as fixed_dimensional_encoding.cc does
# (Eigen fills the column-major SimHash matrix column by column). logf is replaced by a
# correctly rounded one, as in the port (glibc's is one ulp off on some inputs; fde_random.h).
_CXX = r"""
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <random>
extern "C" float logf(float x) { return static_cast<float>(logl(static_cast<long double>(x))); }
int main(int argc, char** argv) {
  const int d = 13, R = 3, k = 4, p = 5, F = 37;
  unsigned seed = static_cast<unsigned>(strtoul(argv[1], nullptr, 10));
  for (int r = 0; r < R; ++r) {
    std::mt19937 gen(seed + r);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (int j = 0; j < k; ++j) for (int i = 0; i < d; ++i) printf("S %d %d %d %a\n", r, i, j, dist(gen));
    std::mt19937 gen2(seed + r);
    std::uniform_int_distribution<size_t> index_dist(0, p - 1);
    std::bernoulli_distribution sign_dist(0.5);
    for (int i = 0; i < d; ++i) { size_t c = index_dist(gen2); printf("A %d %d %zu %d\n", r, i, c, sign_dist(gen2) ? 1 : -1); }
  }
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int32_t> index_dist(0, F - 1);
  std::bernoulli_distribution sign_dist(0.5);
  for (int c = 0; c < R * (1 << k) * p; ++c) { int32_t x = index_dist(gen); printf("F %d %d %d\n", c, x, sign_dist(gen) ? 1 : -1); }
}
"""


@pytest.mark.skipif(sys.platform != "linux" or shutil.which("g++") is None, reason="needs g++ with libstdc++")
@pytest.mark.parametrize("seed", [1, 42, 2**32 - 2])
def test_google_state_matches_libstdcxx(tmp_path, seed):
    src = tmp_path / "state.cpp"
    src.write_text(_CXX)
    exe = tmp_path / "state"
    subprocess.run(["g++", "-std=c++17", "-O1", "-o", str(exe), str(src)], check=True, capture_output=True)
    lines = subprocess.run([str(exe), str(seed)], check=True, capture_output=True, text=True).stdout.split("\n")
    d, R, k, p, F = 13, 3, 4, 5, 37
    st = _core.fde_google_state(d, R, k, p, F, seed)
    n_s = n_a = n_f = 0
    for line in filter(None, lines):
        f = line.split()
        if f[0] == "S":
            r, i, j = int(f[1]), int(f[2]), int(f[3])
            assert bits(st["simhash"][i, r * k + j]) == bits(np.float32(float.fromhex(f[4])))
            n_s += 1
        elif f[0] == "A":
            r, i = int(f[1]), int(f[2])
            assert st["ams_column"][r, i] == int(f[3]) and st["ams_sign"][r, i] == int(f[4])
            n_a += 1
        else:
            c = int(f[1])
            assert st["final_index"][c] == int(f[2]) and st["final_sign"][c] == int(f[3])
            n_f += 1
    assert (n_s, n_a, n_f) == (R * k * d, R * d, R * (1 << k) * p)


def test_google_state_is_cached_and_read_only():
    cfg = mn.FDEConfig.google(16, 3, 2, 4)
    a, b = cfg.random_state(), mn.FDEConfig.google(16, 3, 2, 4).random_state()
    assert a["simhash"] is b["simhash"]
    with pytest.raises(ValueError):
        a["simhash"][0, 0] = 1.0
