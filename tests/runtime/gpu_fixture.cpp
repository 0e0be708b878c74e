// GPU environment for the gpu-labelled suites.
#include "gpu_fixture.h"

namespace gqaforge::rt::testing {

GpuEnv* gpu_env(std::string* reason) {
  static std::string failure;
  static std::unique_ptr<GpuEnv> env = []() -> std::unique_ptr<GpuEnv> {
    if (!gpu_available()) {
      auto d = driver();
      failure = d.ok() ? "no CUDA device present" : d.status().message();
      return nullptr;
    }
    auto e = std::make_unique<GpuEnv>();
    auto ctx = Context::create(0);
    auto info = query_device(0);
    auto stream = Stream::create();
    if (!ctx.ok() || !info.ok() || !stream.ok()) {
      failure = "cannot set up the device: " + (!ctx.ok() ? ctx.status() : !info.ok() ? info.status() : stream.status()).message();
      return nullptr;
    }
    e->context = std::move(*ctx);
    e->info = *info;
    e->stream = std::move(*stream);
    e->cache = std::make_unique<CompileCache>();
    CompileOptions options;
    options.arch = e->info.default_arch();
    e->jit = std::make_unique<Jit>(e->cache.get(), options);
    return e;
  }();
  if (!env) *reason = "GPU test skipped: " + failure;
  return env.get();
}

std::string test_name(size_t index, const std::string& text) {
  std::string out = std::to_string(index) + "_";
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

void expect_correct(GpuEnv* env, const AttentionProblem& problem, const std::string& family,
                    const std::string& config, const CheckOptions& options) {
  SCOPED_TRACE(fmt::format("{} family={} config=[{}] seed={} varlen={}", problem.name(), family, config,
                           options.seed, options.varlen));
  auto op = AttentionOp::create(problem, family, config, env->info.limits());
  ASSERT_TRUE(op.ok()) << op.status().to_string();
  auto result = check_op(*env->jit, *op, options, env->stream.get());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_TRUE(result->report.passed) << result->report.summary() << (result->gpu_oracle ? " (gpu oracle)" : "");
}

}  // namespace gqaforge::rt::testing
