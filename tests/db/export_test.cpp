// Tests of the text export format: exact round trips, determinism, merging imports, and
// malformed input (line number in the message, database unchanged).
#include "db/export.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/sha256.h"
#include "core/strings.h"
#include "tests/db/test_util.h"

namespace gqaforge::db {
namespace {

using testing::decode_problem;
using testing::memory_db;
using testing::sample_env;
using testing::sample_measurement;

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
    MeasurementRecord m =
        sample_measurement(env.key(), i % 2 == 0 ? decode_problem() : linear, fmt::format("@kernel-{}", i), v);
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
            "# end environments=1 tune_runs=1 measurements=10 sha256=" + sha256_hex(text->substr(0, end)));

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
    for (const char* key : {"kb", "ka", "kc"}) rows.push_back(sample_measurement("env", decode_problem(q, 8), key, q));
  }
  for (const auto& m : rows) ASSERT_TRUE(forward->add_measurement(m).ok());
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) ASSERT_TRUE(backward->add_measurement(*it).ok());
  const std::string text = *export_database(*forward);
  EXPECT_EQ(*export_database(*backward), text);
  std::vector<std::string> lines = split(text, '\n');
  ASSERT_EQ(lines.size(), 1 + 3 + 9 + 1 + 1u);  // header, 3 sections, 9 rows, end, final empty
  std::vector<std::string> data(lines.begin() + 4, lines.end() - 2);
  EXPECT_TRUE(std::is_sorted(data.begin(), data.end(), [](const std::string& x, const std::string& y) {
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
  ASSERT_TRUE(target->add_measurement(sample_measurement("other-env", decode_problem(), "mine", 3)).ok());
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
std::string replace_field(const std::string& text, size_t number, size_t field, const std::string& value) {
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
      {replace_line(good, 1, "# gqaforge-db-export v7"), "bad.tsv:1: export format 'gqaforge-db-export v7'"},
      {replace_line(good, 4, "@tune_runz\tuid"), "bad.tsv:4: unknown section 'tune_runz'"},
      {replace_field(good, 6, 3, "n_kv"), "bad.tsv:6: the columns of section 'measurements'"},
      {replace_line(good, 6, split(good, '\n')[1]), "bad.tsv:6: section 'environments' appears twice"},
      {replace_field(good, 16, 17, "12x"), "bad.tsv:16: column 'median_us': '12x' is not a number"},
      {replace_field(good, 16, 2, "99999999999"), "bad.tsv:16: column 'n_q_heads': integer '99999999999' is out"},
      {replace_field(good, 16, 2, " 32"), "bad.tsv:16: column 'n_q_heads': ' 32' is not an integer"},
      {replace_field(good, 16, 15, "fast"), "bad.tsv:16: column 'status': 'fast' is not a measurement status"},
      {replace_field(good, 16, 29, "yes"), "bad.tsv:16: column 'is_best': 'yes' is not 0 or 1"},
      {replace_field(good, 16, 16, "bad\\qescape"),
       "bad.tsv:16: column 'message': 'bad\\qescape' has an unknown "
       "escape '\\q'"},
      {replace_field(good, 16, 13, ""), "bad.tsv:16: column 'kernel_key' is empty"},
      {replace_field(good, 8, 31, "feedbeef"), "bad.tsv:8: column 'run_uid': run 'feedbeef' is not in the tune_runs"},
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

TEST(ExportTest, TheExportIsStreamedInBoundedPieces) {
  auto db = memory_db();
  DbContents c;
  const Environment env = sample_env();
  c.environments.push_back({env.key(), env});
  for (int i = 0; i < 3000; ++i) {
    c.measurements.push_back({"", sample_measurement(env.key(), decode_problem(), fmt::format("k{:05}", i), 1.0 + i)});
  }
  ASSERT_TRUE(db->merge(std::span<const DbContents>(&c, 1)).ok());
  std::string streamed;
  size_t pieces = 0, largest = 0;
  Status s = write_export(*db, [&](std::string_view piece) {
    ++pieces;
    largest = std::max(largest, piece.size());
    streamed += piece;
    return ok_status();
  });
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_GT(streamed.size(), 500'000u);
  EXPECT_GT(pieces, 5u);
  EXPECT_LT(largest, 64u * 1024 + 4096);  // a chunk plus at most one row
  EXPECT_EQ(streamed, *export_database(*db));
  EXPECT_EQ(streamed, format_export(*db->contents()));
  // A sink error stops the export and is returned.
  s = write_export(*db, [](std::string_view) { return unavailable("disk full"); });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "disk full");
}

TEST(ExportTest, AnExportCutAnywhereOrEditedIsRefused) {
  auto source = tricky_db();
  const std::string good = *export_database(*source);
  auto target = tricky_db();
  const std::string before = *export_database(*target);
  ASSERT_TRUE(import_text(*memory_db(), good, "good.tsv").ok());
  // Every cut: at each byte, line boundaries included, up to the last byte of the end line.
  for (size_t size = 0; size + 1 < good.size(); ++size) {
    auto stats = import_text(*target, good.substr(0, size), "cut.tsv");
    ASSERT_FALSE(stats.ok()) << "accepted the first " << size << " of " << good.size() << " bytes";
  }
  std::vector<std::string> lines = split(good, '\n');  // ..., end line, ""
  const size_t end_line = lines.size() - 1;            // 1-based number of the end line
  auto join = [](const std::vector<std::string>& ls) {
    std::string out;
    for (size_t i = 0; i + 1 < ls.size(); ++i) out += ls[i] + "\n";
    return out;
  };
  std::vector<std::string> cut_at_line(lines.begin(), lines.begin() + 12);
  cut_at_line.push_back("");
  std::vector<std::string> dropped = lines;
  dropped.erase(dropped.begin() + 9);  // a measurement row
  std::vector<std::string> doubled = lines;
  doubled.insert(doubled.begin() + 9, lines[8]);
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> data_loss_cases = {
      {join(cut_at_line), "cut.tsv: the export is incomplete: its last line (12) is not the end"},
      {join(dropped), fmt::format("cut.tsv:{}: the end line counts 10 measurements rows, but the "
                                  "file holds 9",
                                  end_line - 1)},
      {join(doubled), "the end line counts 10 measurements rows, but the file holds 11"},
      {replace_field(good, 9, 18, "0.25"), fmt::format("cut.tsv:{}: checksum mismatch", end_line)},
      {replace_line(good, end_line, "# end environments=1 tune_runs=1"),
       fmt::format("cut.tsv:{}: the end line '# end environments=1 tune_runs=1' is malformed", end_line)},
  };
  for (const Case& c : data_loss_cases) {
    auto stats = import_text(*target, c.text, "cut.tsv");
    ASSERT_FALSE(stats.ok()) << "accepted: " << c.expected;
    EXPECT_EQ(stats.status().code(), StatusCode::kDataLoss) << stats.status().to_string();
    EXPECT_NE(stats.status().message().find(c.expected), std::string::npos)
        << "message: " << stats.status().message() << "\nexpected: " << c.expected;
  }
  EXPECT_EQ(*export_database(*target), before);

  // Version 1: no end line, accepted when the first line says v1; a v3 file is not read.
  std::vector<std::string> v1 = testing::as_v1_lines(lines);
  v1.push_back("");  // the final newline
  EXPECT_TRUE(is_v1_export(join(v1)));
  auto copy = memory_db();
  auto stats = import_text(*copy, join(v1), "v1.tsv");
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->measurements_added, 10);
  EXPECT_EQ(*export_database(*copy), good);  // written back as v2
  auto v3 = import_text(*copy, replace_line(good, 1, "# gqaforge-db-export v3"), "v3.tsv");
  ASSERT_FALSE(v3.ok());
  EXPECT_NE(v3.status().message().find("v3.tsv:1: export format 'gqaforge-db-export v3' is not "
                                       "supported"),
            std::string::npos)
      << v3.status().message();
  auto comment = import_text(*copy, replace_line(good, 4, "# a note"), "c.tsv");
  ASSERT_FALSE(comment.ok());
  EXPECT_NE(comment.status().message().find("c.tsv:4: unexpected line '# a note'"), std::string::npos)
      << comment.status().message();
}

TEST(ExportTest, ImportChecksTheValuesOfEveryRow) {
  auto source = tricky_db();
  const std::string good = *export_database(*source);
  // Find an ok row and a failed row (lines 7..16 are measurements).
  size_t ok_line = 0, failed_line = 0;
  for (size_t n = 7; n <= 16; ++n) {
    const std::string status = split(split(good, '\n')[n - 1], '\t')[15];
    if (status == "ok" && ok_line == 0) ok_line = n;
    if (status != "ok" && failed_line == 0) failed_line = n;
  }
  ASSERT_NE(ok_line, 0u);
  ASSERT_NE(failed_line, 0u);
  struct Case {
    size_t line, field;
    std::string value, expected;
  };
  const std::vector<Case> cases = {
      {ok_line, 17, "nan", "column 'median_us': nan on an ok row"},
      {ok_line, 17, "inf", "column 'median_us': inf on an ok row"},
      {ok_line, 17, "-inf", "column 'median_us': -inf on an ok row"},
      {ok_line, 17, "-1", "column 'median_us': -1 on an ok row"},
      {ok_line, 17, "0", "column 'median_us': 0 on an ok row"},
      {ok_line, 18, "nan", "column 'min_us': nan on an ok row"},
      {ok_line, 18, "1e300", "column 'min_us': 1e+300 is larger than median_us"},
      {ok_line, 19, "-0.5", "column 'stddev_us': -0.5 on an ok row"},
      {ok_line, 19, "nan", "column 'stddev_us': nan on an ok row"},
      {ok_line, 20, "0", "column 'repetitions': 0 on an ok row"},
      {ok_line, 20, "-1", "column 'repetitions': -1 is negative"},
      {failed_line, 20, "-7", "column 'repetitions': -7 is negative"},
      {failed_line, 29, "1", "column 'is_best': set on a 'launch_failed' row"},
      {ok_line, 30, "", "column 'measured_at' is empty"},
      {ok_line, 16, "x\\0y", "column 'message': 'x\\0y' contains a NUL byte"},
      {ok_line, 14, "cfg\\0", "column 'config': 'cfg\\0' contains a NUL byte"},
      {3, 2, "GPU\\0", "column 'gpu_uuid': 'GPU\\0' contains a NUL byte"},
      {5, 2, "cmd\\0line", "column 'command_line': 'cmd\\0line' contains a NUL byte"},
  };
  auto target = tricky_db();
  const std::string before = *export_database(*target);
  for (const Case& c : cases) {
    auto stats = import_text(*target, replace_field(good, c.line, c.field, c.value), "bad.tsv");
    ASSERT_FALSE(stats.ok()) << "accepted: " << c.expected;
    EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
    const std::string expected = fmt::format("bad.tsv:{}: {}", c.line, c.expected);
    EXPECT_NE(stats.status().message().find(expected), std::string::npos)
        << "message: " << stats.status().message() << "\nexpected: " << expected;
  }
  EXPECT_EQ(*export_database(*target), before);
  // Failed rows carry no timing: their nan/inf/negative values are kept as they are.
  ASSERT_TRUE(import_text(*memory_db(), good, "good.tsv").ok());
}

}  // namespace
}  // namespace gqaforge::db
