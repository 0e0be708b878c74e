// `gqaforge library build|info|verify|diff|select`: tuned kernel libraries (.gqalib). The work
// lives in library/; this file parses flags and prints (the tables in cmd_library_show.cpp).
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "codegen/family.h"
#include "core/strings.h"
#include "core/units.h"
#include "library/build.h"
#include "library/library.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/library_show.h"
#include "tools/problem_flags.h"
#include "tools/validators.h"

namespace gqaforge::tools {
namespace {

Status check_arch(const std::string& text) {
  return codegen::normalize_arch(text).status();
}
Status check_class(const std::string& text) {
  return library::parse_class_spec(text).status();
}
Status check_heads(const std::string& text) {
  int q = 0, kv = 0;
  return codegen::parse_heads(text, &q, &kv);
}

struct BuildFlags {
  std::string db;
  std::string output;
  std::optional<std::string> arch, env, phase, heads, head_dim, cover;
  bool allow_older_codegen = false, json = false;
};

Result<library::BuildOptions> build_options(const BuildFlags& f) {
  library::BuildOptions o;
  o.source = f.db;
  if (f.arch) {
    for (const std::string& a : split(*f.arch, ',')) o.archs.push_back(trim(a));
  }
  o.env_key = f.env.value_or("");
  if (f.phase) {
    for (const std::string& p : split(*f.phase, ',')) {
      GQF_ASSIGN_OR_RETURN(codegen::Phase phase, codegen::parse_phase(trim(p)));
      o.phases.push_back(phase);
    }
  }
  if (f.heads) {
    for (const std::string& h : split(*f.heads, ',')) {
      int q = 0, kv = 0;
      GQF_RETURN_IF_ERROR(codegen::parse_heads(trim(h), &q, &kv));
      o.heads.emplace_back(q, kv);
    }
  }
  if (f.head_dim) {
    GQF_ASSIGN_OR_RETURN(std::vector<int64_t> dims, parse_count_list(*f.head_dim));
    for (int64_t d : dims) o.head_dims.push_back(static_cast<int>(d));
  }
  if (f.cover) {
    for (const std::string& c : split(*f.cover, ',')) {
      GQF_ASSIGN_OR_RETURN(library::KernelClass cls, library::parse_class_spec(trim(c)));
      o.cover.push_back(cls);
    }
  }
  o.allow_older_codegen = f.allow_older_codegen;
  o.show_progress = !f.json;
  return o;
}

int run_build(const BuildFlags& f) {
  if (f.output.empty()) return usage_error("library build: --output is empty");
  auto options = build_options(f);
  if (!options.ok()) return report_failure(options.status());
  auto db = library::open_measurement_source(f.db);
  if (!db.ok()) return report_failure(db.status());
  library::BuildReport report;
  auto contents = library::build_library(**db, *options, &report);
  if (!contents.ok()) return report_failure(contents.status());
  if (Status s = library::write_library(f.output, *contents); !s.ok()) return report_failure(s);
  int64_t cubin_bytes = 0;
  for (const library::Cubin& b : contents->cubins) cubin_bytes += static_cast<int64_t>(b.image.size());
  int64_t tuned = 0;
  for (const library::ClassRow& r : contents->classes) tuned += r.source == library::ClassSource::kTuned ? 1 : 0;
  if (f.json) {
    Json doc = json_document("library build");
    doc["file"] = f.output;
    doc["source"] = f.db;
    doc["archs"] = contents->manifest.archs;
    doc["classes"] = contents->classes.size();
    doc["tuned_classes"] = tuned;
    doc["default_classes"] = static_cast<int64_t>(contents->classes.size()) - tuned;
    doc["entries"] = contents->entries.size();
    doc["variants"] = contents->variants.size();
    doc["cubins"] = contents->cubins.size();
    doc["cubin_bytes"] = cubin_bytes;
    doc["compiled"] = report.compiled;
    doc["cache_hits"] = report.cache_hits;
    doc["best_rows"] = report.best_rows;
    doc["used_rows"] = report.used_rows;
    doc["notes"] = report.notes;
    print_json(doc);
    return 0;
  }
  for (const std::string& n : report.notes) std::fprintf(stderr, "gqaforge: note: %s\n", n.c_str());
  std::printf(
      "built %s: %zu classes (%lld tuned, %lld heuristic default), %zu buckets, %zu variants, %zu cubins "
      "for %s (%s; %lld compiled, %lld from the compile cache)\n",
      f.output.c_str(), contents->classes.size(), static_cast<long long>(tuned),
      static_cast<long long>(static_cast<int64_t>(contents->classes.size()) - tuned), contents->entries.size(),
      contents->variants.size(), contents->cubins.size(),
      fmt::format("{}", fmt::join(contents->manifest.archs, ", ")).c_str(),
      format_bytes(static_cast<double>(cubin_bytes)).c_str(), static_cast<long long>(report.compiled),
      static_cast<long long>(report.cache_hits));
  return 0;
}

struct VerifyFlags {
  std::string file;
  std::optional<std::string> arch;
  bool json = false;
};

int run_verify(const VerifyFlags& f) {
  library::FileFacts facts;
  auto contents = library::read_library(f.file, &facts);
  if (!contents.ok()) return report_failure(contents.status());
  library::OpenOptions options;
  options.device_arch = f.arch.value_or("");
  const std::vector<library::Check> checks = library::verify_contents(*contents, f.file, options);
  const library::Check* failed = nullptr;
  for (const library::Check& k : checks) {
    if (!k.status.ok() && failed == nullptr) failed = &k;
  }
  if (f.json) {
    Json doc = json_document("library verify");
    doc["file"] = f.file;
    doc["file_bytes"] = facts.file_bytes;
    doc["ok"] = failed == nullptr;
    Json list = Json::array();
    for (const library::Check& k : checks) {
      Json j = Json::object();
      j["check"] = k.what;
      j["ok"] = k.status.ok();
      j["detail"] = k.detail;
      j["error"] = k.status.ok() ? Json() : Json(k.status.message());
      list.push_back(std::move(j));
    }
    doc["checks"] = std::move(list);
    print_json(doc);
  } else {
    std::printf("file: %s, %s, SQLite file intact (header, size, integrity check)\n", f.file.c_str(),
                format_bytes(static_cast<double>(facts.file_bytes)).c_str());
    // One line per check, except the passing cubins: one line for all of them (--json lists each).
    int64_t cubins = 0, cubins_ok = 0;
    for (const library::Check& k : checks) {
      const bool cubin = k.what.rfind("cubin ", 0) == 0;
      cubins += cubin ? 1 : 0;
      if (k.status.ok() && cubin) {
        ++cubins_ok;
      } else if (k.status.ok()) {
        std::printf("ok      %-18s %s\n", k.what.c_str(), k.detail.c_str());
      } else {
        std::printf("FAILED  %-18s %s\n", k.what.c_str(), k.status.message().c_str());
      }
    }
    if (cubins_ok > 0) {
      std::printf("ok      %-18s %lld of %lld match their sha256\n", "cubins", static_cast<long long>(cubins_ok),
                  static_cast<long long>(cubins));
    }
  }
  if (failed != nullptr) {
    if (!f.json) std::fprintf(stderr, "gqaforge: error: %s\n", failed->status.message().c_str());
    return exit_status_of(failed->status);
  }
  return 0;
}

struct SelectFlags {
  std::string file;
  ProblemFlags problem;
  bool causal = false, no_jit = false, json = false;
  std::optional<std::string> arch;
};

int run_select(const SelectFlags& f) {
  auto problem = problem_from_flags(f.problem, f.causal);
  if (!problem.ok()) return usage_error(fmt::format("library select: {}", problem.status().message()));
  library::OpenOptions options;
  options.allow_jit = !f.no_jit;
  options.device_arch = f.arch.value_or("");
  auto library = library::Library::open(f.file, options);
  if (!library.ok()) return report_failure(library.status());
  auto s = library->select(*problem);
  if (!s.ok()) return report_failure(s.status());
  if (f.json) {
    Json doc = json_document("library select");
    doc["file"] = f.file;
    doc["problem"] = problem->name();
    doc["class"] = s->class_name;
    doc["decision"] = library::decision_name(s->decision);
    doc["family"] = s->family->name();
    doc["config"] = s->config_text;
    doc["bucket"] = s->entry ? Json(bucket_label(*s->entry, problem->phase)) : Json();
    doc["distance"] = s->entry ? Json(s->distance) : Json();
    doc["measured_us"] = s->entry ? Json(s->measured_us) : Json();
    doc["arch"] = library->arch();
    doc["cubin_sha256"] = s->cubin ? Json(s->cubin->sha256) : Json();
    doc["compile"] = s->cubin ? "cubin" : "nvrtc";
    doc["reason"] = s->reason;
    print_json(doc);
    return 0;
  }
  std::printf("problem   %s\n", problem->name().c_str());
  std::printf("decision  %s: %s\n", library::decision_name(s->decision), s->reason.c_str());
  std::printf("kernel    %s [%s]\n", s->family->name(), s->config_text.c_str());
  if (s->entry != nullptr) {
    std::printf("measured  %s at %s\n", format_time_us(s->measured_us).c_str(),
                tuned_point(*s->entry, problem->phase).c_str());
  }
  if (s->cubin != nullptr) {
    std::printf("cubin     %s, %s, sha256 %s\n", library->arch().c_str(),
                format_bytes(static_cast<double>(s->cubin->image.size())).c_str(), s->cubin->sha256.c_str());
  } else {
    std::printf("cubin     none: compile through NVRTC for %s\n", library->arch().c_str());
  }
  return 0;
}

CommandAction declare_build(CLI::App& app) {
  app.description(
      "Builds a tuned kernel library from a measurement database (or its text export): the best "
      "measured config per shape bucket of every kernel class, compiled for the target archs with "
      "NVRTC (no GPU needed), plus the heuristic default of each --cover class nothing tuned. Written "
      "atomically: on any error no file is left.");
  auto f = std::make_shared<BuildFlags>();
  add_database_flag(app, f->db, "measurement database or its `db export` text (e.g. data/h200-tuned.tsv)");
  app.add_option(kOutputFlag, f->output, "library file to write (e.g. h200.gqalib)")->type_name("FILE")->required();
  app.add_option("--arch", f->arch, "targets to compile for, e.g. sm_90a")
      ->type_name("LIST")
      ->default_str("the measured GPU's")
      ->check(each_item(check_arch));
  app.add_option("--env", f->env, "use only this environment's rows (see `gqaforge db info`)")
      ->type_name("KEY")
      ->default_str("every environment of the GPU model with the most rows");
  app.add_option("--phase", f->phase, "only these phases: decode, prefill")
      ->type_name("LIST")
      ->check(each_item([](const std::string& t) { return codegen::parse_phase(t).status(); }));
  app.add_option("--heads", f->heads, "only these query:KV head pairs, e.g. 32:8,8:1")
      ->type_name("LIST")
      ->check(each_item(check_heads));
  app.add_option("--head-dim", f->head_dim, "only these head dims")->type_name("LIST")->check(positive_count_list());
  app.add_option("--cover", f->cover,
                 "classes to serve even untuned (heuristic default), e.g. decode/32:8/d128,prefill/8:1/d64/noncausal")
      ->type_name("LIST")
      ->check(each_item(check_class));
  add_switch(app, "--allow-older-codegen", f->allow_older_codegen,
             "keep rows timed with older kernel templates for classes that have no row of this build's");
  add_switch(app, "--json", f->json, "print the summary as JSON (docs/json-output.md)");
  return action(f, run_build);
}

CommandAction declare_info(CLI::App& app) {
  app.description(
      "Shows what a library holds: its manifest and its dispatch table (per class the tuned buckets "
      "with config, measured time and cubin, and the heuristic defaults).");
  auto f = std::make_shared<InfoFlags>();
  app.add_option("file", f->file, "library file")->required();
  add_switch(app, "--wide", f->wide, "every column, however wide");
  add_switch(app, "--json", f->json, "print the library as JSON (docs/json-output.md)");
  return action(f, run_info);
}

CommandAction declare_verify(CLI::App& app) {
  app.description(
      "Checks a library: the file (header, size, SQLite integrity), its format version, its kernel "
      "templates against this gqaforge, the target arch (--arch), the references between its tables "
      "and every cubin's sha256. Exits non-zero on the first failure (each is listed).");
  auto f = std::make_shared<VerifyFlags>();
  app.add_option("file", f->file, "library file")->required();
  app.add_option("--arch", f->arch, "the device's target, which the library must hold, e.g. sm_90a")
      ->type_name("ARCH")
      ->check(checked_by(check_arch));
  add_switch(app, "--json", f->json, "print the checks as JSON (docs/json-output.md)");
  return action(f, run_verify);
}

CommandAction declare_diff(CLI::App& app) {
  app.description(
      "Compares two libraries: build provenance, classes, and per bucket the configs and measured "
      "times.");
  auto f = std::make_shared<DiffFlags>();
  app.add_option("a", f->a, "first library")->required();
  app.add_option("b", f->b, "second library")->required();
  add_switch(app, "--wide", f->wide, "every column, however wide");
  add_switch(app, "--json", f->json, "print the differences as JSON (docs/json-output.md)");
  return action(f, run_diff);
}

CommandAction declare_select(CLI::App& app) {
  app.description(
      "Shows the kernel a library dispatches a problem to, and why: the exact tuned bucket, the "
      "nearest tuned bucket of its class, or the heuristic default compiled through NVRTC.");
  auto f = std::make_shared<SelectFlags>();
  app.add_option("file", f->file, "library file")->required();
  add_problem_flags(app, f->problem, ProblemForm::kOne);
  add_causal_flag(app, f->causal);
  add_switch(app, "--no-jit", f->no_jit, "forbid the run-time compile: a shape no tuned bucket serves is an error");
  app.add_option("--arch", f->arch, "the device's target, e.g. sm_90a")
      ->type_name("ARCH")
      ->default_str("the library's first")
      ->check(checked_by(check_arch));
  add_switch(app, "--json", f->json, "print the decision as JSON (docs/json-output.md)");
  return action(f, run_select);
}

constexpr Subcommand kSubcommands[] = {
    {"build", "build a library from a measurement database", declare_build},
    {"info", "show a library's manifest and dispatch table", declare_info},
    {"verify", "check every checksum and version of a library", declare_verify},
    {"diff", "compare two libraries", declare_diff},
    {"select", "show the kernel a problem is dispatched to", declare_select},
};

CommandAction declare_library(CLI::App& app) {
  app.description("Tuned kernel libraries (.gqalib): build, inspect, verify, compare, dispatch.");
  return declare_group(app, "library", kSubcommands);
}

}  // namespace
GQF_REGISTER_COMMAND("library", "build, inspect, verify and compare tuned kernel libraries", 55, declare_library);
}  // namespace gqaforge::tools
