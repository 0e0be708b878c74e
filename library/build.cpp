// Building a library: rows -> classes and bucket entries -> variants -> cubins.
#include "library/build.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "codegen/family.h"
#include "codegen/source.h"
#include "core/time.h"
#include "core/build_info.h"
#include "core/fs.h"
#include "db/export.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "runtime/compile_cache.h"
#include "runtime/nvrtc_compiler.h"

namespace gqaforge::library {

using codegen::AttentionProblem;
using codegen::Phase;
using db::Database;

namespace {

std::string gpu_model(const Environment& e) {
  return fmt::format("{} ({} SMs, cc {}.{})", e.gpu_name, e.sm_count, e.cc_major, e.cc_minor);
}

bool current_templates(const Environment& e) {
  return e.codegen_version == codegen::kCodegenVersion &&
         (e.codegen_hash.empty() || e.codegen_hash == codegen::codegen_fingerprint());
}

// A row on its way into the table.
struct Candidate {
  MeasurementRecord row;
  const codegen::KernelFamily* family = nullptr;
  codegen::KernelConfig config;
  AttentionProblem problem;
  bool current = false;  // timed with this build's templates
};

// Which of two rows of one bucket serves it (see build_library).
bool better(const Candidate& a, const Candidate& b) {
  if (a.current != b.current) return a.current;
  const auto size = [](const AttentionProblem& p) { return std::make_tuple(p.kv_len, p.q_len, p.batch); };
  if (size(a.problem) != size(b.problem)) return size(a.problem) > size(b.problem);
  if (a.row.median_us != b.row.median_us) return a.row.median_us < b.row.median_us;
  return a.row.kernel_key < b.row.kernel_key;
}

Result<std::vector<std::string>> target_archs(const BuildOptions& o, const Environment& measured) {
  std::vector<std::string> archs;
  std::vector<std::string> given = o.archs;
  if (given.empty()) {
    given.push_back(measured.cc_major == 9 && measured.cc_minor == 0
                        ? std::string("sm_90a")
                        : fmt::format("sm_{}{}", measured.cc_major, measured.cc_minor));
  }
  for (const std::string& a : given) {
    GQF_ASSIGN_OR_RETURN(std::string arch, codegen::normalize_arch(a));
    GQF_RETURN_IF_ERROR(runtime::check_nvrtc_arch(arch));
    GQF_RETURN_IF_ERROR(codegen::DeviceLimits::for_arch(arch).status());
    if (std::find(archs.begin(), archs.end(), arch) == archs.end()) archs.push_back(arch);
  }
  return archs;
}

bool passes_filters(const BuildOptions& o, const AttentionProblem& p) {
  if (!o.phases.empty() && std::find(o.phases.begin(), o.phases.end(), p.phase) == o.phases.end()) return false;
  if (!o.heads.empty() &&
      std::find(o.heads.begin(), o.heads.end(), std::make_pair(p.n_q_heads, p.n_kv_heads)) == o.heads.end()) {
    return false;
  }
  return o.head_dims.empty() || std::find(o.head_dims.begin(), o.head_dims.end(), p.head_dim) != o.head_dims.end();
}

// Notes counted per reason, so a thousand skipped rows make one line.
class Notes {
 public:
  void add(const std::string& reason, const std::string& example) {
    auto& [n, first] = by_reason_[reason];
    if (n++ == 0) first = example;
  }
  void flush(std::vector<std::string>& out) const {
    for (const auto& [reason, v] : by_reason_) {
      out.push_back(v.first > 1 ? fmt::format("{} row(s) {} (e.g. {})", v.first, reason, v.second)
                                : fmt::format("1 row {} ({})", reason, v.second));
    }
  }

 private:
  std::map<std::string, std::pair<int64_t, std::string>> by_reason_;
};

}  // namespace

Result<std::unique_ptr<Database>> measurements_from_export(std::string_view text, const std::string& source) {
  GQF_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, db::Database::open(":memory:"));
  GQF_RETURN_IF_ERROR(db::import_text(*db, text, source).status());
  return db;
}

Result<std::unique_ptr<Database>> open_measurement_source(const std::string& path) {
  constexpr std::string_view kExportMagic = "# gqaforge-db-export";
  GQF_ASSIGN_OR_RETURN(std::string text, read_file(path));
  if (text.compare(0, kExportMagic.size(), kExportMagic) == 0) return measurements_from_export(text, path);
  return db::Database::open(path, db::OpenMode::kReadOnly);
}

Result<KernelClass> parse_class_spec(const std::string& text) {
  const std::vector<std::string> parts = split(text, '/');
  const auto bad = [&](const std::string& why) {
    return invalid_argument("'{}' is not a kernel class ({}; e.g. decode/32:8/d128, prefill/8:1/d64/noncausal)", text,
                            why);
  };
  if (parts.size() < 3) return bad("PHASE/Q:KV/dD at least");
  KernelClass c;
  auto phase = codegen::parse_phase(parts[0]);
  if (!phase.ok()) return bad(fmt::format("phase '{}'", parts[0]));
  c.phase = *phase;
  if (!codegen::parse_heads(parts[1], &c.n_q_heads, &c.n_kv_heads).ok())
    return bad(fmt::format("heads '{}'", parts[1]));
  if (parts[2].size() < 2 || parts[2][0] != 'd' || !parse_int(parts[2].substr(1)).ok()) {
    return bad(fmt::format("head dim '{}' is not dNN", parts[2]));
  }
  c.head_dim = static_cast<int>(*parse_int(parts[2].substr(1)));
  c.q_len = c.phase == Phase::kDecode ? 1 : 0;
  for (size_t i = 3; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (auto dtype = codegen::parse_dtype(p); dtype.ok()) {
      c.dtype = *dtype;
    } else if (p == "causal" || p == "noncausal") {
      c.causal = p == "causal";
    } else if (p.size() > 1 && p[0] == 'q' && parse_int(p.substr(1)).ok() && c.phase == Phase::kDecode) {
      c.q_len = *parse_int(p.substr(1));
    } else {
      return bad(fmt::format("unknown part '{}'", p));
    }
  }
  Status s = c.problem(1, 1, 4096).validate();
  if (!s.ok()) return invalid_argument("kernel class '{}': {}", text, s.message());
  return c;
}

Result<LibraryContents> build_library(Database& db, const BuildOptions& o, BuildReport* report_out) {
  BuildReport report;
  Notes notes;
  GQF_ASSIGN_OR_RETURN(std::vector<Environment> env_list, db.environments());
  std::map<std::string, Environment> envs;
  for (const Environment& e : env_list) envs.emplace(e.key(), e);
  GQF_ASSIGN_OR_RETURN(std::vector<MeasurementRecord> best, db.best(db::MeasurementFilter{}));
  std::erase_if(best, [](const MeasurementRecord& m) {
    auto f = codegen::find_family(m.problem.family);
    // GEMMs and the reference serve no attention call; a library holds GPU kernels only.
    return !f.ok() || !(*f)->phase() || (*f)->target() != codegen::Target::kCuda;
  });
  report.best_rows = static_cast<int64_t>(best.size());
  if (best.empty()) return failed_precondition("'{}' has no ok decode or prefill measurement", db.path());

  // The environments: one given, or every one of the GPU model with the most rows.
  std::map<std::string, int64_t> rows_per_model;
  for (const MeasurementRecord& m : best) {
    if (auto it = envs.find(m.env_key); it != envs.end()) ++rows_per_model[gpu_model(it->second)];
  }
  std::string model;
  if (!o.env_key.empty()) {
    auto it = envs.find(o.env_key);
    if (it == envs.end()) {
      std::string have;
      for (const auto& [k, e] : envs) have += fmt::format("{}{}", have.empty() ? "" : ", ", k);
      return not_found("'{}' has no environment '{}' (it has {})", db.path(), o.env_key, have);
    }
    model = gpu_model(it->second);
  } else {
    for (const auto& [m, n] : rows_per_model) {
      if (model.empty() || n > rows_per_model[model]) model = m;
    }
  }
  const Environment* measured = nullptr;
  for (const auto& [k, e] : envs) {
    if (gpu_model(e) == model && (o.env_key.empty() || k == o.env_key) && measured == nullptr) measured = &e;
  }
  if (measured == nullptr) return not_found("'{}': no environment of {}", db.path(), model);
  GQF_ASSIGN_OR_RETURN(std::vector<std::string> archs, target_archs(o, *measured));
  std::vector<codegen::DeviceLimits> limits;
  for (const std::string& a : archs) limits.push_back(*codegen::DeviceLimits::for_arch(a));

  // Rows -> candidates, one per bucket of a class.
  std::map<std::tuple<std::string, int64_t, int64_t, int64_t>, Candidate> cells;
  std::set<std::string> used_envs;
  for (MeasurementRecord& m : best) {
    auto env = envs.find(m.env_key);
    if (env == envs.end()) {
      notes.add("without a recorded environment", m.env_key);
      continue;
    }
    if (gpu_model(env->second) != model || (!o.env_key.empty() && m.env_key != o.env_key)) {
      notes.add(fmt::format("measured on {} left out", gpu_model(env->second)), m.problem.canonical());
      continue;
    }
    Candidate c;
    c.family = *codegen::find_family(m.problem.family);
    c.current = current_templates(env->second);
    if (!o.allow_older_codegen && !c.current) {
      notes.add(fmt::format("timed with codegen v{} templates left out (retune, or --allow-older-codegen)",
                            env->second.codegen_version),
                m.problem.canonical());
      continue;
    }
    c.problem = codegen::make_problem(*c.family->phase(), m.problem.n_q_heads, m.problem.n_kv_heads, m.problem.head_dim,
                                      m.problem.dtype == "fp16" ? codegen::DType::kFP16 : codegen::DType::kBF16,
                                      m.problem.causal, m.problem.batch, m.problem.q_len, m.problem.kv_len);
    if (!passes_filters(o, c.problem)) continue;
    if (Status s = c.problem.validate(); !s.ok()) {
      notes.add("with an invalid problem left out", fmt::format("{}: {}", c.problem.name(), s.message()));
      continue;
    }
    auto config = c.family->parse(m.config, c.family->field_defaults());
    if (!config.ok()) {
      notes.add("whose config this gqaforge no longer parses left out",
                fmt::format("{}: {}", m.config, config.status().message()));
      continue;
    }
    c.config = *config;
    bool legal = true;
    for (size_t i = 0; i < archs.size() && legal; ++i) {
      Status s = c.family->validate(c.problem, c.config, limits[i]);
      if (!s.ok()) {
        notes.add(fmt::format("whose config is illegal for {} left out", archs[i]),
                  fmt::format("{} [{}]: {}", c.problem.name(), m.config, s.message()));
        legal = false;
      }
    }
    if (!legal) continue;
    c.row = std::move(m);
    const Range q =
        c.problem.phase == Phase::kDecode ? Range{c.problem.q_len, c.problem.q_len} : bucket_of(c.problem.q_len);
    auto key =
        std::make_tuple(c.problem.static_key(), bucket_of(c.problem.batch).lo, q.lo, bucket_of(c.problem.kv_len).lo);
    auto [it, inserted] = cells.try_emplace(key, c);
    if (!inserted) {
      Candidate& loser = better(c, it->second) ? it->second : c;
      notes.add("superseded by another row of the same bucket", loser.problem.name());
      if (&loser == &it->second) it->second = std::move(c);
    }
  }

  // A class with rows timed on the current templates drops its older rows altogether: their
  // times were measured on other kernels (a pre-wgmma prefill row can be slower than today's
  // default), and the nearest current bucket is the better guess for their shapes.
  std::set<std::string> current_classes;
  for (const auto& [key, c] : cells) {
    if (c.current) current_classes.insert(std::get<0>(key));
  }
  std::erase_if(cells, [&](const auto& cell) {
    const Candidate& c = cell.second;
    if (c.current || current_classes.count(std::get<0>(cell.first)) == 0) return false;
    notes.add("timed with older kernel templates, in a class with rows of the current ones, left out",
              c.problem.name());
    return true;
  });

  LibraryContents out;
  // Variants, numbered in sorted order so that one database always gives the same ids.
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> variant_ids;
  for (const auto& [key, c] : cells) {
    variant_ids.try_emplace({c.family->name(), c.problem.kernel_class(), c.family->canonical(c.config)}, 0);
  }
  int64_t next_id = 1;
  for (auto& [key, id] : variant_ids) {
    id = next_id++;
    out.variants.push_back({id, std::get<0>(key), std::get<1>(key), std::get<2>(key)});
  }
  std::vector<codegen::KernelSource> sources(out.variants.size());
  std::map<std::string, ClassRow> classes;
  for (const auto& [key, c] : cells) {
    const int64_t id = variant_ids[{c.family->name(), c.problem.kernel_class(), c.family->canonical(c.config)}];
    if (sources[static_cast<size_t>(id - 1)].code.empty()) {
      sources[static_cast<size_t>(id - 1)] = c.family->emit(c.problem, c.config);
    }
    const KernelClass cls = KernelClass::of(c.problem);
    ClassRow& row = classes[cls.key()];
    row.cls = cls;
    row.family = c.family->name();
    row.source = ClassSource::kTuned;
    Entry e;
    e.class_key = cls.key();
    e.batch = bucket_of(c.problem.batch);
    e.q_len = c.problem.phase == Phase::kDecode ? Range{c.problem.q_len, c.problem.q_len} : bucket_of(c.problem.q_len);
    e.kv_len = bucket_of(c.problem.kv_len);
    e.tuned_batch = c.problem.batch;
    e.tuned_q_len = c.problem.q_len;
    e.tuned_kv_len = c.problem.kv_len;
    e.variant_id = id;
    e.median_us = c.row.median_us;
    e.env_key = c.row.env_key;
    e.source_problem = c.row.problem.canonical();
    e.kernel_key = c.row.kernel_key;
    e.measured_at = c.row.measured_at;
    e.measured_codegen_version = envs[c.row.env_key].codegen_version;
    used_envs.insert(c.row.env_key);
    out.entries.push_back(std::move(e));
  }
  report.used_rows = static_cast<int64_t>(out.entries.size());
  // The heuristic default of the covered classes nothing tuned; evaluated at batch 1, 4K keys
  // (and 4K queries for prefill) for the first target: what a JIT call of that shape runs.
  for (const KernelClass& cls : o.cover) {
    if (classes.count(cls.key()) != 0) continue;
    ClassRow row;
    row.cls = cls;
    row.source = ClassSource::kDefault;
    const codegen::KernelFamily& family = codegen::family_for(cls.phase);
    row.family = family.name();
    row.default_batch = 1;
    row.default_kv_len = 4096;
    row.default_q_len = cls.phase == Phase::kDecode ? cls.q_len : 4096;
    const AttentionProblem p = cls.problem(row.default_batch, row.default_q_len, row.default_kv_len);
    row.default_config = family.canonical(family.default_config(p, limits.front()));
    classes[cls.key()] = row;
  }
  notes.flush(report.notes);
  if (classes.empty()) {
    std::string why;
    for (const std::string& n : report.notes) why += "; " + n;
    return failed_precondition("no row of '{}' is left for the library and no class to cover was given{}", db.path(),
                               why);
  }
  for (auto& [key, row] : classes) out.classes.push_back(std::move(row));

  // Every variant for every target, through the compile cache (NVRTC only: no GPU needed).
  runtime::CompileCache cache(o.cache_dir);
  for (const std::string& arch : archs) {
    runtime::CompileOptions options;
    options.arch = arch;
    std::vector<Result<runtime::CompiledKernel>> compiled =
        cache.compile_all(sources, options, o.threads, o.show_progress);
    for (size_t i = 0; i < compiled.size(); ++i) {
      const Variant& v = out.variants[i];
      if (!compiled[i].ok()) {
        return compiled[i].status().with_context(
            fmt::format("compiling variant {} ({} {} [{}]) for {}", v.id, v.family, v.kernel_class, v.config, arch));
      }
      ++(compiled[i]->cache_hit ? report.cache_hits : report.compiled);
      out.cubins.push_back({v.id, arch, sha256_hex(compiled[i]->cubin), sources[i].entry_points, compiled[i]->key,
                            std::move(compiled[i]->cubin)});
    }
  }
  std::sort(out.cubins.begin(), out.cubins.end(), [](const Cubin& a, const Cubin& b) {
    return std::tie(a.variant_id, a.arch) < std::tie(b.variant_id, b.arch);
  });

  Manifest& m = out.manifest;
  m.gqaforge_version = gqaforge_version();
  m.gqaforge_commit = gqaforge_git_commit();
  m.codegen_version = codegen::kCodegenVersion;
  m.codegen_fingerprint = codegen::codegen_fingerprint();
  m.nvrtc_version = runtime::nvrtc_version_string();
  m.archs = archs;
  m.gpu_name = measured->gpu_name;
  m.gpu_sm_count = measured->sm_count;
  m.gpu_cc_major = measured->cc_major;
  m.gpu_cc_minor = measured->cc_minor;
  std::set<int> drivers, codegens;
  for (const std::string& k : used_envs) {
    drivers.insert(envs[k].driver_version);
    codegens.insert(envs[k].codegen_version);
  }
  m.driver_versions.assign(drivers.begin(), drivers.end());
  m.measured_codegen_versions.assign(codegens.begin(), codegens.end());
  m.env_keys.assign(used_envs.begin(), used_envs.end());
  m.source = o.source.empty() ? db.path() : o.source;
  m.created_at = utc_timestamp();
  if (report_out != nullptr) *report_out = std::move(report);
  return out;
}

}  // namespace gqaforge::library
