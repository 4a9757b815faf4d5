// Cross-built for AArch64 and run under qemu by test_fde_neon.py: the NEON FDE kernel must
// match the scalar reference bit for bit on awkward sizes (this machine class is x86).
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>
#include <cmath>
#include "muvera_nano/fde.h"
#include "muvera_nano/cpu.h"
using namespace muvera_nano;
int main() {
  std::mt19937 g(7); std::normal_distribution<float> nd;
  int fails = 0, runs = 0;
  for (int dim : {1, 7, 16, 33, 128}) for (int k : {0, 1, 5, 8}) for (int proj : {0, 1, 3, 16}) for (int kind = 0; kind < 2; ++kind) {
    const int R = 3; std::vector<int> lens = {0, 1, 2, 31, 300, 0, 2};
    std::vector<int64_t> offs(lens.size() + 1, 0);
    for (size_t i = 0; i < lens.size(); ++i) offs[i + 1] = offs[i] + lens[i];
    std::vector<float> tok(offs.back() * dim); for (auto& v : tok) v = nd(g);
    std::vector<float> sh(dim * R * k + 1); std::vector<int32_t> ac(R * dim); std::vector<float> as(R * dim);
    fde_google_random_state(dim, R, k, proj, 0, 5, sh.data(), ac.data(), as.data(), nullptr, nullptr);
    FdeRandomState st; st.dim = dim; st.repetitions = R; st.simhash_bits = k; st.projection_dim = proj; st.simhash = sh.data(); st.ams_column = ac.data(); st.ams_sign = as.data();
    auto plan = fde_make_plan(st); int64_t D = fde_output_dim(*plan);
    RaggedView rv; rv.tokens = (const unsigned char*)tok.data(); rv.n_tokens = offs.back(); rv.dim = dim; rv.row_stride = dim * 4; rv.offsets = (const unsigned char*)offs.data(); rv.count = lens.size();
    std::vector<float> a(lens.size() * D), b(lens.size() * D);
    set_active_isa(Isa::scalar); fde_encode(*plan, rv, kind ? FdeKind::document : FdeKind::query, kind == 1, a.data(), D, 2);
    set_active_isa(Isa::neon); fde_encode(*plan, rv, kind ? FdeKind::document : FdeKind::query, kind == 1, b.data(), D, 2);
    ++runs; if (std::memcmp(a.data(), b.data(), a.size() * 4)) { ++fails; printf("MISMATCH dim %d k %d proj %d kind %d\n", dim, k, proj, kind); }
  }
  printf("%d passed, %d failed\n", runs - fails, fails);
  return fails != 0;
}
