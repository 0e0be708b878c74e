// Tests of the text export format: exact round trips, determinism, merging imports, and
// malformed input (line number in the message, database unchanged).
#include "db/export.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/sha256.h"
#include "core/strings.h"
#include "tests/db/test_util.h"

namespace gqaforge {
namespace {

using testing::decode_problem;
using testing::sample_env;
using testing::sample_measurement;

std::unique_ptr<Database> memory_db() {
  auto db = Database::open(":memory:");
  EXPECT_TRUE(db.ok()) << db.status().to_string();
  return std::move(db).value();
}

// A database with awkward strings and doubles in every kind of field.
std::unique_ptr<Database> tricky_db() {
  auto db = memory_db();
  Environment env = sample_env("@NVIDIA\tH200 \"quoted\"\n", 132);
  env.host = "#host\\with\\backslashes\r";
  env.memory_bytes = std::numeric_limits<int64_t>::max();
  env.gpu_uuid = "ctrl\x01inside";
  TuneRunRecord run;
  run.command_line = "gqaforge tune --heads 32:8\t--note 'a\nb'";
  run.strategy = "grid";
  const int64_t run_id = db->begin_run(env, run);
  ProblemRecord linear;
  linear.family = "linear";
  linear.dtype = "bf16";
  linear.gemm_m = 4096;
  linear.gemm_n = 14336;
  linear.gemm_k = 4096;
  const double values[] = {0.1,
                           1.0 / 3.0,
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::max(),
                           -1.5e-10,
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::nan(""),
                           123456789.123456789,
                           0};
  int i = 0;
  for (double v : values) {
    MeasurementRecord m = sample_measurement(env.key(), i % 2 == 0 ? decode_problem() : linear,
                                             fmt::format("@kernel-{}", i), v);
    m.max_error = v;
    m.tflops = -v;
    m.message = fmt::format("line one\nline\ttwo \\ {} é", i);
    m.config = "#cfg=" + std::to_string(i);
    // An ok row needs a finite positive time (check_entry); the other values go on failed rows.
    const bool timing = std::isfinite(v) && v > 0;
    m.status = !timing || i == 3 ? MeasureStatus::kLaunchFailed : MeasureStatus::kOk;
    m.is_best = i == 2;
    m.run_id = i < 5 ? run_id : 0;
    m.registers = std::numeric_limits<int>::max();
    m.spill_bytes = std::numeric_limits<int>::min();
    db->record(m);
    ++i;
  }
  EXPECT_TRUE(db->sink_status().ok()) << db->sink_status().to_string();
  return db;
}

TEST(ExportTest, RoundTripIsExact) {
  auto a = tricky_db();
  auto text = export_database(*a);
  ASSERT_TRUE(text.ok()) << text.status().to_string();
  EXPECT_TRUE(starts_with(*text, "# gqaforge-db-export v2\n@environments\tkey\t"));
  EXPECT_EQ(text->back(), '\n');
  // The end line counts the rows and hashes every line above it.
  const size_t end = text->rfind('\n', text->size() - 2) + 1;
  EXPECT_EQ(text->substr(end, text->size() - end - 1),
            "# end environments=1 tune_runs=1 measurements=10 sha256=" +
                sha256_hex(text->substr(0, end)));

  // Text -> contents -> text is the identity.
  auto parsed = parse_export(*text, "a.tsv");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(format_export(*parsed), *text);

  // Database -> text -> another database -> text is the identity, field by field too.
  auto b = memory_db();
  auto stats = import_text(*b, *text, "a.tsv");
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->environments_added, 1);
  EXPECT_EQ(stats->runs_added, 1);
  EXPECT_EQ(stats->measurements_added, 10);
  EXPECT_EQ(*export_database(*b), *text);
  auto rows_a = *a->measurements({});
  auto rows_b = *b->measurements({});
  ASSERT_EQ(rows_a.size(), rows_b.size());
  for (size_t i = 0; i < rows_a.size(); ++i) testing::expect_same_measurement(rows_a[i], rows_b[i]);
  EXPECT_EQ(a->environments()->at(0).gpu_name, b->environments()->at(0).gpu_name);
  EXPECT_EQ(a->environments()->at(0).gpu_uuid, b->environments()->at(0).gpu_uuid);
  EXPECT_EQ(a->runs()->at(0).command_line, b->runs()->at(0).command_line);
  // Run references survive although ids are file-local.
  for (const auto& m : rows_b) {
    if (m.kernel_key < "@kernel-5") {
      EXPECT_EQ(m.run_id, b->runs()->at(0).id) << m.kernel_key;
    } else {
      EXPECT_EQ(m.run_id, 0) << m.kernel_key;
    }
  }
}

TEST(ExportTest, OutputIsSortedAndIndependentOfInsertionOrder) {
  auto forward = memory_db();
  auto backward = memory_db();
  std::vector<MeasurementRecord> rows;
  for (int q : {8, 32, 16}) {
    for (const char* key : {"kb", "ka", "kc"})
      rows.push_back(sample_measurement("env", decode_problem(q, 8), key, q));
  }
  for (const auto& m : rows) ASSERT_TRUE(forward->add_measurement(m).ok());
  for (auto it = rows.rbegin(); it != rows.rend(); ++it)
    ASSERT_TRUE(backward->add_measurement(*it).ok());
  const std::string text = *export_database(*forward);
  EXPECT_EQ(*export_database(*backward), text);
  std::vector<std::string> lines = split(text, '\n');
  ASSERT_EQ(lines.size(), 1 + 3 + 9 + 1 + 1u);  // header, 3 sections, 9 rows, end, final empty
  std::vector<std::string> data(lines.begin() + 4, lines.end() - 2);
  EXPECT_TRUE(
      std::is_sorted(data.begin(), data.end(), [](const std::string& x, const std::string& y) {
        // Rows sort by the canonical problem text, then kernel key.
        auto key = [](const std::string& line) {
          auto f = split(line, '\t');
          return f[0] + "|" + f[2] + "|" + f[13];
        };
        return key(x) < key(y);
      }));
}

TEST(ExportTest, RowsStartingWithAtOrHashAreEscaped) {
  auto db = memory_db();
  ASSERT_TRUE(db->add_measurement(sample_measurement("@env", decode_problem(), "k", 1)).ok());
  ASSERT_TRUE(db->add_measurement(sample_measurement("#env", decode_problem(), "k", 2)).ok());
  const std::string text = *export_database(*db);
  EXPECT_NE(text.find("\n\\#env\t"), std::string::npos) << text;
  EXPECT_NE(text.find("\n\\@env\t"), std::string::npos) << text;
  auto copy = memory_db();
  ASSERT_TRUE(import_text(*copy, text, "t").ok());
  auto rows = *copy->measurements({});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].env_key, "#env");
  EXPECT_EQ(rows[1].env_key, "@env");
}

TEST(ExportTest, ImportMergesWithoutDuplicates) {
  auto source = tricky_db();
  const std::string text = *export_database(*source);
  auto target = memory_db();
  // The target already has rows of its own.
  ASSERT_TRUE(
      target->add_measurement(sample_measurement("other-env", decode_problem(), "mine", 3)).ok());
  ASSERT_TRUE(import_text(*target, text, "x").ok());
  auto again = import_text(*target, text, "x");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->environments_added, 0);
  EXPECT_EQ(again->runs_added, 0);
  EXPECT_EQ(again->measurements_added, 0);
  auto info = target->info();
  EXPECT_EQ(info->measurements, 11);
  EXPECT_EQ(info->runs, 1);
  EXPECT_EQ(info->environments, 1);
}

TEST(ExportTest, ImportToleratesBlankLinesAndCrlf) {
  auto source = tricky_db();
  const std::string text = *export_database(*source);
  std::string crlf;
  for (const std::string& line : split(text, '\n')) {
    if (!line.empty()) crlf += line + "\r\n\r\n";
  }
  auto target = memory_db();
  ASSERT_TRUE(import_text(*target, crlf, "crlf.tsv").ok());
  EXPECT_EQ(*export_database(*target), text);
}

// Replaces line `number` (1-based) of `text` with `replacement`.
std::string replace_line(const std::string& text, size_t number, const std::string& replacement) {
  std::vector<std::string> lines = split(text, '\n');
  lines.at(number - 1) = replacement;
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) out += (i == 0 ? "" : "\n") + lines[i];
  return out;
}

// Replaces field `field` of line `number`.
std::string replace_field(const std::string& text, size_t number, size_t field,
                          const std::string& value) {
  std::vector<std::string> fields = split(split(text, '\n').at(number - 1), '\t');
  fields.at(field) = value;
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i == 0 ? "" : "\t") + fields[i];
  return replace_line(text, number, line);
}

TEST(ExportTest, MalformedImportNamesTheLineAndLeavesTheDatabaseUnchanged) {
  auto source = tricky_db();
  const std::string good = *export_database(*source);
  // Line layout: 1 header, 2 @environments, 3 env row, 4 @tune_runs, 5 run row,
  // 6 @measurements, 7.. measurement rows (the last one is line 16).
  ASSERT_TRUE(starts_with(split(good, '\n')[5], "@measurements"));
  struct Case {
    std::string text;
    std::string expected;  // substring of the error
  };
  const std::vector<Case> cases = {
      {"", "empty file"},
      {replace_line(good, 1, "id,name"), "bad.tsv:1: not a gqaforge database export"},
      {replace_line(good, 1, "# gqaforge-db-export v7"),
       "bad.tsv:1: export format 'gqaforge-db-export v7'"},
      {replace_line(good, 4, "@tune_runz\tuid"), "bad.tsv:4: unknown section 'tune_runz'"},
      {replace_field(good, 6, 3, "n_kv"), "bad.tsv:6: the columns of section 'measurements'"},
      {replace_line(good, 6, split(good, '\n')[1]),
       "bad.tsv:6: section 'environments' appears twice"},
      {replace_field(good, 16, 17, "12x"), "bad.tsv:16: column 'median_us': '12x' is not a number"},
      {replace_field(good, 16, 2, "99999999999"),
       "bad.tsv:16: column 'n_q_heads': integer '99999999999' is out"},
      {replace_field(good, 16, 2, " 32"),
       "bad.tsv:16: column 'n_q_heads': ' 32' is not an integer"},
      {replace_field(good, 16, 15, "fast"),
       "bad.tsv:16: column 'status': 'fast' is not a measurement status"},
      {replace_field(good, 16, 29, "yes"), "bad.tsv:16: column 'is_best': 'yes' is not 0 or 1"},
      {replace_field(good, 16, 16, "bad\\qescape"),
       "bad.tsv:16: column 'message': 'bad\\qescape' has an unknown "
       "escape '\\q'"},
      {replace_field(good, 16, 13, ""), "bad.tsv:16: column 'kernel_key' is empty"},
      {replace_field(good, 8, 31, "feedbeef"),
       "bad.tsv:8: column 'run_uid': run 'feedbeef' is not in the tune_runs"},
      {replace_line(good, 16, "too\tfew\tfields"),
       "bad.tsv:16: a measurements row needs 32 tab-separated fields, "
       "this line has 3"},
      {replace_field(good, 3, 3, "many"), "bad.tsv:3: column 'sm_count': 'many' is not an integer"},
      {replace_field(good, 5, 0, ""), "bad.tsv:5: run uid is empty"},
      {replace_line(good, 2, "stray\tdata"), "bad.tsv:2: data before the first section header"},
  };
  auto target = tricky_db();
  const std::string before = *export_database(*target);
  for (const Case& c : cases) {
    auto stats = import_text(*target, c.text, "bad.tsv");
    ASSERT_FALSE(stats.ok()) << "accepted: " << c.expected;
    EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(stats.status().message().find(c.expected), std::string::npos)
        << "message: " << stats.status().message() << "\nexpected: " << c.expected;
    EXPECT_EQ(*export_database(*target), before) << c.expected;
  }
}

TEST(ExportTest, AFailureWhileApplyingRollsBackEverything) {
  auto source = tricky_db();
  auto contents = source->contents();
  ASSERT_TRUE(contents.ok());
  contents->measurements.back().record.kernel_key = "";  // only merge's own validation sees this
  auto target = memory_db();
  ASSERT_TRUE(target->add_measurement(sample_measurement("e", decode_problem(), "keep", 1)).ok());
  const std::string before = *export_database(*target);
  auto stats = target->merge(std::span<const DbContents>(&*contents, 1));
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("column 'kernel_key' is empty"), std::string::npos)
      << stats.status().message();
  // Checked before anything is written: not even the environment, run and 9 rows before it.
  EXPECT_EQ(*export_database(*target), before);
}

}  // namespace
}  // namespace gqaforge
