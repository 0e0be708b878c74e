// `gqaforge emit`: prints the generated source of a kernel for a problem and config.
#include <cstdio>

#include "runtime/attention_op.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/cpu_commands.h"
#include "tools/problem_flags.h"

namespace gqaforge::tools {
namespace {

struct EmitFlags {
  ProblemFlags problem;
  KernelFlags kernel;
  std::string arch = "sm_90a";
  bool with_headers = false;
  std::string backend = "cuda";
  bool optimized = false;
};

int run_emit(const EmitFlags& f) {
  auto problem = problem_from_flags(f.problem, f.kernel.causal);
  if (!problem.ok()) return report_failure(problem.status());
  if (f.backend == "cpu") return run_emit_cpu(*problem, f.kernel.family, f.kernel.config, f.optimized);
  auto limits = codegen::DeviceLimits::for_arch(f.arch);
  if (!limits.ok()) return report_failure(limits.status());
  auto op = runtime::AttentionOp::create(*problem, f.kernel.family, f.kernel.config, *limits);
  if (!op.ok()) return report_failure(op.status());
  codegen::KernelSource s = op->source();
  std::fputs(s.code.c_str(), stdout);
  if (f.with_headers) {
    for (const codegen::EmbeddedHeader& h : codegen::embedded_headers())
      std::printf("\n// ===== %s =====\n%s", h.name, h.text);
  }
  return 0;
}

CommandAction declare_emit(CLI::App& app) {
  app.description(
      "Prints the generated CUDA source of the kernel for a problem and config (with --backend cpu, the CPU "
      "kernel's LLVM IR).");
  auto f = std::make_shared<EmitFlags>();
  add_problem_flags(app, f->problem, ProblemForm::kOne);
  add_kernel_flags(app, f->kernel);
  app.add_option("--arch", f->arch, "target whose limits validate the config")
      ->type_name("sm_XY")
      ->default_str("sm_90a");
  add_switch(app, "--with-headers", f->with_headers, "also print the embedded kernel template headers");
  add_backend_flag(app, f->backend);
  add_switch(app, "--optimized", f->optimized, "--backend cpu: the IR after the host's -O3 pipeline");
  return [f](const Args&) { return run_emit(*f); };
}

}  // namespace
GQF_REGISTER_COMMAND("emit", "print the generated source of a kernel", 20, declare_emit);
}  // namespace gqaforge::tools
