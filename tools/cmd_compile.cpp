// `gqaforge compile`: NVRTC-compiles a kernel for a target (no GPU needed) and prints, per
// entry point, how it is launched and what that costs an SM: threads, registers, spills,
// static and dynamic shared memory, and the CTAs per SM those allow (occupancy); -o writes
// the cubin, --json prints the same as a document.
#include <cstdio>
#include <optional>

#include "codegen/occupancy.h"
#include "core/fs.h"
#include "core/strings.h"
#include "core/table.h"
#include "core/units.h"
#include "runtime/attention_op.h"
#include "runtime/compile_cache.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/problem_flags.h"
#include "tools/validators.h"

namespace gqaforge::tools {
namespace {

std::string dims_text(const unsigned* d) {
  if (d[1] == 1 && d[2] == 1) return std::to_string(d[0]);
  return fmt::format("{}x{}x{}", d[0], d[1], d[2]);
}

Json dims_json(const unsigned* d) {
  Json a = Json::array();
  for (int i = 0; i < 3; ++i) a.push_back(static_cast<int64_t>(d[i]));
  return a;
}

struct CompileFlags {
  ProblemFlags problem;
  KernelFlags kernel;
  std::string arch = "sm_90a";
  int max_registers = 0;
  std::optional<std::string> output;
  bool no_cache = false;
  bool json = false;
};

int run_compile(const CompileFlags& f) {
  auto problem = problem_from_flags(f.problem, f.kernel.causal);
  if (!problem.ok()) return report_failure(problem.status());
  runtime::CompileOptions options;
  auto arch = codegen::normalize_arch(f.arch);
  if (!arch.ok()) return report_failure(arch.status());
  options.arch = *arch;
  options.max_registers = f.max_registers;
  if (Status s = options.validate(); !s.ok()) return report_failure(s);
  auto limits = codegen::DeviceLimits::for_arch(options.arch);
  if (!limits.ok()) return report_failure(limits.status());
  auto op = runtime::AttentionOp::create(*problem, f.kernel.family, f.kernel.config, *limits);
  if (!op.ok()) return report_failure(op.status());
  auto launches = op->launches();
  if (!launches.ok()) return report_failure(launches.status());
  codegen::KernelSource source = op->source();
  runtime::CompileCache cache;
  Result<runtime::CompiledKernel> compiled =
      f.no_cache ? runtime::compile_nvrtc(source, options) : cache.get_or_compile(source, options);
  if (!compiled.ok()) return report_failure(compiled.status());
  const std::optional<std::string>& out = f.output;
  if (out) {
    if (Status s = write_file_atomic(*out, compiled->cubin); !s.ok()) return report_failure(s);
  }

  if (f.json) {
    Json doc = json_document("compile");
    doc["kernel"] = source.name;
    doc["family"] = op->family();
    doc["problem"] = problem->name();
    doc["config"] = op->config();
    doc["arch"] = options.arch;
    doc["nvrtc"] = runtime::nvrtc_version_string();
    doc["key"] = compiled->key;
    doc["cache_hit"] = compiled->cache_hit;
    doc["compile_ms"] = compiled->cache_hit ? Json() : Json(compiled->compile_ms);
    doc["cubin_bytes"] = static_cast<int64_t>(compiled->cubin.size());
    doc["output"] = out ? Json(*out) : Json();
    Json entries = Json::array();
    for (const codegen::LaunchShape& l : *launches) {
      Json e = Json::object();
      e["name"] = l.entry;
      e["grid"] = dims_json(l.grid);
      e["block"] = dims_json(l.block);
      e["threads"] = l.threads();
      e["shared_dynamic_bytes"] = l.dynamic_shared_bytes;
      auto it = compiled->resources.find(l.entry);
      e["resources_reported"] = it != compiled->resources.end();
      if (it != compiled->resources.end()) {
        const runtime::KernelResources& r = it->second;
        const codegen::Occupancy occ = codegen::compute_occupancy(*limits, l.threads(), r.registers,
                                                                  r.shared_static_bytes + l.dynamic_shared_bytes);
        e["registers"] = r.registers;
        e["spill_store_bytes"] = r.spill_store_bytes;
        e["spill_load_bytes"] = r.spill_load_bytes;
        e["stack_bytes"] = r.stack_frame_bytes;
        e["shared_static_bytes"] = r.shared_static_bytes;
        e["ctas_per_sm"] = occ.ctas_per_sm;
        e["occupancy_limiter"] = occ.limiter;
      } else {
        for (const char* k : {"registers", "spill_store_bytes", "spill_load_bytes", "stack_bytes",
                              "shared_static_bytes", "ctas_per_sm", "occupancy_limiter"}) {
          e[k] = Json();
        }
      }
      entries.push_back(e);
    }
    doc["entry_points"] = entries;
    print_json(doc);
    return 0;
  }

  std::printf("kernel   %s\n", source.name.c_str());
  std::printf("arch     %s   nvrtc %s   key %s\n", options.arch.c_str(), runtime::nvrtc_version_string().c_str(),
              compiled->key.substr(0, 16).c_str());
  std::printf("compile  %s   cubin %s\n\n",
              compiled->cache_hit ? "cache hit" : format_duration(compiled->compile_ms / 1e3).c_str(),
              format_bytes(static_cast<double>(compiled->cubin.size())).c_str());
  TextTable t;
  t.add_column("entry point", TextTable::kLeft);
  t.add_column("grid");
  t.add_column("threads");
  t.add_column("regs");
  t.add_column("spills st/ld");
  t.add_column("stack");
  t.add_column("smem static");
  t.add_column("smem dynamic");
  t.add_column("CTAs/SM");
  t.add_column("limited by", TextTable::kLeft);
  for (const codegen::LaunchShape& l : *launches) {
    auto it = compiled->resources.find(l.entry);
    if (it == compiled->resources.end()) {
      t.add_row({l.entry, dims_text(l.grid), std::to_string(l.threads()), "?", "?", "?", "?",
                 format_bytes(l.dynamic_shared_bytes), "?", "(ptxas reported no resources)"});
      continue;
    }
    const runtime::KernelResources& r = it->second;
    const codegen::Occupancy occ =
        codegen::compute_occupancy(*limits, l.threads(), r.registers, r.shared_static_bytes + l.dynamic_shared_bytes);
    t.add_row({l.entry, dims_text(l.grid), std::to_string(l.threads()), std::to_string(r.registers),
               fmt::format("{}/{} B", r.spill_store_bytes, r.spill_load_bytes), format_bytes(r.stack_frame_bytes),
               format_bytes(r.shared_static_bytes), format_bytes(l.dynamic_shared_bytes),
               std::to_string(occ.ctas_per_sm), occ.limiter});
  }
  std::fputs(t.render().c_str(), stdout);
  std::printf("(CTAs/SM: resident CTAs one %s SM holds with these registers, threads and shared memory)\n",
              options.arch.c_str());
  if (out) std::printf("wrote    %s\n", out->c_str());
  return 0;
}

CommandAction declare_compile(CLI::App& app) {
  app.description(
      "Compiles the kernel for a problem and config with NVRTC (no GPU needed) and prints, per entry "
      "point, its launch (grid, threads, dynamic shared memory), registers, spills, static shared memory "
      "and the CTAs per SM these allow on the target, and the compile time.");
  auto f = std::make_shared<CompileFlags>();
  add_problem_flags(app, f->problem, ProblemForm::kOne);
  add_kernel_flags(app, f->kernel);
  app.add_option("--arch", f->arch, "target, e.g. sm_90a, sm_80 (one this NVRTC supports)")
      ->type_name("sm_XY")
      ->default_str("sm_90a");
  app.add_option("--max-registers", f->max_registers, "per-thread register cap (0 = none)")
      ->type_name("N")
      ->default_str("0")
      ->transform(integer_in(0, std::numeric_limits<int>::max()));
  app.add_option(kOutputFlag, f->output, "write the cubin to FILE")->type_name("FILE");
  add_switch(app, "--no-cache", f->no_cache, "compile even when the cache has the entry");
  add_switch(app, "--json", f->json, "print the result as JSON (docs/json-output.md)");
  return [f](const Args&) { return run_compile(*f); };
}

}  // namespace
GQF_REGISTER_COMMAND("compile", "compile a kernel with NVRTC (no GPU needed)", 21, declare_compile);
}  // namespace gqaforge::tools
