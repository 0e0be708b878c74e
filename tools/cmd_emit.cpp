// `gqaforge emit`: prints the generated source of a kernel for a problem and config.
#include <cstdio>

#include "runtime/attention_op.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/problem_flags.h"

namespace gqaforge::cli {
namespace {

int run_emit(const Args& args) {
  ArgParser p("gqaforge emit", "Prints the generated CUDA source of the kernel for a problem and config.");
  add_problem_flags(p);
  p.add_flag("family", "NAME", "decode, prefill or reference", "the problem's phase");
  p.add_flag("arch", "sm_XY", "target whose limits validate the config", "sm_90a");
  p.add_switch("with-headers", "also print the embedded kernel template headers");
  if (int rc = p.parse(args); rc >= 0) return rc;
  auto problem = problem_from_flags(p);
  if (!problem.ok()) return report_failure(problem.status());
  auto limits = DeviceLimits::for_arch(p.get("arch", "sm_90a"));
  if (!limits.ok()) return report_failure(limits.status());
  auto op = rt::AttentionOp::create(*problem, p.get("family", ""), p.get("config", ""), *limits);
  if (!op.ok()) return report_failure(op.status());
  KernelSource s = op->source();
  std::fputs(s.code.c_str(), stdout);
  if (p.get_switch("with-headers")) {
    for (const EmbeddedHeader& h : embedded_headers()) std::printf("\n// ===== %s =====\n%s", h.name, h.text);
  }
  return 0;
}

}  // namespace
GQF_REGISTER_COMMAND("emit", "print the generated source of a kernel", 20, run_emit);
}  // namespace gqaforge::cli
