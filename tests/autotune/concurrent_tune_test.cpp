// Several tuner processes sweeping the same problems into one database file share the work:
// every variant is measured about once (claims), nothing is lost or duplicated, and the file
// ends with exactly the rows and the winner of a single tuner's sweep.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "autotune/family_space.h"
#include "autotune/synthetic_backend.h"
#include "autotune/tuner.h"
#include "db/database.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;
using db::MeasurementFilter;

namespace {

using testing::ScratchDir;

const std::vector<AttentionProblem>& problems() {
  static const std::vector<AttentionProblem> p = {testing::prefill_problem(8, 1, 128, 1, 4096),
                                                  testing::prefill_problem(16, 2, 64, 1, 2048)};
  return p;
}

TuneOptions options() {
  TuneOptions o;
  o.strategy = "exhaustive";
  o.show_progress = false;
  o.command_line = "concurrent test";
  return o;
}

// Child: its own connection and backend; writes "tried waited" to `report`.
[[noreturn]] void child_tuner(const std::string& db_path, const std::string& report) {
  auto db = db::Database::open(db_path);
  if (!db.ok()) _exit(10);
  SyntheticOptions so;
  so.measure_delay_ms = 3;  // a measurement takes time, as on a GPU
  so.fault_rates = {{MeasureStatus::kWrongResult, 0.05}};
  SyntheticBackend backend(so);
  auto r = Tuner(backend, **db, options()).run(problems());
  if (!r.ok()) _exit(11);
  int64_t tried = 0, waited = 0;
  for (const ProblemOutcome& o : r->problems) {
    tried += o.tried;
    waited += o.waited;
  }
  std::ofstream(report) << tried << " " << waited << "\n";
  db->reset();
  _exit(0);
}

std::map<std::string, std::string> state(db::Database& db) {
  std::map<std::string, std::string> out;
  auto rows = db.measurements(MeasurementFilter{});
  EXPECT_TRUE(rows.ok());
  for (const MeasurementRecord& r : *rows) {
    out[r.problem.canonical() + " " + r.kernel_key] =
        fmt::format("{} {} {}", r.config, measure_status_name(r.status), r.median_us);
  }
  return out;
}

TEST(ConcurrentTuners, ShareOneSweepAndEndWithTheSingleTunersRows) {
  ScratchDir dir;
  int64_t points = 0;
  for (const AttentionProblem& p : problems()) {
    points += static_cast<int64_t>(make_family_space(p, codegen::DeviceLimits{})->space.valid_points().size());
  }
  // The reference: one tuner alone.
  const std::string single = dir.file("single.sqlite");
  {
    auto db = db::Database::open(single);
    ASSERT_TRUE(db.ok());
    SyntheticOptions so;
    so.fault_rates = {{MeasureStatus::kWrongResult, 0.05}};
    SyntheticBackend backend(so);
    ASSERT_TRUE(Tuner(backend, **db, options()).run(problems()).ok());
  }

  const std::string shared = dir.file("shared.sqlite");
  ASSERT_TRUE(db::Database::open(shared).ok());  // created once, so the children only open it
  constexpr int kTuners = 4;
  std::vector<pid_t> pids;
  for (int i = 0; i < kTuners; ++i) {
    const pid_t pid = fork();
    if (pid == 0) child_tuner(shared, dir.file("report" + std::to_string(i)));
    pids.push_back(pid);
  }
  int64_t tried = 0, waited = 0;
  for (int i = 0; i < kTuners; ++i) {
    int status = 0;
    waitpid(pids[static_cast<size_t>(i)], &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "tuner " << i << " status " << status;
    std::ifstream in(dir.file("report" + std::to_string(i)));
    int64_t t = 0, w = 0;
    in >> t >> w;
    tried += t;
    waited += w;
  }
  std::printf("%d tuners: %lld tries for %lld variants, %lld waits for another tuner's row\n", kTuners,
              static_cast<long long>(tried), static_cast<long long>(points), static_cast<long long>(waited));
  // Each variant is measured about once: the tries of all tuners together stay close to the
  // sweep's size (re-measured winners excluded, they are not tries).
  EXPECT_LE(tried, points + points / 10) << "points " << points << ", waited " << waited;
  EXPECT_GE(tried, points);

  auto a = db::Database::open(single, db::OpenMode::kReadOnly);
  auto b = db::Database::open(shared, db::OpenMode::kReadOnly);
  ASSERT_TRUE(a.ok() && b.ok());
  // The same variants with the same results (synthetic timings are exact), one best each.
  EXPECT_EQ(state(**b), state(**a));
  auto best_a = (*a)->best(MeasurementFilter{});
  auto best_b = (*b)->best(MeasurementFilter{});
  ASSERT_TRUE(best_a.ok() && best_b.ok());
  ASSERT_EQ(best_b->size(), problems().size());
  for (size_t i = 0; i < best_a->size(); ++i) {
    EXPECT_EQ((*best_b)[i].kernel_key, (*best_a)[i].kernel_key);
    EXPECT_TRUE((*best_b)[i].is_best);
  }
}

}  // namespace
}  // namespace gqaforge::autotune
