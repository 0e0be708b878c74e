// `gqaforge check`: runs a kernel on the GPU against the reference and prints the max error.
#include <cstdio>
#include <optional>

#include "core/strings.h"
#include "runtime/checker.h"
#include "tools/cpu_commands.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/gpu_session.h"
#include "tools/problem_flags.h"
#include "tools/validators.h"

namespace gqaforge::tools {
namespace {

struct CheckFlags {
  ProblemFlags problem;
  KernelFlags kernel;
  uint64_t seed = 1;
  std::optional<std::string> kv_lens;
  int device = 0;
  std::string backend = "cuda";
};

int run_check(const CheckFlags& f) {
  auto problem = problem_from_flags(f.problem, f.kernel.causal);
  if (!problem.ok()) return report_failure(problem.status());
  runtime::CheckOptions options;
  options.seed = f.seed;
  if (f.kv_lens) {
    auto v = parse_count_list(*f.kv_lens);
    if (!v.ok()) return report_failure(v.status());
    if (static_cast<int64_t>(v->size()) != problem->batch) {
      return usage_error(fmt::format("--kv-lens has {} values but --batch is {}", v->size(), problem->batch));
    }
    for (int64_t x : *v) {
      if (x > problem->kv_len)
        return usage_error(fmt::format("--kv-lens value {} exceeds --kv-len {}", x, problem->kv_len));
      options.kv_lens.push_back(static_cast<int>(x));
    }
  }
  if (f.backend == "cpu") return run_check_cpu(*problem, f.kernel.family, f.kernel.config, f.seed, options.kv_lens);
  auto gpu = open_gpu_session(f.device);
  if (!gpu.ok()) return report_failure(gpu.status());
  const runtime::DeviceInfo& info = (*gpu)->info;
  auto op = runtime::AttentionOp::create(*problem, f.kernel.family, f.kernel.config, info.limits());
  if (!op.ok()) return report_failure(op.status());
  auto result = runtime::check_op((*gpu)->jit, *op, options, (*gpu)->stream.get());
  if (!result.ok()) return report_failure(result.status());
  std::printf("%s  %s  [%s] seed=%llu oracle=%s\n%s\n", info.name.c_str(), problem->name().c_str(),
              op->config().c_str(), static_cast<unsigned long long>(options.seed),
              result->gpu_oracle ? "gpu-reference" : "cpu-fp64", result->report.summary().c_str());
  return result->report.passed ? 0 : kWrongResult;  // exit status 3: the kernel is wrong
}

CommandAction declare_check(CLI::App& app) {
  app.description(
      "Runs the kernel for a problem on the GPU (or, with --backend cpu, the generated CPU kernel) with fresh "
      "random inputs and compares it with the fp64 CPU oracle (or the GPU reference kernel for large shapes).");
  auto f = std::make_shared<CheckFlags>();
  add_problem_flags(app, f->problem, ProblemForm::kOne);
  add_kernel_flags(app, f->kernel);
  app.add_option("--seed", f->seed, "random seed (printed, so a failure can be replayed)")
      ->type_name("N")
      ->default_str("1")
      ->transform(integer_in(0));
  app.add_option("--kv-lens", f->kv_lens, "per-sequence key counts (decode), one per sequence")
      ->type_name("N,N,...")
      ->check(checked_by([](const std::string& s) { return parse_count_list(s).status(); }));
  add_device_flag(app, f->device);
  add_backend_flag(app, f->backend);
  return [f](const Args&) { return run_check(*f); };
}

}  // namespace
GQF_REGISTER_COMMAND("check", "run a kernel (GPU or CPU) against the reference", 30, declare_check);
}  // namespace gqaforge::tools
