// A minimal test harness: TEST(name) registers a function; CHECK records failures.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace harness {

struct Test {
  const char* name;
  std::function<void()> fn;
};

std::vector<Test>& registry();
extern int failures;

struct Register {
  Register(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

}  // namespace harness

#define TEST(name)                                              \
  static void test_##name();                                    \
  static harness::Register register_##name(#name, test_##name); \
  static void test_##name()

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      ++harness::failures;                                                          \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                               \
  } while (0)

#define CHECK_MSG(cond, ...)                                                        \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      ++harness::failures;                                                          \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                            \
      std::fprintf(stderr, "\n");                                                   \
    }                                                                               \
  } while (0)

#define CHECK_THROWS(expr)                                      \
  do {                                                          \
    bool thrown_ = false;                                       \
    try {                                                       \
      expr;                                                     \
    } catch (...) {                                             \
      thrown_ = true;                                           \
    }                                                           \
    CHECK_MSG(thrown_, "expected an exception from %s", #expr); \
  } while (0)
