#include <cstdio>

#include "harness.h"

namespace harness {
std::vector<Test>& registry() {
  static std::vector<Test> tests;
  return tests;
}
int failures = 0;
}  // namespace harness

int main() {
  int failed_tests = 0;
  for (const auto& t : harness::registry()) {
    const int before = harness::failures;
    try {
      t.fn();
    } catch (const std::exception& e) {
      ++harness::failures;
      std::fprintf(stderr, "%s: unexpected exception: %s\n", t.name, e.what());
    }
    const bool ok = harness::failures == before;
    failed_tests += !ok;
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", t.name);
  }
  const int n = static_cast<int>(harness::registry().size());
  std::printf("%d passed, %d failed\n", n - failed_tests, failed_tests);
  return failed_tests == 0 ? 0 : 1;
}
