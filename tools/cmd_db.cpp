// `gqaforge db`: look into and move measurement databases: info, best, export, import, merge,
// migrate. The work lives in db/; this file parses flags and prints.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "autotune/replay.h"
#include "core/fs.h"
#include "core/strings.h"
#include "codegen/family.h"
#include "core/table.h"
#include "core/units.h"
#include "db/database.h"
#include "db/export.h"
#include "db/merge.h"
#include "tools/args.h"
#include "tools/json_output.h"
#include "tools/commands.h"
#include "tools/cpu_commands.h"
#include "tools/problem_flags.h"
#include "tools/validators.h"

namespace gqaforge::tools {

using db::OpenMode;

namespace {

// The families rows can have: the kernel families and the cuBLASLt GEMMs.
std::vector<std::string> known_families() {
  std::vector<std::string> names;
  for (const codegen::KernelFamily* family : codegen::kernel_families()) names.emplace_back(family->name());
  names.emplace_back("linear");
  return names;
}

std::string join_counts(const std::map<std::string, int64_t>& counts) {
  std::string out;
  for (const auto& [name, n] : counts) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, n);
  return out.empty() ? "-" : out;
}

// Attention rows by AttentionProblem::name() ("decode 32:8 d128 bf16 b1 q1 kv4k"), GEMM rows as
// "linear bf16 m.. n.. k..", and a row that is no valid problem of this build by its key.
std::string problem_text(const ProblemRecord& p) {
  if (p.family == "linear") {
    return fmt::format("linear {} m{} n{} k{}", p.dtype, format_count(p.gemm_m), format_count(p.gemm_n),
                       format_count(p.gemm_k));
  }
  auto problem = autotune::problem_from_record(p);
  return problem.ok() ? problem->name() : p.canonical();
}

// Memory-bound families (decode) in TB/s, the rest in TFLOP/s; whichever was measured. The CPU
// families' rows in GB/s and GFLOP/s.
std::string rate_text(const MeasurementRecord& m) {
  auto family = codegen::find_family(m.problem.family);
  const bool prefer_bytes = family.ok() && (*family)->memory_bound();
  if (family.ok() && (*family)->target() == codegen::Target::kCpu) {
    if (prefer_bytes && m.tbps > 0) return cpu_rate_text(true, m.tbps, m.tflops);
    if (m.tflops > 0) return cpu_rate_text(false, m.tbps, m.tflops);
  }
  if (prefer_bytes && m.tbps > 0) return fmt::format("{:.3f} TB/s", m.tbps);
  if (m.tflops > 0) return fmt::format("{:.1f} TFLOP/s", m.tflops);
  if (m.tbps > 0) return fmt::format("{:.3f} TB/s", m.tbps);
  return "-";
}

struct InfoFlags {
  std::string db;
  bool check = false, json = false;
};

int run_info(const InfoFlags& f) {
  auto db = db::Database::open(f.db, OpenMode::kReadOnly);
  if (!db.ok()) return report_failure(db.status());
  auto info = (*db)->info();
  if (!info.ok()) return report_failure(info.status());
  auto envs = (*db)->environments();
  if (!envs.ok()) return report_failure(envs.status());
  std::optional<std::string> check;
  if (f.check) {
    auto c = (*db)->integrity_check();
    if (!c.ok()) return report_failure(c.status());
    check = *c;
  }
  if (f.json) {
    Json doc = json_document("db info");
    doc["file"] = info->path;
    doc["database_schema_version"] = info->schema_version;  // not the document's schema_version
    doc["journal_mode"] = info->journal_mode;
    Json list = Json::array();
    for (const Environment& e : *envs) {
      Json j = Json::object();
      j["key"] = e.key();
      j["gpu_name"] = e.gpu_name;
      j["gpu_uuid"] = e.gpu_uuid;
      j["sm_count"] = e.sm_count;
      j["compute_capability"] = fmt::format("{}.{}", e.cc_major, e.cc_minor);
      j["driver_version"] = e.driver_version;
      j["nvrtc_version"] = e.nvrtc_version;
      j["codegen_version"] = e.codegen_version;
      j["codegen_hash"] = e.codegen_hash.empty() ? Json() : Json(e.codegen_hash);
      j["host"] = e.host;
      list.push_back(std::move(j));
    }
    doc["environments"] = std::move(list);
    doc["runs"] = info->runs;
    doc["unfinished_runs"] = info->unfinished_runs;
    doc["measurements"] = info->measurements;
    Json by_status = Json::object();
    for (const auto& [name, n] : info->by_status) by_status[name] = n;
    doc["by_status"] = std::move(by_status);
    Json by_family = Json::object();
    for (const auto& [name, n] : info->by_family) by_family[name] = n;
    doc["by_family"] = std::move(by_family);
    doc["integrity"] = check ? Json(*check) : Json();
    print_json(doc);
    return check && *check != "ok" ? kFailure : 0;
  }
  std::printf("file            %s\n", info->path.c_str());
  std::printf("schema version  %d\n", info->schema_version);
  std::printf("journal mode    %s\n", info->journal_mode.c_str());
  std::printf("environments    %lld\n", static_cast<long long>(info->environments));
  for (const Environment& e : *envs) {
    std::printf("  %s  %s, %d SMs, cc %d.%d, driver %d, nvrtc %s, codegen %d%s, host %s\n", e.key().c_str(),
                e.gpu_name.c_str(), e.sm_count, e.cc_major, e.cc_minor, e.driver_version, e.nvrtc_version.c_str(),
                e.codegen_version, e.codegen_hash.empty() ? "" : (" templates " + e.codegen_hash).c_str(),
                e.host.empty() ? "-" : e.host.c_str());
  }
  std::printf("tune runs       %lld (%lld unfinished)\n", static_cast<long long>(info->runs),
              static_cast<long long>(info->unfinished_runs));
  std::printf("measurements    %lld\n", static_cast<long long>(info->measurements));
  std::printf("  by status     %s\n", join_counts(info->by_status).c_str());
  std::printf("  by family     %s\n", join_counts(info->by_family).c_str());
  if (check) {
    std::printf("integrity       %s\n", check->c_str());
    if (*check != "ok") return kFailure;
  }
  return 0;
}

struct BestFlags {
  std::string db;
  std::optional<std::string> family, heads, dtype, env;
  std::optional<int> head_dim;
  std::optional<int64_t> batch, kv_len;
  bool wide = false, json = false;
};

Status check_heads(const std::string& text) {
  const Status bad = invalid_argument("'{}' is not Q:KV with positive head counts (e.g. 32:8)", text);
  std::vector<std::string> parts = split(text, ':');
  if (parts.size() != 2) return bad;
  auto q = parse_int(parts[0]);
  auto kv = parse_int(parts[1]);
  if (!q.ok() || !kv.ok() || *q <= 0 || *kv <= 0 || *q > (1 << 20) || *kv > (1 << 20)) return bad;
  return ok_status();
}

db::MeasurementFilter filter_from_flags(const BestFlags& f) {
  db::MeasurementFilter filter;
  filter.family = f.family.value_or("");
  if (f.heads) {
    std::vector<std::string> parts = split(*f.heads, ':');  // checked by the parse
    filter.n_q_heads = static_cast<int>(*parse_int(parts[0]));
    filter.n_kv_heads = static_cast<int>(*parse_int(parts[1]));
  }
  if (f.head_dim) filter.head_dim = *f.head_dim;
  if (f.dtype) filter.dtype = *f.dtype;
  if (f.batch) filter.batch = *f.batch;
  if (f.kv_len) filter.kv_len = *f.kv_len;
  if (f.env) filter.env_key = *f.env;
  return filter;
}

int run_best(const BestFlags& f) {
  auto db = db::Database::open(f.db, OpenMode::kReadOnly);
  if (!db.ok()) return report_failure(db.status());
  auto rows = (*db)->best(filter_from_flags(f));
  if (!rows.ok()) return report_failure(rows.status());
  if (f.json) {
    Json doc = json_document("db best");
    doc["file"] = (*db)->path();
    Json list = Json::array();
    for (const MeasurementRecord& m : *rows) {
      Json j = Json::object();
      j["problem"] = problem_text(m.problem);
      j["problem_key"] = m.problem.canonical();
      j["family"] = m.problem.family;
      j["env_key"] = m.env_key;
      j["kernel_key"] = m.kernel_key;
      j["config"] = m.config;
      j["median_us"] = m.median_us;
      j["tbps"] = m.tbps > 0 ? Json(m.tbps) : Json();
      j["tflops"] = m.tflops > 0 ? Json(m.tflops) : Json();
      j["marked_best"] = m.is_best;
      j["measured_at"] = m.measured_at;
      list.push_back(std::move(j));
    }
    doc["rows"] = std::move(list);
    print_json(doc);
    return 0;
  }
  if (rows->empty()) {
    std::printf("no ok measurements match in %s\n", (*db)->path().c_str());
    return 0;
  }
  TextTable t;
  t.add_column("problem", TextTable::kLeft);
  t.add_column("median");
  t.add_column("rate");
  t.add_column("best", TextTable::kLeft);
  t.add_column("env", TextTable::kLeft, 1);
  t.add_column("config", TextTable::kLeft, 2);
  for (const MeasurementRecord& m : *rows) {
    t.add_row({problem_text(m.problem), format_time_us(m.median_us), rate_text(m), m.is_best ? "marked" : "fastest",
               m.env_key, m.config.empty() ? "-" : m.config});
  }
  std::fputs(t.render(f.wide ? 0 : kDefaultTableWidth).c_str(), stdout);
  return 0;
}

struct ExportFlags {
  std::string db;
  std::string output = "-";
};

int run_export(const ExportFlags& f) {
  const std::string& out = f.output;
  if (out.empty()) return usage_error("db export: --output is empty");
  auto db = db::Database::open(f.db, OpenMode::kReadOnly);
  if (!db.ok()) return report_failure(db.status());
  // Streamed a few kilobytes at a time, whatever the size of the database. A failure part-way
  // leaves stdout without the end line (import refuses it) and a file not written at all.
  if (out == "-") {
    Status s = db::write_export(**db, [](std::string_view piece) {
      if (std::fwrite(piece.data(), 1, piece.size(), stdout) != piece.size())
        return unavailable("cannot write the export to stdout");
      return ok_status();
    });
    if (s.ok() && std::fflush(stdout) != 0) s = unavailable("cannot write the export to stdout");
    if (!s.ok()) return report_failure(s);
    return 0;
  }
  auto file = AtomicFileWriter::create(out);
  if (!file.ok()) return report_failure(file.status());
  Status s = db::write_export(**db, [&file](std::string_view piece) { return file->write(piece); });
  if (s.ok()) s = file->commit();
  if (!s.ok()) return report_failure(s);
  std::fprintf(stderr, "exported %s to %s\n", (*db)->path().c_str(), out.c_str());
  return 0;
}

void print_stats(const char* verb, const std::string& target, const db::MergeStats& s) {
  std::printf(
      "%s into %s: %lld environments, %lld runs, %lld measurements added; %lld measurements "
      "updated, %lld unchanged, %lld skipped (the database held a later measurement)\n",
      verb, target.c_str(), static_cast<long long>(s.environments_added), static_cast<long long>(s.runs_added),
      static_cast<long long>(s.measurements_added), static_cast<long long>(s.measurements_updated),
      static_cast<long long>(s.measurements_unchanged), static_cast<long long>(s.measurements_skipped));
}

struct ImportFlags {
  std::string db;
  std::string file;
};

int run_import(const ImportFlags& f) {
  const std::string& file = f.file;
  auto text = read_file(file);
  if (!text.ok()) return report_failure(text.status());
  auto contents = db::parse_export(*text, file);
  if (!contents.ok()) return report_failure(contents.status());
  if (db::is_v1_export(*text)) {
    std::fprintf(stderr,
                 "gqaforge: note: %s is a v1 export, which has no end line: whether it is "
                 "complete cannot be checked\n",
                 file.c_str());
  }
  auto db = db::Database::open(f.db, OpenMode::kReadWrite);
  if (!db.ok()) return report_failure(db.status());
  auto stats = (*db)->merge(std::span<const db::DbContents>(&*contents, 1));
  if (!stats.ok()) return report_failure(stats.status());
  print_stats("imported", (*db)->path(), *stats);
  return 0;
}

struct MergeFlags {
  std::string out;
  std::vector<std::string> inputs;
};

int run_merge(const MergeFlags& f) {
  for (const std::string& input : f.inputs) {
    if (input.empty()) return usage_error("db merge: an input path is empty");
  }
  auto stats = db::merge_databases(f.out, f.inputs);
  if (!stats.ok()) return report_failure(stats.status());
  print_stats("merged", f.out, *stats);
  return 0;
}

int run_migrate(const std::string& path) {
  auto db = db::Database::open(path, OpenMode::kExisting);
  if (!db.ok()) return report_failure(db.status());
  auto info = (*db)->info();
  if (!info.ok()) return report_failure(info.status());
  std::printf("%s is at schema version %d\n", info->path.c_str(), info->schema_version);
  return 0;
}

CommandAction declare_info(CLI::App& app) {
  app.description(
      "Summarizes a measurement database: schema version, environments, runs, and rows per status and "
      "family.");
  auto f = std::make_shared<InfoFlags>();
  add_database_flag(app, f->db);
  add_switch(app, "--check", f->check, "also run SQLite's integrity check (reads the whole file)");
  add_switch(app, "--json", f->json, "print the summary as JSON (docs/json-output.md)");
  return action(f, run_info);
}

CommandAction declare_best(CLI::App& app) {
  app.description(
      "Lists the best ok measurement per problem (the re-measured winner if one was marked, else the "
      "lowest median time).");
  auto f = std::make_shared<BestFlags>();
  add_database_flag(app, f->db);
  app.add_option("--family", f->family, "decode, prefill, reference or linear")
      ->type_name("NAME")
      ->check(one_of(known_families()));
  app.add_option("--heads", f->heads, "query and key/value head counts, e.g. 32:8")
      ->type_name("Q:KV")
      ->check(checked_by(check_heads));
  app.add_option("--head-dim", f->head_dim, "head dimension, e.g. 128")
      ->type_name("D")
      ->transform(integer_in(1, 1 << 20));
  app.add_option("--dtype", f->dtype, "bf16 or fp16")->type_name("T")->check(one_of({"bf16", "fp16"}));
  app.add_option("--batch", f->batch, "batch size")->type_name("N")->transform(positive_count());
  app.add_option("--kv-len", f->kv_len, "keys per sequence, e.g. 4096 or 4k")
      ->type_name("N")
      ->transform(positive_count());
  app.add_option("--env", f->env, "environment key (default: all environments, listed separately)")
      ->type_name("KEY")
      ->check(checked_by([](const std::string& key) {
        return key.empty() ? invalid_argument("the key is empty (give an environment key, see `gqaforge db info`)")
                           : ok_status();
      }));
  add_switch(app, "--wide", f->wide, "every column, however wide (the config is hidden to fit 120 columns)");
  add_switch(app, "--json", f->json, "print the rows as JSON (docs/json-output.md)");
  return action(f, run_best);
}

CommandAction declare_export(CLI::App& app) {
  app.description(
      "Writes the whole database as sorted, line-oriented text (for review and version control; "
      "`db import` reads it back).");
  auto f = std::make_shared<ExportFlags>();
  add_database_flag(app, f->db);
  app.add_option(kOutputFlag, f->output, "output file, written atomically")->type_name("FILE")->default_str("stdout");
  return action(f, run_export);
}

CommandAction declare_import(CLI::App& app) {
  app.description(
      "Merges an export file into a database (created if missing), without duplicates. The file is "
      "checked completely first (its end line, every value); on any error the database is unchanged.");
  auto f = std::make_shared<ImportFlags>();
  add_database_flag(app, f->db);
  app.add_option("file", f->file, "export file written by `gqaforge db export`")->required();
  return action(f, run_import);
}

CommandAction declare_merge(CLI::App& app) {
  app.description(
      "Combines measurement databases (e.g. one per GPU or host) into OUT, which may already exist. Rows "
      "are deduplicated; run ids are remapped. Every input is checked before OUT is written; the rows "
      "then go in in short batches, so a tuner writing OUT keeps going, and an interrupted merge is "
      "completed by running it again.");
  auto f = std::make_shared<MergeFlags>();
  app.add_option("out", f->out, "output database (created if missing)")->required();
  app.add_option("input", f->inputs, "input databases")->required();
  return action(f, run_merge);
}

CommandAction declare_migrate(CLI::App& app) {
  app.description(
      "Upgrades a database file to the schema version of this gqaforge (writers do this on open; "
      "read-only commands refuse older files).");
  auto path = std::make_shared<std::string>();
  add_database_flag(app, *path);
  return [path](const Args&) { return run_migrate(*path); };
}

constexpr Subcommand kSubcommands[] = {
    {"info", "summarize a database", declare_info},
    {"best", "list the best measurement per problem", declare_best},
    {"export", "write the database as sorted text", declare_export},
    {"import", "merge an export file into a database", declare_import},
    {"merge", "combine databases into one", declare_merge},
    {"migrate", "upgrade a database to the current schema", declare_migrate},
};

CommandAction declare_db(CLI::App& app) {
  app.description("Measurement database tools.");
  return declare_group(app, "db", kSubcommands);
}

}  // namespace
GQF_REGISTER_COMMAND("db", "inspect, export, import and merge measurement databases", 50, declare_db);
}  // namespace gqaforge::tools
