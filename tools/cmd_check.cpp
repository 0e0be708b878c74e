// `gqaforge check`: runs a kernel on the GPU against the reference and prints the max error.
#include <cstdio>

#include "core/strings.h"
#include "runtime/checker.h"
#include "runtime/device_info.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/problem_flags.h"

namespace gqaforge::cli {
namespace {

int run_check(const Args& args) {
  ArgParser p("gqaforge check",
              "Runs the kernel for a problem on the GPU with fresh random inputs and compares it with\n"
              "the fp64 CPU oracle (or the GPU reference kernel for large shapes).");
  add_problem_flags(p);
  p.add_flag("family", "NAME", "decode, prefill or reference", "the problem's phase");
  p.add_flag("seed", "N", "random seed (printed, so a failure can be replayed)", "1");
  p.add_flag("kv-lens", "N,N,...", "per-sequence key counts (decode), one per sequence");
  p.add_flag("device", "N", "CUDA device ordinal", "0");
  if (int rc = p.parse(args); rc >= 0) return rc;
  auto problem = problem_from_flags(p);
  if (!problem.ok()) return report_failure(problem.status());
  auto seed = parse_int(p.get("seed", "1"));
  if (!seed.ok()) return usage_error("--seed: " + seed.status().message());
  auto ordinal = parse_int(p.get("device", "0"));
  if (!ordinal.ok()) return usage_error("--device: " + ordinal.status().message());
  rt::CheckOptions options;
  options.seed = static_cast<uint64_t>(*seed);
  if (auto lens = p.get_optional("kv-lens")) {
    auto v = parse_count_list(*lens);
    if (!v.ok()) return usage_error("--kv-lens: " + v.status().message());
    if (static_cast<int64_t>(v->size()) != problem->batch) {
      return usage_error(fmt::format("--kv-lens has {} values but --batch is {}", v->size(), problem->batch));
    }
    for (int64_t x : *v) {
      if (x > problem->kv_len) return usage_error(fmt::format("--kv-lens value {} exceeds --kv-len {}", x, problem->kv_len));
      options.kv_lens.push_back(static_cast<int>(x));
    }
  }
  auto ctx = rt::Context::create(static_cast<int>(*ordinal));
  if (!ctx.ok()) return report_failure(ctx.status());
  auto info = rt::query_device(static_cast<int>(*ordinal));
  if (!info.ok()) return report_failure(info.status());
  auto op = rt::AttentionOp::create(*problem, p.get("family", ""), p.get("config", ""), info->limits());
  if (!op.ok()) return report_failure(op.status());
  rt::CompileCache cache;
  rt::CompileOptions options_c;
  options_c.arch = info->default_arch();
  rt::Jit jit(&cache, options_c);
  auto stream = rt::Stream::create();
  if (!stream.ok()) return report_failure(stream.status());
  auto result = rt::check_op(jit, *op, options, stream->get());
  if (!result.ok()) return report_failure(result.status());
  std::printf("%s  %s  [%s] seed=%llu oracle=%s\n%s\n", info->name.c_str(), problem->name().c_str(),
              op->config().c_str(), static_cast<unsigned long long>(options.seed),
              result->gpu_oracle ? "gpu-reference" : "cpu-fp64", result->report.summary().c_str());
  return result->report.passed ? 0 : kWrongResult;  // exit status 3: the kernel is wrong
}

}  // namespace
GQF_REGISTER_COMMAND("check", "run a kernel on the GPU against the reference", 30, run_check);
}  // namespace gqaforge::cli
