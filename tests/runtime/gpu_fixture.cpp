// GPU environment for the gpu-labelled suites.
#include "tests/runtime/gpu_fixture.h"

namespace gqaforge::runtime::testing {

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
      failure = "cannot set up the device: " + (!ctx.ok()    ? ctx.status()
                                                : !info.ok() ? info.status()
                                                             : stream.status())
                                                   .message();
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

namespace {

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(v[i]);
  }
  return s;
}

// Everything needed to replay a failed check: problem, lengths, requested and resolved config,
// the decode launch geometry, seed, layout, and a `gqaforge check` command where one exists.
std::string describe_case(GpuEnv* env, const codegen::AttentionProblem& problem, const AttentionOp& op,
                          const std::string& requested, const CheckOptions& options) {
  std::string s = fmt::format("problem: {}\nfamily: {}  requested config: [{}]  resolved: [{}]\nseed: {}",
                              problem.name(), op.family(), requested, op.config(), options.seed);
  if (!options.kv_lens.empty()) s += "  kv_lens: " + join_ints(options.kv_lens);
  if (!options.q_lens.empty()) s += "  q_lens: " + join_ints(options.q_lens);
  if (options.varlen) s += "  varlen";
  if (options.kv_head_major) s += "  K/V head-major";
  auto plan = op.kernel_family().launch_plan(problem, op.kernel_config(), env->info.limits());
  if (plan.ok()) {
    s += fmt::format("\nlaunch: num_splits={} split_len={} workspace={} B", plan->num_splits, plan->split_len,
                     plan->workspace.bytes);
    for (const codegen::LaunchShape& l : plan->launches) {
      s += fmt::format(" {} grid=({},{},{}) block={} smem={} B", l.entry, l.grid[0], l.grid[1], l.grid[2], l.block[0],
                       l.dynamic_shared_bytes);
    }
  }
  // `gqaforge check` runs the phase's family.
  if (!options.varlen && !options.kv_head_major && options.q_lens.empty() &&
      &op.kernel_family() == &family_for(problem)) {
    s += fmt::format(
        "\nreplay: gqaforge check --phase {} --heads {}:{} --head-dim {} --dtype {}{} --batch {} --q-len {} "
        "--kv-len {}{} --config '{}' --seed {}",
        codegen::phase_name(problem.phase), problem.n_q_heads, problem.n_kv_heads, problem.head_dim,
        codegen::dtype_name(problem.dtype),
        problem.causal && problem.phase == codegen::Phase::kPrefill ? " --causal" : "", problem.batch, problem.q_len,
        problem.kv_len, options.kv_lens.empty() ? "" : " --kv-lens " + join_ints(options.kv_lens), op.config(),
        options.seed);
  }
  return s;
}

}  // namespace

void expect_correct(GpuEnv* env, const codegen::AttentionProblem& problem, const std::string& family,
                    const std::string& config, const CheckOptions& options) {
  SCOPED_TRACE(fmt::format("{} family={} config=[{}] seed={} varlen={}", problem.name(), family, config, options.seed,
                           options.varlen));
  auto op = AttentionOp::create(problem, family, config, env->info.limits());
  ASSERT_TRUE(op.ok()) << op.status().to_string();
  auto result = check_op(*env->jit, *op, options, env->stream.get());
  ASSERT_TRUE(result.ok()) << result.status().to_string() << "\n" << describe_case(env, problem, *op, config, options);
  EXPECT_TRUE(result->report.passed) << result->report.summary() << (result->gpu_oracle ? " (gpu oracle)" : "") << "\n"
                                     << describe_case(env, problem, *op, config, options);
}

}  // namespace gqaforge::runtime::testing
