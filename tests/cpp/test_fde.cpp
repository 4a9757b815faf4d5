// MUVERA FDE on every supported ISA against the scalar reference, bit for bit (awkward sizes,
// strided rows, thread counts), the random-stream primitives, and rejection paths. Runs under
// the sanitizers and, for NEON, under qemu.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "fde_random.h"
#include "harness.h"
#include "muvera_nano/cpu.h"
#include "muvera_nano/fde.h"

using namespace muvera_nano;

namespace {

struct Setup {
  std::vector<float> simhash, ams_sign, final_sign;
  std::vector<int32_t> ams_column, final_index;
  std::shared_ptr<const FdePlan> plan;
};

Setup make(int64_t dim, int64_t reps, int64_t bits, int64_t proj, int64_t final_dim, uint32_t seed) {
  Setup s;
  const int64_t p = proj ? proj : dim;
  const int64_t fde = reps * (int64_t{1} << bits) * p;
  s.simhash.resize(static_cast<size_t>(dim * reps * bits + 1));
  s.ams_column.resize(static_cast<size_t>(reps * dim));
  s.ams_sign.resize(static_cast<size_t>(reps * dim));
  s.final_index.resize(static_cast<size_t>(final_dim ? fde : 1));
  s.final_sign.resize(static_cast<size_t>(final_dim ? fde : 1));
  fde_google_random_state(dim, reps, bits, proj, final_dim, seed, s.simhash.data(), s.ams_column.data(),
                          s.ams_sign.data(), s.final_index.data(), s.final_sign.data());
  FdeRandomState st;
  st.dim = dim;
  st.repetitions = reps;
  st.simhash_bits = bits;
  st.projection_dim = proj;
  st.simhash = s.simhash.data();
  st.ams_column = s.ams_column.data();
  st.ams_sign = s.ams_sign.data();
  st.final_dim = final_dim;
  st.final_index = s.final_index.data();
  st.final_sign = s.final_sign.data();
  s.plan = fde_make_plan(st);
  return s;
}

RaggedView view(const std::vector<float>& tok, const std::vector<int64_t>& offs, int64_t dim, int64_t stride) {
  RaggedView rv;
  rv.tokens.data = reinterpret_cast<const unsigned char*>(tok.data());
  rv.tokens.rows = offs.back();
  rv.tokens.cols = dim;
  rv.tokens.row_stride = stride * 4;
  rv.offsets = reinterpret_cast<const unsigned char*>(offs.data());
  rv.count = static_cast<int64_t>(offs.size()) - 1;
  return rv;
}

struct IsaGuard {
  Isa saved = active_isa();
  ~IsaGuard() { set_active_isa(saved); }
};

}  // namespace

TEST(fde_every_isa_matches_scalar) {
  IsaGuard guard;
  std::mt19937 g(7);
  std::normal_distribution<float> nd;
  const std::vector<int64_t> lens = {0, 1, 2, 31, 300, 0, 2};
  for (int64_t dim : {1, 7, 16, 33, 128})
    for (int64_t bits : {0, 1, 5, 8})
      for (int64_t proj : {0, 1, 3, 16})
        for (int kind = 0; kind < 2; ++kind) {
          const int64_t stride = dim + (dim % 3);  // some rows padded: any row stride works
          std::vector<int64_t> offs(lens.size() + 1, 0);
          for (size_t i = 0; i < lens.size(); ++i) offs[i + 1] = offs[i] + lens[i];
          std::vector<float> tok(static_cast<size_t>(offs.back() * stride));
          for (auto& v : tok) v = nd(g);
          Setup s = make(dim, 3, bits, proj, kind ? 0 : 37, 5);
          const int64_t D = fde_output_dim(*s.plan);
          const RaggedView rv = view(tok, offs, dim, stride);
          const FdeKind k = kind ? FdeKind::document : FdeKind::query;
          std::vector<float> want(lens.size() * D), got(lens.size() * D);
          set_active_isa(Isa::scalar);
          fde_encode(*s.plan, rv, k, kind == 1, want.data(), D, 1);
          for (Isa isa : supported_isas()) {
            set_active_isa(isa);
            for (int threads : {1, 3}) {
              std::fill(got.begin(), got.end(), -1.0f);
              fde_encode(*s.plan, rv, k, kind == 1, got.data(), D, threads);
              CHECK_MSG(std::memcmp(got.data(), want.data(), want.size() * 4) == 0,
                        "%s dim %lld bits %lld proj %lld kind %d threads %d", isa_name(isa),
                        static_cast<long long>(dim), static_cast<long long>(bits), static_cast<long long>(proj), kind,
                        threads);
            }
          }
        }
}

TEST(fde_random_known_values) {
  fde_random::Mt19937 a(42);
  CHECK(a.next() == 1608637542u && a.next() == 3421126067u && a.next() == 4083286876u);
  fde_random::Mt19937 b(5489);
  uint32_t v = 0;
  for (int i = 0; i < 10000; ++i) v = b.next();
  CHECK(v == 4123659995u);  // the C++ standard's check value
  CHECK(fde_random::log_float(1.0f) == 0.0f);
  CHECK(fde_random::log_float(0.5f) == static_cast<float>(std::log(0.5)));
  fde_random::Mt19937 c(3);
  for (int i = 0; i < 1000; ++i) CHECK(fde_random::uniform_below(c, 7) < 7u);
}

TEST(fde_rejections) {
  Setup s = make(4, 2, 2, 3, 0, 1);
  std::vector<float> tok = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<int64_t> offs = {0, 2};
  std::vector<float> out(static_cast<size_t>(fde_output_dim(*s.plan)));
  CHECK_THROWS(fde_encode(*s.plan, view(tok, offs, 4, 4), FdeKind::query, true, out.data(), 0, 1));
  CHECK_THROWS(fde_encode(*s.plan, view(tok, offs, 3, 4), FdeKind::query, false, out.data(), 0, 1));
  tok[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS(fde_encode(*s.plan, view(tok, offs, 4, 4), FdeKind::document, false, out.data(), 0, 1));
  tok[5] = std::numeric_limits<float>::infinity();
  CHECK_THROWS(fde_encode(*s.plan, view(tok, offs, 4, 4), FdeKind::document, false, out.data(), 0, 1));
  tok[5] = 1.0f;
  for (std::vector<int64_t> bad :
       {std::vector<int64_t>{0, 3}, std::vector<int64_t>{1, 2}, std::vector<int64_t>{0, 2, 1, 2}}) {
    RaggedView rv = view(tok, bad, 4, 4);
    rv.tokens.rows = 2;  // the store holds 2 rows whatever the offsets claim
    CHECK_THROWS(fde_encode(*s.plan, rv, FdeKind::document, false, out.data(), 0, 1));
  }
  FdeRandomState st;
  st.dim = 4;
  st.repetitions = 1;
  st.simhash_bits = 31;
  CHECK_THROWS(fde_make_plan(st));
  st.simhash_bits = 0;
  st.projection_dim = 2;  // AMS without its arrays
  CHECK_THROWS(fde_make_plan(st));
}
