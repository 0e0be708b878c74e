// `gqaforge tune` through the built binary: bad input exits 2 with one error line naming the
// value and writes nothing; a synthetic sweep records rows, marks one best per problem, and a
// second run of the same command resumes without measuring again.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "db/database.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::tune {
namespace {

using testing::ScratchDir;

struct CliResult {
  int rc = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs `gqaforge SUBCOMMAND ARGS` in `dir`.
CliResult run_gqaforge(const ScratchDir& dir, const std::string& subcommand, const std::string& args) {
  const std::string binary = GQAFORGE_BINARY_DIR "/tools/gqaforge";
  EXPECT_TRUE(std::filesystem::exists(binary)) << binary << " was not built";
  const std::string out = dir.file("cli.stdout"), err = dir.file("cli.stderr");
  const std::string command = fmt::format("cd {} && GQAFORGE_DB= {} {} {} >{} 2>{}", dir.path().string(), binary,
                                          subcommand, args, out, err);
  const int status = std::system(command.c_str());
  CliResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

CliResult run_cli(const ScratchDir& dir, const std::string& args) { return run_gqaforge(dir, "tune", args); }

TEST(TuneCli, BadInputExitsTwoNamingTheValueAndWritesNothing) {
  ScratchDir dir;
  const std::string db = dir.file("t.sqlite");
  struct Case {
    std::string args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"--strategy annealing", "'annealing'"},
      {"--shard 3/2", "'3/2'"},
      {"--budget -1", "'-1'"},
      {"--heads 32:5", "'32:5'"},
      {"--head-dim 80", "80"},
      {"--kv-len 4q", "'4q'"},
      {"--time-budget soon", "'soon'"},
      {"--repetitions 0", "--repetitions 0"},
      {"--phase sideways", "sideways"},
      {"--backend tpu", "'tpu'"},
      {"--synthetic-faults crash=2", "crash"},
      {"--linear --gemm 16x4096", "'16x4096'"},
      {"--linear", "--model"},
      {"--no-such-flag", "--no-such-flag"},
  };
  for (const Case& c : cases) {
    // A flag may be given once: a case naming its own --backend replaces the synthetic one.
    const std::string backend = c.args.rfind("--backend", 0) == 0 ? "" : "--backend synthetic ";
    CliResult r = run_cli(dir, backend + "--db " + db + " " + c.args);
    EXPECT_EQ(r.rc, 2) << c.args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("gqaforge: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.args << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(db)) << c.args << " created the database";
  }
}

TEST(TuneCli, BadInputLeavesAnExistingDatabaseByteIdentical) {
  ScratchDir dir;
  const std::string db = dir.file("t.sqlite");
  CliResult first = run_cli(dir, "--backend synthetic --quiet --strategy random --budget 5 --db " + db);
  ASSERT_EQ(first.rc, 0) << first.err;
  const std::string before = slurp(db);
  CliResult bad = run_cli(dir, "--backend synthetic --db " + db + " --heads 32:5");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_EQ(slurp(db), before);
}

TEST(TuneCli, SyntheticSweepRecordsAndResumes) {
  ScratchDir dir;
  const std::string db = dir.file("t.sqlite");
  const std::string args = "--backend synthetic --quiet --phase decode,prefill --heads 8:1,16:2 --batch 1 "
                           "--kv-len 4k --strategy random --budget 12 --synthetic-faults wrong_result=0.1 --db " + db;
  CliResult r = run_cli(dir, args);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("decode 8:1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vs default"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TFLOP/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TB/s"), std::string::npos) << r.out;

  auto opened = Database::open(db, OpenMode::kReadOnly);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  auto rows = (*opened)->measurements(MeasurementFilter{});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 4u * 12u);
  std::map<std::string, int> best_per_problem;
  int wrong = 0;
  for (const MeasurementRecord& m : *rows) {
    if (m.is_best) ++best_per_problem[m.problem.canonical()];
    if (m.status == MeasureStatus::kWrongResult) ++wrong;
    EXPECT_NE(m.run_id, 0);
  }
  EXPECT_EQ(best_per_problem.size(), 4u);
  for (const auto& [p, n] : best_per_problem) EXPECT_EQ(n, 1) << p;
  EXPECT_GT(wrong, 0);
  auto runs = (*opened)->runs();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_FALSE(runs->front().finished_at.empty());
  EXPECT_EQ(runs->front().strategy, "random");
  opened->reset();

  CliResult again = run_cli(dir, args);
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.out.find("0+12"), std::string::npos) << again.out;  // 0 tried, 12 skipped
  auto reopened = Database::open(db, OpenMode::kReadOnly);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->measurements(MeasurementFilter{})->size(), 4u * 12u);
  EXPECT_EQ((*reopened)->runs()->size(), 2u);
}

TEST(TuneCli, WorkerIsolationThroughTheCli) {
  ScratchDir dir;
  const std::string db = dir.file("t.sqlite");
  CliResult r = run_cli(dir, "--backend synthetic --isolation worker --real-faults --measure-timeout 1s "
                             "--synthetic-faults launch_failed=0.1 --quiet --strategy random --budget 30 --db " + db);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto opened = Database::open(db, OpenMode::kReadOnly);
  ASSERT_TRUE(opened.ok());
  auto counts = (*opened)->count_by_status(MeasurementFilter{});
  ASSERT_TRUE(counts.ok());
  EXPECT_GT((*counts)["launch_failed"], 0);
  EXPECT_GT((*counts)["ok"], 0);
}

TEST(CompareSearchersCli, ReplaysAnExhaustiveRunAndRefusesBadInput) {
  ScratchDir dir;
  const std::string db = dir.file("exhaustive.sqlite");
  CliResult tuned = run_cli(dir, "--backend synthetic --quiet --phase prefill --heads 8:1 --kv-len 4k "
                                 "--strategy exhaustive --db " + db);
  ASSERT_EQ(tuned.rc, 0) << tuned.err;
  CliResult r = run_gqaforge(dir, "compare-searchers", "--seeds 5 --markdown --db " + db);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("| prefill 8:1 d128 bf16 causal b1 q4k kv4k | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 problem(s)"), std::string::npos) << r.out;
  CliResult alone = run_gqaforge(dir, "compare-searchers", "--seeds 5 --without-default --db " + db);
  ASSERT_EQ(alone.rc, 0) << alone.err;

  // A database without an exhaustive run, a missing file, and malformed numbers.
  const std::string sampled = dir.file("random.sqlite");
  ASSERT_EQ(run_cli(dir, "--backend synthetic --quiet --strategy random --budget 5 --db " + sampled).rc, 0);
  CliResult none = run_gqaforge(dir, "compare-searchers", "--db " + sampled);
  EXPECT_EQ(none.rc, 1);
  EXPECT_NE(none.err.find("tuned exhaustively"), std::string::npos) << none.err;
  const std::string missing = dir.file("missing.sqlite");
  CliResult absent = run_gqaforge(dir, "compare-searchers", "--db " + missing);
  EXPECT_NE(absent.rc, 0);
  EXPECT_NE(absent.err.find(missing), std::string::npos) << absent.err;
  EXPECT_FALSE(std::filesystem::exists(missing));
  for (const std::string& bad : {std::string("--target abc"), std::string("--seeds 0"), std::string("--arch sm_12")}) {
    CliResult b = run_gqaforge(dir, "compare-searchers", bad + " --db " + db);
    EXPECT_EQ(b.rc, 2) << bad << ": " << b.err;
    EXPECT_EQ(b.err.rfind("gqaforge: error: ", 0), 0u) << b.err;
  }
}

TEST(TuneCli, HelpDescribesTheFlags) {
  ScratchDir dir;
  CliResult r = run_cli(dir, "--help");
  EXPECT_EQ(r.rc, 0);
  for (const char* flag : {"--strategy", "--budget", "--time-budget", "--patience", "--shard", "--db", "--linear"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace gqaforge::tune
