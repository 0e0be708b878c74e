// Export/import of the measurement database as sorted, line-oriented, TAB-separated text.
// Each table is described once as a list of columns (name + how to format/parse the field),
// and the writer and the parser both walk that list, so they cannot disagree.
#include "db/export.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <set>
#include <tuple>
#include <type_traits>

#include "core/strings.h"

namespace gqaforge {
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
  if (ec == std::errc::result_out_of_range)
    return invalid_argument("integer '{}' is out of range", text);
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

const std::vector<Column<EnvironmentEntry>>& environment_columns() {
  using R = EnvironmentEntry;
  static const std::vector<Column<R>> cols = {
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
  return cols;
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
void write_section(std::string& out, std::string_view name, const std::vector<Column<Row>>& cols,
                   const std::vector<Row>& rows) {
  out += section_header(name, cols) + "\n";
  for (const Row& row : rows) {
    for (size_t i = 0; i < cols.size(); ++i) {
      std::string field = cols[i].format(row);
      if (i > 0) {
        out += '\t';
      } else if (!field.empty() && (field[0] == '@' || field[0] == '#')) {
        out += '\\';  // a row must never look like a section header or the file header
      }
      out += field;
    }
    out += '\n';
  }
}

// Parses one data line into a row; errors name the line and the column.
template <typename Row>
Result<Row> parse_row(std::string_view line, std::string_view section,
                      const std::vector<Column<Row>>& cols, const std::string& where) {
  std::vector<std::string> fields = split(line, '\t');
  if (fields.size() != cols.size()) {
    return invalid_argument("{}: a {} row needs {} tab-separated fields, this line has {}", where,
                            section, cols.size(), fields.size());
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
  std::sort(sorted.measurements.begin(), sorted.measurements.end(),
            [&](const MeasurementEntry& a, const MeasurementEntry& b) {
              return measurement_key(a) < measurement_key(b);
            });

  std::string out = std::string(kExportHeader) + "\n";
  write_section(out, kEnvironmentsSection, environment_columns(), sorted.environments);
  write_section(out, kRunsSection, run_columns(), sorted.runs);
  write_section(out, kMeasurementsSection, measurement_columns(), sorted.measurements);
  return out;
}

Result<DbContents> parse_export(std::string_view text, const std::string& source) {
  std::vector<std::string> lines = split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final newline
  for (std::string& line : lines) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
  }
  if (lines.empty())
    return invalid_argument("{}: empty file, expected '{}' on line 1", source, kExportHeader);
  if (lines[0] != kExportHeader) {
    if (starts_with(lines[0], "# gqaforge-db-export ")) {
      return invalid_argument(
          "{}:1: export format '{}' is not supported (this gqaforge reads '{}')", source,
          lines[0].substr(2), kExportHeader.substr(2));
    }
    constexpr size_t kShown = 60;
    return invalid_argument("{}:1: not a gqaforge database export: expected '{}', got '{}'", source,
                            kExportHeader, escape(lines[0].substr(0, kShown)));
  }

  DbContents contents;
  std::string section;
  std::set<std::string> seen_sections;
  std::vector<std::pair<size_t, std::string>> run_refs;  // (line, run_uid) to check at the end
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::string where = fmt::format("{}:{}", source, i + 1);
    if (line.empty()) continue;
    if (line[0] == '@') {
      const size_t tab = line.find('\t');
      const std::string name =
          line.substr(1, tab == std::string::npos ? std::string::npos : tab - 1);
      std::string expected;
      if (name == kEnvironmentsSection)
        expected = section_header(kEnvironmentsSection, environment_columns());
      if (name == kRunsSection) expected = section_header(kRunsSection, run_columns());
      if (name == kMeasurementsSection)
        expected = section_header(kMeasurementsSection, measurement_columns());
      if (expected.empty()) {
        return invalid_argument(
            "{}: unknown section '{}' (expected environments, tune_runs or measurements)", where,
            escape(name));
      }
      if (line != expected) {
        return invalid_argument("{}: the columns of section '{}' are '{}', expected '{}'", where,
                                name, escape(line), escape(expected));
      }
      if (!seen_sections.insert(name).second)
        return invalid_argument("{}: section '{}' appears twice", where, name);
      section = name;
      continue;
    }
    if (section.empty()) {
      return invalid_argument("{}: data before the first section header: '{}'", where,
                              escape(line.substr(0, 60)));
    }
    if (section == kEnvironmentsSection) {
      GQF_ASSIGN_OR_RETURN(EnvironmentEntry e,
                           parse_row(line, section, environment_columns(), where));
      if (e.key.empty()) return invalid_argument("{}: environment key is empty", where);
      contents.environments.push_back(std::move(e));
    } else if (section == kRunsSection) {
      GQF_ASSIGN_OR_RETURN(RunEntry r, parse_row(line, section, run_columns(), where));
      if (r.uid.empty()) return invalid_argument("{}: run uid is empty", where);
      contents.runs.push_back(std::move(r));
    } else {
      GQF_ASSIGN_OR_RETURN(MeasurementEntry m,
                           parse_row(line, section, measurement_columns(), where));
      if (m.record.env_key.empty()) return invalid_argument("{}: column 'env_key' is empty", where);
      if (m.record.kernel_key.empty())
        return invalid_argument("{}: column 'kernel_key' is empty", where);
      if (m.record.problem.family.empty())
        return invalid_argument("{}: column 'family' is empty", where);
      if (!m.run_uid.empty()) run_refs.emplace_back(i + 1, m.run_uid);
      contents.measurements.push_back(std::move(m));
    }
  }
  std::set<std::string> uids;
  for (const RunEntry& r : contents.runs) uids.insert(r.uid);
  for (const auto& [line, uid] : run_refs) {
    if (uids.count(uid) == 0) {
      return invalid_argument("{}:{}: column 'run_uid': run '{}' is not in the tune_runs section",
                              source, line, escape(uid));
    }
  }
  return contents;
}

Result<std::string> export_database(Database& db) {
  GQF_ASSIGN_OR_RETURN(DbContents contents, db.contents());
  return format_export(contents);
}

Result<MergeStats> import_text(Database& db, std::string_view text, const std::string& source) {
  GQF_ASSIGN_OR_RETURN(DbContents contents, parse_export(text, source));
  return db.merge(std::span<const DbContents>(&contents, 1));
}

}  // namespace gqaforge
