// Shared state of the GPU suites: one context, compile cache and Jit per process, and a skip
// with the reason when no device is present.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "runtime/checker.h"
#include "runtime/device_info.h"

namespace gqaforge::runtime::testing {

struct GpuEnv {
  Context context;
  DeviceInfo info;
  std::unique_ptr<CompileCache> cache;
  std::unique_ptr<Jit> jit;
  Stream stream;
};

/// The process-wide GPU environment, or null with `reason` set when there is no device.
GpuEnv* gpu_env(std::string* reason);

#define GQF_REQUIRE_GPU(env)                                                                            \
  std::string gqf_skip_reason_;                                                                         \
  ::gqaforge::runtime::testing::GpuEnv* env = ::gqaforge::runtime::testing::gpu_env(&gqf_skip_reason_); \
  if (env == nullptr) GTEST_SKIP() << gqf_skip_reason_

/// A gtest-safe parameter name: "<index>_<text with non-alphanumerics as _>".
std::string test_name(size_t index, const std::string& text);

/// Checks one op and reports seed, problem and config on failure.
void expect_correct(GpuEnv* env, const codegen::AttentionProblem& problem, const std::string& family,
                    const std::string& config, const CheckOptions& options);

}  // namespace gqaforge::runtime::testing
