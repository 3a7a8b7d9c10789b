// A tiny assertion helper for the ctest executables: no third-party test framework.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace silri_test {
inline int& failures() {
  static int n = 0;
  return n;
}
}  // namespace silri_test

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++silri_test::failures();                                                     \
    }                                                                               \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
  do {                                                                                     \
    const double va_ = (a), vb_ = (b);                                                     \
    if (!(std::abs(va_ - vb_) <= (tol))) {                                                 \
      std::fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s=%.9g vs %s=%.9g (tol %g)\n",     \
                   __FILE__, __LINE__, #a, va_, #b, vb_, static_cast<double>(tol));        \
      ++silri_test::failures();                                                            \
    }                                                                                      \
  } while (0)

#define CHECK_THROWS(expr, Type)                                                        \
  do {                                                                                  \
    bool thrown_ = false;                                                               \
    try {                                                                               \
      expr;                                                                             \
    } catch (const Type&) {                                                             \
      thrown_ = true;                                                                   \
    }                                                                                   \
    if (!thrown_) {                                                                     \
      std::fprintf(stderr, "%s:%d: expected %s from %s\n", __FILE__, __LINE__, #Type, #expr); \
      ++silri_test::failures();                                                         \
    }                                                                                   \
  } while (0)

#define TEST_MAIN_END()                                                  \
  do {                                                                   \
    if (silri_test::failures()) {                                        \
      std::fprintf(stderr, "%d check(s) failed\n", silri_test::failures()); \
      return 1;                                                          \
    }                                                                    \
    std::printf("ok\n");                                                 \
    return 0;                                                            \
  } while (0)
