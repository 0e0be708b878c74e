// Shared by the CPU backend tests: the process's CpuKernels (module loaded once, object cache in
// the build tree), and the skip when the module was not built.
#pragma once

#include <gtest/gtest.h>

#include "backends/cpu/cpu_backend.h"

namespace gqaforge::cpu::testing {

/// The CpuKernels of the test process, or null (with the reason in *why) when there is none.
inline CpuKernels* kernels(std::string* why) {
  static std::string reason;
  static std::unique_ptr<CpuKernels> k = [] {
    auto opened = CpuKernels::open(std::string(GQAFORGE_BINARY_DIR) + "/cpu-test-cache");
    if (!opened.ok()) {
      reason = opened.status().message();
      return std::unique_ptr<CpuKernels>();
    }
    return std::move(*opened);
  }();
  *why = reason;
  return k.get();
}

}  // namespace gqaforge::cpu::testing

/// Skips without a module build; fails when the module was built but does not load.
#ifdef GQAFORGE_TEST_CPU_MODULE
#define GQF_REQUIRE_CPU_MODULE(var)               \
  std::string var##_why;                          \
  CpuKernels* var = testing::kernels(&var##_why); \
  ASSERT_NE(var, nullptr) << var##_why
#else
#define GQF_REQUIRE_CPU_MODULE(var) \
  CpuKernels* var = nullptr;        \
  (void)var;                        \
  GTEST_SKIP() << "the CPU backend module was not built (no LLVM 14 at configure time)"
#endif
