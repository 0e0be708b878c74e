// Export/import of the measurement database as sorted, line-oriented, TAB-separated text.
// Each table is described once as a list of columns (name + how to format/parse the field),
// and the writer and the parser both walk that list, so they cannot disagree.
#include "db/export.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <tuple>
#include <type_traits>

#include "core/sha256.h"
#include "core/strings.h"

namespace gqaforge::db {
namespace {

// ---- Field codecs ----

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Status unescape(std::string_view s, std::string& out) {
  out.clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (i + 1 >= s.size()) return invalid_argument("'{}' ends in a lone backslash", s);
    switch (s[++i]) {
      case '\\':
        out += '\\';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case '@':
        out += '@';
        break;
      case '#':
        out += '#';
        break;
      default:
        return invalid_argument("'{}' has an unknown escape '\\{}'", s, s[i]);
    }
  }
  return ok_status();
}

std::string format_value(const std::string& v) {
  return escape(v);
}
std::string format_value(bool v) {
  return v ? "1" : "0";
}
std::string format_value(MeasureStatus v) {
  return measure_status_name(v);
}
std::string format_value(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}
template <typename Int>
requires std::is_integral_v<Int> std::string format_value(Int v) {
  return fmt::format("{}", v);
}

Status parse_value(std::string_view text, std::string& out) {
  return unescape(text, out);
}

Status parse_value(std::string_view text, bool& out) {
  if (text == "0" || text == "1") {
    out = text == "1";
    return ok_status();
  }
  return invalid_argument("'{}' is not 0 or 1", text);
}

Status parse_value(std::string_view text, MeasureStatus& out) {
  auto s = parse_measure_status(std::string(text));
  if (!s) return invalid_argument("'{}' is not a measurement status", text);
  out = *s;
  return ok_status();
}

Status parse_value(std::string_view text, double& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return invalid_argument("'{}' is not a number", text);
  }
  return ok_status();
}

template <typename Int>
requires std::is_integral_v<Int> Status parse_value(std::string_view text, Int& out) {
  Int v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range) return invalid_argument("integer '{}' is out of range", text);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return invalid_argument("'{}' is not an integer", text);
  }
  out = v;
  return ok_status();
}

// ---- Table descriptions ----

template <typename Row>
struct Column {
  const char* name;
  std::function<std::string(const Row&)> format;
  std::function<Status(Row&, std::string_view)> parse;
};

// `access` is a generic lambda returning a reference to the field of a (const) Row.
template <typename Row, typename Access>
Column<Row> column(const char* name, Access access) {
  return {name, [access](const Row& r) { return format_value(access(r)); },
          [access](Row& r, std::string_view text) { return parse_value(text, access(r)); }};
}

// clang-format off
#define GQF_COL(Row, name, expr) column<Row>(name, [](auto& r) -> auto& { return expr; })
// clang-format on

// v1 exports predate the templates' fingerprint; v2 ends the list with it.
const std::vector<Column<EnvironmentEntry>>& environment_columns(bool with_hash = true) {
  using R = EnvironmentEntry;
  static const std::vector<Column<R>> v1 = {
      GQF_COL(R, "key", r.key),
      GQF_COL(R, "gpu_name", r.env.gpu_name),
      GQF_COL(R, "gpu_uuid", r.env.gpu_uuid),
      GQF_COL(R, "sm_count", r.env.sm_count),
      GQF_COL(R, "cc_major", r.env.cc_major),
      GQF_COL(R, "cc_minor", r.env.cc_minor),
      GQF_COL(R, "sm_clock_mhz", r.env.sm_clock_mhz),
      GQF_COL(R, "mem_clock_mhz", r.env.mem_clock_mhz),
      GQF_COL(R, "memory_bytes", r.env.memory_bytes),
      GQF_COL(R, "driver_version", r.env.driver_version),
      GQF_COL(R, "nvrtc_version", r.env.nvrtc_version),
      GQF_COL(R, "codegen_version", r.env.codegen_version),
      GQF_COL(R, "gqaforge_commit", r.env.gqaforge_commit),
      GQF_COL(R, "build_type", r.env.build_type),
      GQF_COL(R, "host", r.env.host),
  };
  static const std::vector<Column<R>> v2 = [] {
    std::vector<Column<R>> cols = v1;
    cols.push_back(GQF_COL(R, "codegen_hash", r.env.codegen_hash));
    return cols;
  }();
  return with_hash ? v2 : v1;
}

const std::vector<Column<RunEntry>>& run_columns() {
  using R = RunEntry;
  static const std::vector<Column<R>> cols = {
      GQF_COL(R, "uid", r.uid),
      GQF_COL(R, "env_key", r.run.env_key),
      GQF_COL(R, "command_line", r.run.command_line),
      GQF_COL(R, "strategy", r.run.strategy),
      GQF_COL(R, "started_at", r.run.started_at),
      GQF_COL(R, "finished_at", r.run.finished_at),
  };
  return cols;
}

const std::vector<Column<MeasurementEntry>>& measurement_columns() {
  using R = MeasurementEntry;
  static const std::vector<Column<R>> cols = {
      GQF_COL(R, "env_key", r.record.env_key),
      GQF_COL(R, "family", r.record.problem.family),
      GQF_COL(R, "n_q_heads", r.record.problem.n_q_heads),
      GQF_COL(R, "n_kv_heads", r.record.problem.n_kv_heads),
      GQF_COL(R, "head_dim", r.record.problem.head_dim),
      GQF_COL(R, "dtype", r.record.problem.dtype),
      GQF_COL(R, "causal", r.record.problem.causal),
      GQF_COL(R, "batch", r.record.problem.batch),
      GQF_COL(R, "q_len", r.record.problem.q_len),
      GQF_COL(R, "kv_len", r.record.problem.kv_len),
      GQF_COL(R, "gemm_m", r.record.problem.gemm_m),
      GQF_COL(R, "gemm_n", r.record.problem.gemm_n),
      GQF_COL(R, "gemm_k", r.record.problem.gemm_k),
      GQF_COL(R, "kernel_key", r.record.kernel_key),
      GQF_COL(R, "config", r.record.config),
      GQF_COL(R, "status", r.record.status),
      GQF_COL(R, "message", r.record.message),
      GQF_COL(R, "median_us", r.record.median_us),
      GQF_COL(R, "min_us", r.record.min_us),
      GQF_COL(R, "stddev_us", r.record.stddev_us),
      GQF_COL(R, "repetitions", r.record.repetitions),
      GQF_COL(R, "max_error", r.record.max_error),
      GQF_COL(R, "error_bound", r.record.error_bound),
      GQF_COL(R, "tflops", r.record.tflops),
      GQF_COL(R, "tbps", r.record.tbps),
      GQF_COL(R, "compile_ms", r.record.compile_ms),
      GQF_COL(R, "registers", r.record.registers),
      GQF_COL(R, "shared_bytes", r.record.shared_bytes),
      GQF_COL(R, "spill_bytes", r.record.spill_bytes),
      GQF_COL(R, "is_best", r.record.is_best),
      GQF_COL(R, "measured_at", r.record.measured_at),
      GQF_COL(R, "run_uid", r.run_uid),
  };
  return cols;
}

#undef GQF_COL

constexpr std::string_view kEnvironmentsSection = "environments";
constexpr std::string_view kRunsSection = "tune_runs";
constexpr std::string_view kMeasurementsSection = "measurements";

template <typename Row>
std::string section_header(std::string_view name, const std::vector<Column<Row>>& cols) {
  std::string line = "@";
  line += name;
  for (const auto& c : cols) {
    line += '\t';
    line += c.name;
  }
  return line;
}

template <typename Row>
std::string format_row(const Row& row, const std::vector<Column<Row>>& cols) {
  std::string line;
  for (size_t i = 0; i < cols.size(); ++i) {
    std::string field = cols[i].format(row);
    if (i > 0) {
      line += '\t';
    } else if (!field.empty() && (field[0] == '@' || field[0] == '#')) {
      line += '\\';  // a row must never look like a section header, the header or the end line
    }
    line += field;
  }
  return line;
}

constexpr std::string_view kEndPrefix = "# end ";

// The end line: the row count of each section and the checksum of the lines above it.
std::string end_line(int64_t environments, int64_t runs, int64_t measurements, const std::string& sha256) {
  return fmt::format("{}{}={} {}={} {}={} sha256={}", kEndPrefix, kEnvironmentsSection, environments, kRunsSection,
                     runs, kMeasurementsSection, measurements, sha256);
}

// Writes the export line by line: the header, the sections in order (each header once, also
// for an empty table), the end line. Output goes to the sink in chunks of about kChunk bytes.
class ExportWriter {
 public:
  explicit ExportWriter(const ExportSink& sink) : sink_(sink) {}

  Status start() { return line(kExportHeader); }
  Status environment(const EnvironmentEntry& e) {
    GQF_RETURN_IF_ERROR(enter(1));
    ++environments_;
    return line(format_row(e, environment_columns()));
  }
  Status run(const RunEntry& r) {
    GQF_RETURN_IF_ERROR(enter(2));
    ++runs_;
    return line(format_row(r, run_columns()));
  }
  Status measurement(const MeasurementEntry& m) {
    GQF_RETURN_IF_ERROR(enter(3));
    ++measurements_;
    return line(format_row(m, measurement_columns()));
  }
  Status finish() {
    GQF_RETURN_IF_ERROR(enter(3));
    buffer_ += end_line(environments_, runs_, measurements_, to_hex(sha_.digest().data(), 32));
    buffer_ += '\n';
    return flush();
  }

 private:
  static constexpr size_t kChunk = 64 * 1024;

  // Writes the section headers up to section `n` (1 environments, 2 runs, 3 measurements).
  Status enter(int n) {
    while (section_ < n) {
      ++section_;
      if (section_ == 1) GQF_RETURN_IF_ERROR(line(section_header(kEnvironmentsSection, environment_columns())));
      if (section_ == 2) GQF_RETURN_IF_ERROR(line(section_header(kRunsSection, run_columns())));
      if (section_ == 3) GQF_RETURN_IF_ERROR(line(section_header(kMeasurementsSection, measurement_columns())));
    }
    return ok_status();
  }
  Status line(std::string_view text) {
    sha_.update(text);
    sha_.update("\n");
    buffer_ += text;
    buffer_ += '\n';
    return buffer_.size() >= kChunk ? flush() : ok_status();
  }
  Status flush() {
    if (buffer_.empty()) return ok_status();
    Status s = sink_(buffer_);
    buffer_.clear();
    return s;
  }

  const ExportSink& sink_;
  Sha256 sha_;
  std::string buffer_;
  int section_ = 0;
  int64_t environments_ = 0, runs_ = 0, measurements_ = 0;
};

// Parses one data line into a row; errors name the line and the column.
template <typename Row>
Result<Row> parse_row(std::string_view line, std::string_view section, const std::vector<Column<Row>>& cols,
                      const std::string& where) {
  std::vector<std::string> fields = split(line, '\t');
  if (fields.size() != cols.size()) {
    return invalid_argument("{}: a {} row needs {} tab-separated fields, this line has {}", where, section, cols.size(),
                            fields.size());
  }
  Row row;
  for (size_t i = 0; i < cols.size(); ++i) {
    Status s = cols[i].parse(row, fields[i]);
    if (!s.ok()) return invalid_argument("{}: column '{}': {}", where, cols[i].name, s.message());
  }
  return row;
}

}  // namespace

std::string format_export(const DbContents& contents) {
  DbContents sorted = contents;
  std::sort(sorted.environments.begin(), sorted.environments.end(),
            [](const EnvironmentEntry& a, const EnvironmentEntry& b) { return a.key < b.key; });
  std::sort(sorted.runs.begin(), sorted.runs.end(), [](const RunEntry& a, const RunEntry& b) {
    return std::tie(a.run.started_at, a.uid) < std::tie(b.run.started_at, b.uid);
  });
  auto measurement_key = [](const MeasurementEntry& e) {
    return std::make_tuple(e.record.env_key, e.record.problem.canonical(), e.record.kernel_key);
  };
  std::sort(
      sorted.measurements.begin(), sorted.measurements.end(),
      [&](const MeasurementEntry& a, const MeasurementEntry& b) { return measurement_key(a) < measurement_key(b); });

  std::string out;
  const ExportSink sink = [&out](std::string_view piece) {
    out += piece;
    return ok_status();
  };
  ExportWriter writer(sink);
  // Writing into a string cannot fail.
  (void)writer.start();
  for (const auto& e : sorted.environments) (void)writer.environment(e);
  for (const auto& r : sorted.runs) (void)writer.run(r);
  for (const auto& m : sorted.measurements) (void)writer.measurement(m);
  (void)writer.finish();
  return out;
}

bool is_v1_export(std::string_view text) {
  return starts_with(text, kExportHeaderV1) &&
         (text.size() == kExportHeaderV1.size() || text[kExportHeaderV1.size()] == '\n' ||
          text[kExportHeaderV1.size()] == '\r');
}

namespace {

// The counts and checksum of an end line; nullopt when `line` is not a well-formed one.
struct EndLine {
  int64_t environments = -1, runs = -1, measurements = -1;
  std::string sha256;
};

std::optional<EndLine> parse_end_line(std::string_view line) {
  if (!starts_with(line, kEndPrefix)) return std::nullopt;
  std::vector<std::string> words = split(line.substr(kEndPrefix.size()), ' ');
  if (words.size() != 4) return std::nullopt;
  EndLine end;
  auto count = [](const std::string& word, std::string_view name, int64_t& out) {
    if (!starts_with(word, name) || word.size() <= name.size() + 1 || word[name.size()] != '=') return false;
    auto v = parse_int(std::string_view(word).substr(name.size() + 1));
    if (!v.ok() || *v < 0) return false;
    out = *v;
    return true;
  };
  if (!count(words[0], kEnvironmentsSection, end.environments) || !count(words[1], kRunsSection, end.runs) ||
      !count(words[2], kMeasurementsSection, end.measurements) || !starts_with(words[3], "sha256=")) {
    return std::nullopt;
  }
  end.sha256 = words[3].substr(7);
  if (end.sha256.size() != 64 || end.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return std::nullopt;
  }
  return end;
}

}  // namespace

Result<DbContents> parse_export(std::string_view text, const std::string& source) {
  std::vector<std::string> lines = split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final newline
  for (std::string& line : lines) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
  }
  if (lines.empty()) return invalid_argument("{}: empty file, expected '{}' on line 1", source, kExportHeader);
  const bool v1 = lines[0] == kExportHeaderV1;
  if (lines[0] != kExportHeader && !v1) {
    if (starts_with(lines[0], "# gqaforge-db-export ")) {
      return invalid_argument("{}:1: export format '{}' is not supported (this gqaforge reads '{}' and '{}')", source,
                              lines[0].substr(2), kExportHeader.substr(2), kExportHeaderV1.substr(2));
    }
    constexpr size_t kShown = 60;
    return invalid_argument("{}:1: not a gqaforge database export: expected '{}', got '{}'", source, kExportHeader,
                            escape(lines[0].substr(0, kShown)));
  }

  // v2: the last non-blank line must be the end line; without it the file is incomplete.
  size_t end_index = lines.size();  // one past the last line of rows
  std::optional<EndLine> end;
  if (!v1) {
    size_t last = lines.size() - 1;
    while (last > 0 && lines[last].empty()) --last;
    if (!starts_with(lines[last], kEndPrefix)) {
      return data_loss(
          "{}: the export is incomplete: its last line ({}) is not the end line '{}...' that "
          "`gqaforge db export` writes last, so the file was cut short (nothing was imported)",
          source, last + 1, kEndPrefix);
    }
    end = parse_end_line(lines[last]);
    if (!end) {
      return data_loss("{}:{}: the end line '{}' is malformed or cut short (nothing was imported)", source, last + 1,
                       escape(lines[last].substr(0, 200)));
    }
    end_index = last;
  }

  DbContents contents;
  std::string section;
  std::set<std::string> seen_sections;
  std::vector<std::pair<size_t, std::string>> run_refs;  // (line, run_uid) to check at the end
  Sha256 sha;
  sha.update(lines[0]);
  sha.update("\n");
  for (size_t i = 1; i < end_index; ++i) {
    const std::string& line = lines[i];
    const std::string where = fmt::format("{}:{}", source, i + 1);
    if (line.empty()) continue;
    sha.update(line);
    sha.update("\n");
    if (line[0] == '#') {
      return invalid_argument(
          "{}: unexpected line '{}' (only the first line{} starts with '#'; a row starting "
          "with '#' is written as '\\#')",
          where, escape(line.substr(0, 60)), v1 ? "" : " and the end line");
    }
    if (line[0] == '@') {
      const size_t tab = line.find('\t');
      const std::string name = line.substr(1, tab == std::string::npos ? std::string::npos : tab - 1);
      std::string expected;
      if (name == kEnvironmentsSection) expected = section_header(kEnvironmentsSection, environment_columns(!v1));
      if (name == kRunsSection) expected = section_header(kRunsSection, run_columns());
      if (name == kMeasurementsSection) expected = section_header(kMeasurementsSection, measurement_columns());
      if (expected.empty()) {
        return invalid_argument("{}: unknown section '{}' (expected environments, tune_runs or measurements)", where,
                                escape(name));
      }
      if (line != expected) {
        return invalid_argument("{}: the columns of section '{}' are '{}', expected '{}'", where, name, escape(line),
                                escape(expected));
      }
      if (!seen_sections.insert(name).second) return invalid_argument("{}: section '{}' appears twice", where, name);
      section = name;
      continue;
    }
    if (section.empty()) {
      return invalid_argument("{}: data before the first section header: '{}'", where, escape(line.substr(0, 60)));
    }
    if (section == kEnvironmentsSection) {
      GQF_ASSIGN_OR_RETURN(EnvironmentEntry e, parse_row(line, section, environment_columns(!v1), where));
      GQF_RETURN_IF_ERROR_CTX(check_entry(e), where);
      contents.environments.push_back(std::move(e));
    } else if (section == kRunsSection) {
      GQF_ASSIGN_OR_RETURN(RunEntry r, parse_row(line, section, run_columns(), where));
      GQF_RETURN_IF_ERROR_CTX(check_entry(r), where);
      contents.runs.push_back(std::move(r));
    } else {
      GQF_ASSIGN_OR_RETURN(MeasurementEntry m, parse_row(line, section, measurement_columns(), where));
      GQF_RETURN_IF_ERROR_CTX(check_entry(m), where);
      if (!m.run_uid.empty()) run_refs.emplace_back(i + 1, m.run_uid);
      contents.measurements.push_back(std::move(m));
    }
  }
  std::set<std::string> uids;
  for (const RunEntry& r : contents.runs) uids.insert(r.uid);
  for (const auto& [line, uid] : run_refs) {
    if (uids.count(uid) == 0) {
      return invalid_argument("{}:{}: column 'run_uid': run '{}' is not in the tune_runs section", source, line,
                              escape(uid));
    }
  }
  if (end) {
    const size_t line = end_index + 1;
    const std::pair<const char*, std::pair<int64_t, size_t>> counts[] = {
        {"environments", {end->environments, contents.environments.size()}},
        {"tune_runs", {end->runs, contents.runs.size()}},
        {"measurements", {end->measurements, contents.measurements.size()}}};
    for (const auto& [name, c] : counts) {
      if (c.first != static_cast<int64_t>(c.second)) {
        return data_loss(
            "{}:{}: the end line counts {} {} rows, but the file holds {}: rows are missing or "
            "were added (nothing was imported)",
            source, line, c.first, name, c.second);
      }
    }
    const std::string digest = to_hex(sha.digest().data(), 32);
    if (digest != end->sha256) {
      return data_loss(
          "{}:{}: checksum mismatch: the lines above the end line hash to sha256 {}, the end "
          "line says {}; the file was damaged or edited after `gqaforge db export` wrote it "
          "(nothing was imported)",
          source, line, digest, end->sha256);
    }
  }
  return contents;
}

Status write_export(Database& db, const ExportSink& sink) {
  ExportWriter writer(sink);
  GQF_RETURN_IF_ERROR(writer.start());
  ContentVisitor visitor;
  visitor.environment = [&](const EnvironmentEntry& e) { return writer.environment(e); };
  visitor.run = [&](const RunEntry& r) { return writer.run(r); };
  visitor.measurement = [&](const MeasurementEntry& m) { return writer.measurement(m); };
  GQF_RETURN_IF_ERROR(db.scan(visitor));
  return writer.finish();
}

Result<std::string> export_database(Database& db) {
  std::string out;
  GQF_RETURN_IF_ERROR(write_export(db, [&out](std::string_view piece) {
    out += piece;
    return ok_status();
  }));
  return out;
}

Result<MergeStats> import_text(Database& db, std::string_view text, const std::string& source) {
  GQF_ASSIGN_OR_RETURN(DbContents contents, parse_export(text, source));
  return db.merge(std::span<const DbContents>(&contents, 1));
}

}  // namespace gqaforge::db
