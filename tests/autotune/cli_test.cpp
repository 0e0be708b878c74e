// `gqaforge tune` through the built binary: bad input exits 2 with one error line naming the
// value and writes nothing; a synthetic sweep records rows, marks one best per problem, and a
// second run of the same command resumes without measuring again.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "core/json.h"
#include "db/database.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {

using db::MeasurementFilter;
using db::OpenMode;

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
  const std::string command =
      fmt::format("cd {} && GQAFORGE_DB= {} {} {} >{} 2>{}", dir.path().string(), binary, subcommand, args, out, err);
  const int status = std::system(command.c_str());
  CliResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

CliResult run_cli(const ScratchDir& dir, const std::string& args) {
  return run_gqaforge(dir, "tune", args);
}

// The winners table of `gqaforge tune`'s output: from its header line to the blank line after it.
std::string summary_table(const std::string& out) {
  const size_t start = out.find("\nproblem");
  if (start == std::string::npos) return "";
  const size_t end = out.find("\n\n", start + 1);
  return out.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(TuneCli, BadInputExitsTwoNamingTheValueAndWritesNothing) {
  ScratchDir dir;
  const std::string db = dir.file("t.sqlite");
  struct Case {
    std::string args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"--strategy annealing", "--strategy: annealing not in {exhaustive,random,guided}"},
      {"--shard 3/2", "'3/2'"},
      {"--budget -1", "'-1'"},
      {"--heads 32:5", "'32:5'"},
      {"--head-dim 80", "80"},
      {"--kv-len 4q", "'4q'"},
      {"--time-budget soon", "'soon'"},
      {"--repetitions 0", "--repetitions: '0'"},
      {"--phase sideways", "sideways"},
      {"--backend tpu", "--backend: tpu not in {cuda,cpu,synthetic}"},
      {"--synthetic-faults crash=2", "crash"},
      {"--linear --gemm 16x4096", "'16x4096'"},
      {"--linear", "--model"},
      {"--no-such-flag", "--no-such-flag"},
      {"--real-faults", "--isolation worker"},
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
  const std::string args =
      "--backend synthetic --quiet --phase decode,prefill --heads 8:1,16:2 --batch 1 "
      "--kv-len 4k --strategy random --budget 12 --synthetic-faults wrong_result=0.1 --db " +
      db;
  CliResult r = run_cli(dir, args);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("decode 8:1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vs default"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TFLOP/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TB/s"), std::string::npos) << r.out;

  auto opened = db::Database::open(db, OpenMode::kReadOnly);
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
  EXPECT_NE(again.out.find("resumed: 48 tries came from earlier runs"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find("no passing variant"), std::string::npos) << "finished problems keep their winners\n"
                                                                     << again.out;
  EXPECT_EQ(summary_table(again.out), summary_table(r.out)) << "the summary of a resumed sweep is the sweep's";
  auto reopened = db::Database::open(db, OpenMode::kReadOnly);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->measurements(MeasurementFilter{})->size(), 4u * 12u);
  EXPECT_EQ((*reopened)->runs()->size(), 2u);
}

TEST(TuneCli, WorkerIsolationThroughTheCli) {
  ScratchDir dir;
  const std::string db = dir.file("t.sqlite");
  CliResult r = run_cli(dir,
                        "--backend synthetic --isolation worker --real-faults --measure-timeout 1s "
                        "--synthetic-faults launch_failed=0.1 --quiet --strategy random --budget 30 --db " +
                            db);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto opened = db::Database::open(db, OpenMode::kReadOnly);
  ASSERT_TRUE(opened.ok());
  auto counts = (*opened)->count_by_status(MeasurementFilter{});
  ASSERT_TRUE(counts.ok());
  EXPECT_GT((*counts)["launch_failed"], 0);
  EXPECT_GT((*counts)["ok"], 0);
}

TEST(CompareSearchersCli, ReplaysAnExhaustiveRunAndRefusesBadInput) {
  ScratchDir dir;
  const std::string db = dir.file("exhaustive.sqlite");
  CliResult tuned = run_cli(dir,
                            "--backend synthetic --quiet --phase prefill --heads 8:1 --kv-len 4k "
                            "--strategy exhaustive --db " +
                                db);
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

// ---- Signals: no orphaned worker, an orderly stop on SIGTERM ----

/// Starts `gqaforge tune ARGS` in the background (stdout/stderr to files in `dir`).
pid_t spawn_tune(const ScratchDir& dir, const std::vector<std::string>& args) {
  const std::string binary = GQAFORGE_BINARY_DIR "/tools/gqaforge";
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string out = dir.file("bg.stdout"), err = dir.file("bg.stderr");
    freopen(out.c_str(), "w", stdout);
    freopen(err.c_str(), "w", stderr);
    std::vector<char*> argv;
    std::vector<std::string> all = {binary, "tune"};
    all.insert(all.end(), args.begin(), args.end());
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

/// PIDs of live tune workers whose command line carries `--seed SEED`.
std::vector<pid_t> workers_with_seed(const std::string& seed) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = slurp(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    const std::string stat = slurp(entry.path().string() + "/stat");
    const bool zombie = stat.find(") Z ") != std::string::npos;
    if (!zombie && cmdline.find("tune-worker") != std::string::npos &&
        cmdline.find("--seed " + seed + " ") != std::string::npos) {
      out.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return out;
}

/// Waits up to `seconds` for `pred`.
template <typename Pred>
bool wait_for(double seconds, Pred pred) {
  for (int i = 0; i < static_cast<int>(seconds * 50); ++i) {
    if (pred()) return true;
    usleep(20000);
  }
  return pred();
}

// Every variant hangs for real in the worker: the tuner is always waiting on it.
std::vector<std::string> hanging_sweep(const std::string& db, const std::string& seed) {
  return {"--backend", "synthetic",         "--isolation", "worker",     "--real-faults", "--synthetic-faults",
          "timeout=1", "--measure-timeout", "10m",         "--strategy", "random",        "--budget",
          "3",         "--quiet",           "--seed",      seed,         "--db",          db};
}

TEST(TuneSignals, AKilledTunerLeavesNoWorkerBehind) {
  ScratchDir dir;
  const std::string seed = std::to_string(700000 + getpid() % 100000);
  const pid_t tuner = spawn_tune(dir, hanging_sweep(dir.file("t.sqlite"), seed));
  ASSERT_GT(tuner, 0);
  ASSERT_TRUE(wait_for(30, [&] { return !workers_with_seed(seed).empty(); })) << slurp(dir.file("bg.stderr"));
  usleep(200000);  // the worker is inside its hanging "kernel"
  kill(tuner, SIGKILL);
  int status = 0;
  waitpid(tuner, &status, 0);
  EXPECT_TRUE(wait_for(5, [&] { return workers_with_seed(seed).empty(); })) << "the worker outlived a SIGKILLed tuner";
  for (pid_t w : workers_with_seed(seed)) kill(w, SIGKILL);
}

TEST(TuneSignals, SigtermAbandonsTheHangingTryStoresNothingFalseAndExits) {
  ScratchDir dir;
  const std::string db = dir.file("t.sqlite");
  const std::string seed = std::to_string(800000 + getpid() % 100000);
  const pid_t tuner = spawn_tune(dir, hanging_sweep(db, seed));
  ASSERT_GT(tuner, 0);
  ASSERT_TRUE(wait_for(30, [&] { return !workers_with_seed(seed).empty(); })) << slurp(dir.file("bg.stderr"));
  usleep(200000);
  kill(tuner, SIGTERM);
  int status = 0;
  ASSERT_TRUE(wait_for(10, [&] { return waitpid(tuner, &status, WNOHANG) == tuner; }))
      << "SIGTERM did not stop a tuner waiting on a hung worker";
  ASSERT_TRUE(WIFEXITED(status)) << "the tuner should exit, not die of the signal";
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  EXPECT_TRUE(wait_for(5, [&] { return workers_with_seed(seed).empty(); }));
  const std::string out = slurp(dir.file("bg.stdout"));
  EXPECT_NE(out.find("interrupted"), std::string::npos) << out;
  auto opened = db::Database::open(db, OpenMode::kReadOnly);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  auto rows = (*opened)->measurements(MeasurementFilter{});
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty()) << "the abandoned try must not be recorded as a timeout or a crash";
  auto runs = (*opened)->runs();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_TRUE(runs->front().finished_at.empty()) << "an interrupted run stays unfinished";
}

/// Per kernel of each problem: config, status, median, message and the best mark.
std::map<std::string, std::string> db_state(const std::string& db) {
  std::map<std::string, std::string> out;
  auto opened = db::Database::open(db, OpenMode::kReadOnly);
  EXPECT_TRUE(opened.ok()) << opened.status().to_string();
  if (!opened.ok()) return out;
  auto rows = (*opened)->measurements(MeasurementFilter{});
  EXPECT_TRUE(rows.ok());
  for (const MeasurementRecord& r : *rows) {
    out[r.problem.canonical() + " " + r.kernel_key] =
        fmt::format("{} {} {} {} {}", r.config, measure_status_name(r.status), r.median_us, r.message, r.is_best);
  }
  return out;
}

TEST(TuneSignals, KillNineAtManyPointsThenResumeEqualsAnUninterruptedSweep) {
  ScratchDir dir;
  const std::vector<std::string> sweep = {"--backend",
                                          "synthetic",
                                          "--isolation",
                                          "worker",
                                          "--phase",
                                          "decode,prefill",
                                          "--heads",
                                          "8:1,16:2",
                                          "--kv-len",
                                          "4k",
                                          "--strategy",
                                          "guided",
                                          "--budget",
                                          "10",
                                          "--synthetic-faults",
                                          "wrong_result=0.05,compile_failed=0.05",
                                          "--quiet"};
  auto with_db = [&](const std::string& db) {
    std::vector<std::string> a = sweep;
    a.push_back("--db");
    a.push_back(db);
    return a;
  };
  const std::string reference = dir.file("reference.sqlite");
  int status = 0;
  pid_t pid = spawn_tune(dir, with_db(reference));
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(dir.file("bg.stderr"));
  const auto expected = db_state(reference);
  ASSERT_GT(expected.size(), 30u);

  int interrupted = 0;
  for (int i = 0; i < 12; ++i) {
    const std::string db = dir.file("killed" + std::to_string(i) + ".sqlite");
    pid = spawn_tune(dir, with_db(db));
    usleep(static_cast<useconds_t>(15000 * i));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    interrupted += WIFSIGNALED(status) ? 1 : 0;
    pid = spawn_tune(dir, with_db(db));  // the README's resume: the same command again
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << i << ": " << slurp(dir.file("bg.stderr"));
    EXPECT_EQ(db_state(db), expected) << "killed after " << 15 * i << " ms";
  }
  EXPECT_GE(interrupted, 6) << "most kills should land inside the sweep";
}

// ---- A full disk: the sweep stops at the first failed write ----

TEST(TuneCli, AFullDiskStopsTheSweepAtTheFirstFailedWrite) {
  if (geteuid() != 0 || std::system("unshare -m true >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "needs root and mount namespaces to mount a small tmpfs";
  }
  ScratchDir dir;
  const std::string mnt = dir.file("full");
  std::filesystem::create_directories(mnt);
  const std::string binary = GQAFORGE_BINARY_DIR "/tools/gqaforge";
  // A private mount namespace: the 192 KiB tmpfs vanishes with the shell.
  const std::string script = fmt::format(
      "mount -t tmpfs -o size=192k tmpfs {0} || exit 99; "
      "GQAFORGE_DB= {1} tune --backend synthetic --strategy exhaustive --heads 8:1 --kv-len 4k --quiet "
      "--db {0}/t.sqlite >{2}/full.stdout 2>{2}/full.stderr; echo $? >{2}/full.rc; "
      "{1} db info --db {0}/t.sqlite >{2}/info.stdout 2>{2}/info.stderr; echo $? >{2}/info.rc",
      mnt, binary, dir.path().string());
  const int status = std::system(fmt::format("unshare -m sh -c '{}'", script).c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 99) GTEST_SKIP() << "cannot mount a tmpfs here";
  const std::string err = slurp(dir.file("full.stderr"));
  EXPECT_EQ(std::stoi(slurp(dir.file("full.rc"))), 1) << err;
  EXPECT_NE(err.find("full"), std::string::npos) << err;
  EXPECT_NE(err.find("resume"), std::string::npos) << err;
  // One message, not one per try (an exhaustive sweep has thousands).
  EXPECT_LE(std::count(err.begin(), err.end(), '\n'), 3) << err;
  // What was stored before the disk filled stays readable.
  EXPECT_EQ(std::stoi(slurp(dir.file("info.rc"))), 0) << slurp(dir.file("info.stderr"));
  EXPECT_NE(slurp(dir.file("info.stdout")).find("measurements"), std::string::npos);
}

TEST(TuneCli, JsonSummaryFollowsItsSchema) {
  ScratchDir dir;
  const std::string db = dir.file("t.sqlite");
  CliResult r = run_cli(dir,
                        "--backend synthetic --quiet --phase decode,prefill --heads 8:1 --kv-len 4k "
                        "--strategy guided --budget 6 --json --db " +
                            db);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto doc = parse_json(r.out);
  ASSERT_TRUE(doc.ok()) << doc.status().to_string() << "\n" << r.out;
  EXPECT_EQ(doc->at("schema_version").get<double>(), 1);
  EXPECT_EQ(doc->at("command").get<std::string>(), "tune");
  EXPECT_EQ(doc->at("settings").at("strategy").get<std::string>(), "guided");
  EXPECT_EQ(doc->at("settings").at("budget").get<double>(), 6);
  EXPECT_TRUE(doc->at("settings").at("time_budget_s").is_null());
  EXPECT_FALSE(doc->at("interrupted").get<bool>());
  EXPECT_TRUE(doc->at("env_key").is_string());
  EXPECT_GE(doc->at("time").at("wall_s").get<double>(), 0);
  const Json* problems = &doc->at("problems");
  ASSERT_TRUE(problems->is_array());
  ASSERT_EQ(problems->size(), 2u);
  for (const Json& p : *problems) {
    EXPECT_TRUE(p.at("problem").is_string());
    EXPECT_EQ(p.at("tries").get<double>(), 6);
    EXPECT_EQ(p.at("measured").get<double>(), 6);
    EXPECT_EQ(p.at("reused").get<double>(), 0);
    EXPECT_EQ(p.at("by_status").at("ok").get<double>(), 6);
    const Json* best = &p.at("best");
    ASSERT_TRUE(best->is_object());
    EXPECT_GT(best->at("median_us").get<double>(), 0);
    EXPECT_TRUE(best->at("config").is_string());
    EXPECT_GT(p.at("speedup_vs_default").get<double>(), 0);
    EXPECT_TRUE(p.at("stop_reason").is_string());
  }
  // The same command again: everything reused, the same winners.
  CliResult again = run_cli(dir,
                            "--backend synthetic --quiet --phase decode,prefill --heads 8:1 --kv-len 4k "
                            "--strategy guided --budget 6 --json --db " +
                                db);
  ASSERT_EQ(again.rc, 0) << again.err;
  auto doc2 = parse_json(again.out);
  ASSERT_TRUE(doc2.ok());
  for (size_t i = 0; i < 2; ++i) {
    const Json& a = doc->at("problems")[i];
    const Json& b = doc2->at("problems")[i];
    EXPECT_EQ(b.at("reused").get<double>(), 6);
    EXPECT_EQ(b.at("measured").get<double>(), 0);
    EXPECT_EQ(b.at("best").at("kernel_key").get<std::string>(), a.at("best").at("kernel_key").get<std::string>());
  }
}

}  // namespace
}  // namespace gqaforge::autotune
