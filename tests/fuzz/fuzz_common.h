// tests/fuzz/fuzz_common.h -- what every fuzz target shares: a failed
// invariant prints what broke and aborts, so libFuzzer saves the input.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                  \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s (%s)\n", __FILE__, \
                   __LINE__, what, #cond);                                      \
      std::abort();                                                             \
    }                                                                           \
  } while (0)
