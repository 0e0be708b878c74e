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

#include "core/fs.h"
#include "core/strings.h"
#include "core/table.h"
#include "core/units.h"
#include "db/database.h"
#include "db/export.h"
#include "db/merge.h"
#include "tools/args.h"
#include "tools/json_output.h"
#include "tools/commands.h"

namespace gqaforge::cli {
namespace {

constexpr const char* kKnownFamilies[] = {"decode", "prefill", "reference", "linear"};

void add_db_flag(ArgParser& p) {
  p.add_flag("db", "FILE", "measurement database", "$GQAFORGE_DB or ./gqaforge.sqlite");
}

std::string db_path(const ArgParser& p) {
  return p.get("db", default_database_path());
}

std::string join_counts(const std::map<std::string, int64_t>& counts) {
  std::string out;
  for (const auto& [name, n] : counts)
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, n);
  return out.empty() ? "-" : out;
}

// "decode 32:8 d128 bf16 b1 q1 kv4k", "prefill 32:8 d128 bf16 causal b2 q4k kv4k", "linear bf16 m..
// n.. k..".
std::string problem_text(const ProblemRecord& p) {
  if (p.family == "linear") {
    return fmt::format("linear {} m{} n{} k{}", p.dtype, format_count(p.gemm_m),
                       format_count(p.gemm_n), format_count(p.gemm_k));
  }
  return fmt::format("{} {}:{} d{} {}{} b{} q{} kv{}", p.family, p.n_q_heads, p.n_kv_heads,
                     p.head_dim, p.dtype, p.causal ? " causal" : "", p.batch, format_count(p.q_len),
                     format_count(p.kv_len));
}

// Decode is memory bound (TB/s), the rest compute bound (TFLOP/s); whichever was measured.
std::string rate_text(const MeasurementRecord& m) {
  const bool prefer_bytes = m.problem.family == "decode";
  if (prefer_bytes && m.tbps > 0) return fmt::format("{:.3f} TB/s", m.tbps);
  if (m.tflops > 0) return fmt::format("{:.1f} TFLOP/s", m.tflops);
  if (m.tbps > 0) return fmt::format("{:.3f} TB/s", m.tbps);
  return "-";
}

int run_info(const Args& args) {
  ArgParser p("gqaforge db info",
              "Summarizes a measurement database: schema version, environments, runs, and rows "
              "per status and family.");
  add_db_flag(p);
  p.add_switch("check", "also run SQLite's integrity check (reads the whole file)");
  p.add_switch("json", "print the summary as JSON (docs/json-output.md)");
  if (int rc = p.parse(args); rc >= 0) return rc;
  auto db = Database::open(db_path(p), OpenMode::kReadOnly);
  if (!db.ok()) return report_failure(db.status());
  auto info = (*db)->info();
  if (!info.ok()) return report_failure(info.status());
  auto envs = (*db)->environments();
  if (!envs.ok()) return report_failure(envs.status());
  std::optional<std::string> check;
  if (p.get_switch("check")) {
    auto c = (*db)->integrity_check();
    if (!c.ok()) return report_failure(c.status());
    check = *c;
  }
  if (p.get_switch("json")) {
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
    std::printf("  %s  %s, %d SMs, cc %d.%d, driver %d, nvrtc %s, codegen %d%s, host %s\n",
                e.key().c_str(), e.gpu_name.c_str(), e.sm_count, e.cc_major, e.cc_minor,
                e.driver_version, e.nvrtc_version.c_str(), e.codegen_version,
                e.codegen_hash.empty() ? "" : (" templates " + e.codegen_hash).c_str(),
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

// Parses a strictly positive integer flag value.
Result<int64_t> positive_flag(const std::string& flag, const std::string& text, bool allow_suffix) {
  auto v = allow_suffix ? parse_count(text) : parse_int(text);
  if (!v.ok() || *v <= 0)
    return invalid_argument("--{} '{}' is not a positive integer", flag, text);
  return *v;
}

Result<MeasurementFilter> filter_from_flags(const ArgParser& p) {
  MeasurementFilter f;
  f.family = p.get("family");
  if (p.has("family")) {
    bool known = false;
    for (const char* name : kKnownFamilies) known = known || f.family == name;
    if (!known)
      return invalid_argument("--family '{}' is not one of decode, prefill, reference, linear",
                              f.family);
  }
  if (auto heads = p.get_optional("heads")) {
    const Status bad =
        invalid_argument("--heads '{}' is not Q:KV with positive head counts (e.g. 32:8)", *heads);
    std::vector<std::string> parts = split(*heads, ':');
    if (parts.size() != 2) return bad;
    auto q = parse_int(parts[0]);
    auto kv = parse_int(parts[1]);
    if (!q.ok() || !kv.ok() || *q <= 0 || *kv <= 0 || *q > (1 << 20) || *kv > (1 << 20)) return bad;
    f.n_q_heads = static_cast<int>(*q);
    f.n_kv_heads = static_cast<int>(*kv);
  }
  if (auto d = p.get_optional("head-dim")) {
    GQF_ASSIGN_OR_RETURN(int64_t v, positive_flag("head-dim", *d, false));
    if (v > (1 << 20)) return invalid_argument("--head-dim '{}' is out of range", *d);
    f.head_dim = static_cast<int>(v);
  }
  if (auto t = p.get_optional("dtype")) {
    if (*t != "bf16" && *t != "fp16")
      return invalid_argument("--dtype '{}' is not bf16 or fp16", *t);
    f.dtype = *t;
  }
  if (auto b = p.get_optional("batch")) {
    GQF_ASSIGN_OR_RETURN(f.batch, positive_flag("batch", *b, true));
  }
  if (auto kv = p.get_optional("kv-len")) {
    GQF_ASSIGN_OR_RETURN(f.kv_len, positive_flag("kv-len", *kv, true));
  }
  if (auto env = p.get_optional("env")) {
    if (env->empty())
      return invalid_argument("--env is empty (give an environment key, see `gqaforge db info`)");
    f.env_key = *env;
  }
  return f;
}

int run_best(const Args& args) {
  ArgParser p("gqaforge db best",
              "Lists the best ok measurement per problem (the re-measured winner if one was "
              "marked, else the lowest median time).");
  add_db_flag(p);
  p.add_flag("family", "NAME", "decode, prefill, reference or linear");
  p.add_flag("heads", "Q:KV", "query and key/value head counts, e.g. 32:8");
  p.add_flag("head-dim", "D", "head dimension, e.g. 128");
  p.add_flag("dtype", "T", "bf16 or fp16");
  p.add_flag("batch", "N", "batch size");
  p.add_flag("kv-len", "N", "keys per sequence, e.g. 4096 or 4k");
  p.add_flag("env", "KEY", "environment key (default: all environments, listed separately)");
  p.add_switch("wide", "every column, however wide (the config is hidden to fit 120 columns)");
  p.add_switch("json", "print the rows as JSON (docs/json-output.md)");
  if (int rc = p.parse(args); rc >= 0) return rc;
  auto filter = filter_from_flags(p);
  if (!filter.ok())
    return usage_error(fmt::format("{}: {}", p.program(), filter.status().message()));
  auto db = Database::open(db_path(p), OpenMode::kReadOnly);
  if (!db.ok()) return report_failure(db.status());
  auto rows = (*db)->best(*filter);
  if (!rows.ok()) return report_failure(rows.status());
  if (p.get_switch("json")) {
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
  std::fputs(t.render(p.get_switch("wide") ? 0 : kDefaultTableWidth).c_str(), stdout);
  return 0;
}

int run_export(const Args& args) {
  ArgParser p("gqaforge db export",
              "Writes the whole database as sorted, line-oriented text (for review and "
              "version control; `db import` reads it back).");
  add_db_flag(p);
  p.add_flag("output", "FILE", "output file, written atomically; also -o FILE", "stdout");
  p.add_alias("o", "output");
  if (int rc = p.parse(args); rc >= 0) return rc;
  const std::string out = p.get("output", "-");
  if (out.empty()) return usage_error(fmt::format("{}: --output is empty", p.program()));
  auto db = Database::open(db_path(p), OpenMode::kReadOnly);
  if (!db.ok()) return report_failure(db.status());
  // Streamed a few kilobytes at a time, whatever the size of the database. A failure part-way
  // leaves stdout without the end line (import refuses it) and a file not written at all.
  if (out == "-") {
    Status s = write_export(**db, [](std::string_view piece) {
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
  Status s = write_export(**db, [&file](std::string_view piece) { return file->write(piece); });
  if (s.ok()) s = file->commit();
  if (!s.ok()) return report_failure(s);
  std::fprintf(stderr, "exported %s to %s\n", (*db)->path().c_str(), out.c_str());
  return 0;
}

void print_stats(const char* verb, const std::string& target, const MergeStats& s) {
  std::printf(
      "%s into %s: %lld environments, %lld runs, %lld measurements added; %lld measurements "
      "updated, %lld unchanged, %lld skipped (the database held a later measurement)\n",
      verb, target.c_str(), static_cast<long long>(s.environments_added),
      static_cast<long long>(s.runs_added), static_cast<long long>(s.measurements_added),
      static_cast<long long>(s.measurements_updated),
      static_cast<long long>(s.measurements_unchanged),
      static_cast<long long>(s.measurements_skipped));
}

int run_import(const Args& args) {
  ArgParser p("gqaforge db import",
              "Merges an export file into a database (created if missing), without "
              "duplicates. The file is checked completely first (its end line, every value); "
              "on any error the database is unchanged.");
  add_db_flag(p);
  p.add_positional("file", "export file written by `gqaforge db export`");
  if (int rc = p.parse(args); rc >= 0) return rc;
  const std::string file = p.positionals()[0];
  auto text = read_file(file);
  if (!text.ok()) return report_failure(text.status());
  auto contents = parse_export(*text, file);
  if (!contents.ok()) return report_failure(contents.status());
  if (is_v1_export(*text)) {
    std::fprintf(stderr,
                 "gqaforge: note: %s is a v1 export, which has no end line: whether it is "
                 "complete cannot be checked\n",
                 file.c_str());
  }
  auto db = Database::open(db_path(p), OpenMode::kReadWrite);
  if (!db.ok()) return report_failure(db.status());
  auto stats = (*db)->merge(std::span<const DbContents>(&*contents, 1));
  if (!stats.ok()) return report_failure(stats.status());
  print_stats("imported", (*db)->path(), *stats);
  return 0;
}

int run_merge(const Args& args) {
  ArgParser p("gqaforge db merge",
              "Combines measurement databases (e.g. one per GPU or host) into OUT, which may "
              "already exist. Rows are deduplicated; run ids are remapped. Every input is "
              "checked before OUT is written; the rows then go in in short batches, so a tuner "
              "writing OUT keeps going, and an interrupted merge is completed by running it "
              "again.");
  p.add_positional("out", "output database (created if missing)");
  p.add_positional("input", "input database");
  p.add_positional("input...", "more input databases", /*required=*/false);
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    return p.parse({"--help"});
  }
  // Every argument after OUT is an input: declare one optional slot per extra argument.
  for (size_t i = 3; i < args.size(); ++i)
    p.add_positional("input...", "more input databases", false);
  if (int rc = p.parse(args); rc >= 0) return rc;
  const std::vector<std::string>& paths = p.positionals();
  std::vector<std::string> inputs(paths.begin() + 1, paths.end());
  for (const std::string& input : inputs) {
    if (input.empty()) return usage_error(fmt::format("{}: an input path is empty", p.program()));
  }
  auto stats = merge_databases(paths[0], inputs);
  if (!stats.ok()) return report_failure(stats.status());
  print_stats("merged", paths[0], *stats);
  return 0;
}

int run_migrate(const Args& args) {
  ArgParser p("gqaforge db migrate",
              "Upgrades a database file to the schema version of this gqaforge (writers "
              "do this on open; read-only commands refuse older files).");
  add_db_flag(p);
  if (int rc = p.parse(args); rc >= 0) return rc;
  auto db = Database::open(db_path(p), OpenMode::kExisting);
  if (!db.ok()) return report_failure(db.status());
  auto info = (*db)->info();
  if (!info.ok()) return report_failure(info.status());
  std::printf("%s is at schema version %d\n", info->path.c_str(), info->schema_version);
  return 0;
}

struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);
};

constexpr Subcommand kSubcommands[] = {
    {"info", "summarize a database", run_info},
    {"best", "list the best measurement per problem", run_best},
    {"export", "write the database as sorted text", run_export},
    {"import", "merge an export file into a database", run_import},
    {"merge", "combine databases into one", run_merge},
    {"migrate", "upgrade a database to the current schema", run_migrate},
};

std::string db_help() {
  std::string out =
      "usage: gqaforge db <subcommand> [flags]\n\nMeasurement database tools.\n\nsubcommands:\n";
  for (const Subcommand& s : kSubcommands) out += fmt::format("  {:<10} {}\n", s.name, s.summary);
  out += "\n`gqaforge db <subcommand> --help` describes its flags.\n";
  return out;
}

int run_db(const Args& args) {
  if (args.empty()) {
    return usage_error(
        "gqaforge db: missing subcommand (info, best, export, import, merge, migrate; see "
        "gqaforge db --help)");
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(db_help().c_str(), stdout);
    return 0;
  }
  for (const Subcommand& s : kSubcommands) {
    if (args[0] == s.name) return s.run(Args(args.begin() + 1, args.end()));
  }
  return usage_error(
      fmt::format("gqaforge db: unknown subcommand '{}' (see gqaforge db --help)", args[0]));
}

}  // namespace
GQF_REGISTER_COMMAND("db", "inspect, export, import and merge measurement databases", 50, run_db);
}  // namespace gqaforge::cli
