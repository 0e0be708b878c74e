// `gqaforge compile`: NVRTC-compiles a kernel for a target (no GPU needed) and prints its
// resources and compile time; -o writes the cubin.
#include <cstdio>

#include "core/fs.h"
#include "core/progress.h"
#include "core/strings.h"
#include "runtime/attention_op.h"
#include "runtime/compile_cache.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/problem_flags.h"

namespace gqaforge::cli {
namespace {

int run_compile(const Args& args) {
  ArgParser p("gqaforge compile",
              "Compiles the kernel for a problem and config with NVRTC (no GPU needed) and prints\n"
              "registers, shared memory, spills and compile time.");
  add_problem_flags(p);
  p.add_flag("family", "NAME", "decode, prefill or reference", "the problem's phase");
  p.add_flag("arch", "sm_XY", "target, e.g. sm_90a, sm_80", "sm_90a");
  p.add_flag("max-registers", "N", "per-thread register cap (0 = none)", "0");
  p.add_flag("o", "FILE", "write the cubin to FILE");
  p.add_switch("no-cache", "compile even when the cache has the entry");
  if (int rc = p.parse(args); rc >= 0) return rc;
  auto problem = problem_from_flags(p);
  if (!problem.ok()) return report_failure(problem.status());
  rt::CompileOptions options;
  auto arch = normalize_arch(p.get("arch", "sm_90a"));
  if (!arch.ok()) return report_failure(arch.status());
  options.arch = *arch;
  auto regs = parse_int(p.get("max-registers", "0"));
  if (!regs.ok()) return usage_error("--max-registers: " + regs.status().message());
  options.max_registers = static_cast<int>(*regs);
  if (Status s = options.validate(); !s.ok()) return report_failure(s);
  auto limits = DeviceLimits::for_arch(options.arch);
  if (!limits.ok()) return report_failure(limits.status());
  auto op = rt::AttentionOp::create(*problem, p.get("family", ""), p.get("config", ""), *limits);
  if (!op.ok()) return report_failure(op.status());
  KernelSource source = op->source();
  rt::CompileCache cache;
  Result<rt::CompiledKernel> compiled =
      p.get_switch("no-cache") ? rt::compile_nvrtc(source, options) : cache.get_or_compile(source, options);
  if (!compiled.ok()) return report_failure(compiled.status());
  std::printf("kernel   %s\n", source.name.c_str());
  std::printf("arch     %s   nvrtc %s   key %s\n", options.arch.c_str(), rt::nvrtc_version_string().c_str(),
              compiled->key.substr(0, 16).c_str());
  std::printf("compile  %s%s   cubin %zu bytes\n", compiled->cache_hit ? "cache hit" : format_duration(compiled->compile_ms / 1e3).c_str(),
              "", compiled->cubin.size());
  for (const std::string& entry : source.entry_points) {
    if (compiled->resources.count(entry) == 0) std::printf("  %-26s (ptxas reported no resources)\n", entry.c_str());
  }
  for (const auto& [name, r] : compiled->resources) {
    std::printf("  %-26s regs %3d  smem(static) %6d B  stack %4d B  spills st/ld %d/%d B\n", name.c_str(),
                r.registers, r.shared_static_bytes, r.stack_frame_bytes, r.spill_store_bytes, r.spill_load_bytes);
  }
  if (auto out = p.get_optional("o")) {
    if (Status s = write_file_atomic(*out, compiled->cubin); !s.ok()) return report_failure(s);
    std::printf("wrote    %s\n", out->c_str());
  }
  return 0;
}

}  // namespace
GQF_REGISTER_COMMAND("compile", "compile a kernel with NVRTC (no GPU needed)", 21, run_compile);
}  // namespace gqaforge::cli
