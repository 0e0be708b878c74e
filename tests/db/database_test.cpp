// Tests of the Database writers and queries on :memory: databases: the sink, resume through
// measured_keys, the re-measurement policy, best-row selection, filters and counts.
#include "db/database.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "core/sha256.h"
#include "tests/db/test_util.h"

namespace gqaforge::db {
namespace {

using testing::decode_problem;
using testing::memory_db;
using testing::prefill_problem;
using testing::sample_env;
using testing::sample_measurement;

std::vector<std::string> kernel_keys(const std::vector<MeasurementRecord>& rows) {
  std::vector<std::string> keys;
  for (const auto& m : rows) keys.push_back(m.kernel_key);
  return keys;
}

TEST(DatabaseTest, RecordsARunAndItsMeasurementsWithEveryField) {
  auto db = memory_db();
  const Environment env = sample_env();
  TuneRunRecord run;
  run.command_line = "gqaforge tune --heads 32:8";
  run.strategy = "grid";
  const int64_t run_id = db->begin_run(env, run);
  ASSERT_GT(run_id, 0) << db->sink_status().to_string();

  MeasurementRecord ok = sample_measurement(env.key(), decode_problem(), "k-ok", 12.5);
  ok.run_id = run_id;
  MeasurementRecord failed = sample_measurement(env.key(), decode_problem(), "k-fail", 0);
  failed.status = MeasureStatus::kCompileFailed;
  failed.message = "nvrtc: error: too many resources requested\n\tline 2";
  failed.run_id = run_id;
  failed.max_error = std::numeric_limits<double>::infinity();
  failed.tbps = std::nan("");
  db->record(ok);
  db->record(failed);
  db->end_run(run_id);
  ASSERT_TRUE(db->sink_status().ok()) << db->sink_status().to_string();

  auto rows = db->measurements({});
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 2u);
  testing::expect_same_measurement((*rows)[0], failed);  // sorted by kernel key: k-fail < k-ok
  testing::expect_same_measurement((*rows)[1], ok);
  EXPECT_EQ((*rows)[1].run_id, run_id);

  auto runs = db->runs();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].id, run_id);
  EXPECT_EQ((*runs)[0].env_key, env.key());
  EXPECT_EQ((*runs)[0].command_line, run.command_line);
  EXPECT_EQ((*runs)[0].strategy, "grid");
  EXPECT_FALSE((*runs)[0].started_at.empty());
  EXPECT_FALSE((*runs)[0].finished_at.empty());

  auto envs = db->environments();
  ASSERT_EQ(envs->size(), 1u);
  EXPECT_EQ((*envs)[0].key(), env.key());
  EXPECT_EQ((*envs)[0].memory_bytes, env.memory_bytes);
  EXPECT_EQ((*envs)[0].host, "node-a");
}

TEST(DatabaseTest, EnvironmentsAreDeduplicatedByKey) {
  auto db = memory_db();
  Environment a = sample_env();
  Environment b = sample_env();
  b.host = "node-b";  // not part of the key
  b.sm_clock_mhz = 1755;
  ASSERT_EQ(a.key(), b.key());
  ASSERT_GT(db->begin_run(a, {}), 0);
  ASSERT_GT(db->begin_run(b, {}), 0);
  ASSERT_GT(db->begin_run(sample_env("NVIDIA H100", 132), {}), 0);
  auto envs = db->environments();
  ASSERT_EQ(envs->size(), 2u);
  EXPECT_EQ(db->runs()->size(), 3u);
  for (const Environment& e : *envs) {
    if (e.key() == a.key()) {
      EXPECT_EQ(e.host, "node-a");  // the first row stored is kept
    }
  }
}

TEST(DatabaseTest, ResumeSeesEveryMeasuredKeyOfTheProblemAndEnvironmentOnly) {
  auto db = memory_db();
  const std::string env = sample_env().key();
  const std::string other_env = sample_env("NVIDIA A100", 108).key();
  ASSERT_NE(env, other_env);
  MeasurementRecord rejected = sample_measurement(env, decode_problem(), "k3", 0);
  rejected.status = MeasureStatus::kRejected;
  db->record(sample_measurement(env, decode_problem(), "k2", 5));
  db->record(rejected);
  db->record(sample_measurement(env, decode_problem(), "k1", 6));
  db->record(sample_measurement(env, decode_problem(32, 8, 128, 8192), "k9", 6));  // other kv_len
  db->record(sample_measurement(other_env, decode_problem(), "k7", 6));
  ASSERT_TRUE(db->sink_status().ok()) << db->sink_status().to_string();

  EXPECT_EQ(db->measured_keys(env, decode_problem()), (std::vector<std::string>{"k1", "k2", "k3"}));
  EXPECT_EQ(db->measured_keys(other_env, decode_problem()), (std::vector<std::string>{"k7"}));
  EXPECT_TRUE(db->measured_keys(env, prefill_problem()).empty());
}

TEST(DatabaseTest, ReMeasurementReplacesTheRowAndOlderDataIsSkipped) {
  auto db = memory_db();
  const std::string env = sample_env().key();
  ASSERT_TRUE(db->add_measurement(sample_measurement(env, decode_problem(), "k", 10, "2026-01-02T00:00:00Z")).ok());
  ASSERT_TRUE(db->add_measurement(sample_measurement(env, decode_problem(), "k", 8, "2026-01-03T00:00:00Z")).ok());
  ASSERT_TRUE(db->add_measurement(sample_measurement(env, decode_problem(), "k", 99, "2026-01-01T00:00:00Z")).ok());
  auto rows = db->measurements({});
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].median_us, 8);
  EXPECT_EQ((*rows)[0].measured_at, "2026-01-03T00:00:00Z");
}

TEST(DatabaseTest, EmptyMeasuredAtIsSetToNow) {
  auto db = memory_db();
  ASSERT_TRUE(db->add_measurement(sample_measurement("e", decode_problem(), "k", 1, "")).ok());
  const std::string at = (*db->measurements({}))[0].measured_at;
  ASSERT_EQ(at.size(), 20u) << at;
  EXPECT_EQ(at[10], 'T');
  EXPECT_EQ(at.back(), 'Z');
}

TEST(DatabaseTest, BestIsTheMarkedRowElseTheFastestOkRow) {
  auto db = memory_db();
  const std::string env = sample_env().key();
  MeasurementRecord wrong = sample_measurement(env, decode_problem(), "k-wrong", 1.0);  // fast but wrong
  wrong.status = MeasureStatus::kWrongResult;
  db->record(wrong);
  db->record(sample_measurement(env, decode_problem(), "k-a", 10.0));
  db->record(sample_measurement(env, decode_problem(), "k-b", 8.0));
  db->record(sample_measurement(env, decode_problem(), "k-c", 8.0));  // tie with k-b: smaller key wins
  ASSERT_TRUE(db->sink_status().ok());

  auto best = db->best({});
  ASSERT_TRUE(best.ok()) << best.status().to_string();
  ASSERT_EQ(best->size(), 1u);
  EXPECT_EQ((*best)[0].kernel_key, "k-b");
  EXPECT_FALSE((*best)[0].is_best);

  ASSERT_TRUE(db->mark_best(env, decode_problem(), "k-a").ok());
  best = db->best({});
  ASSERT_EQ(best->size(), 1u);
  EXPECT_EQ((*best)[0].kernel_key, "k-a");
  EXPECT_TRUE((*best)[0].is_best);

  ASSERT_TRUE(db->mark_best(env, decode_problem(), "k-c").ok());
  int marked = 0;
  const auto rows = *db->measurements({});
  for (const auto& m : rows) marked += m.is_best ? 1 : 0;
  EXPECT_EQ(marked, 1);
  EXPECT_EQ((*db->best({}))[0].kernel_key, "k-c");

  Status s = db->mark_best(env, decode_problem(), "k-wrong");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.to_string();
  EXPECT_NE(s.message().find("wrong_result"), std::string::npos);
  s = db->mark_best(env, decode_problem(), "k-missing");
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.to_string();
  EXPECT_NE(s.message().find("k-missing"), std::string::npos);
}

TEST(DatabaseTest, RecordingABestRowMovesTheMarkAndReMeasurementKeepsIt) {
  auto db = memory_db();
  const std::string env = sample_env().key();
  MeasurementRecord a = sample_measurement(env, decode_problem(), "k-a", 10, "2026-01-01T00:00:00Z");
  a.is_best = true;
  db->record(a);
  MeasurementRecord b = sample_measurement(env, decode_problem(), "k-b", 9, "2026-01-02T00:00:00Z");
  b.is_best = true;
  db->record(b);
  ASSERT_TRUE(db->sink_status().ok()) << db->sink_status().to_string();
  EXPECT_EQ(kernel_keys(*db->best({})), std::vector<std::string>{"k-b"});
  EXPECT_FALSE((*db->measurements({}))[0].is_best);  // k-a lost the mark

  // A plain re-measurement of the winner keeps its mark.
  db->record(sample_measurement(env, decode_problem(), "k-b", 9.5, "2026-01-03T00:00:00Z"));
  auto rows = *db->measurements({});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[1].is_best);
  EXPECT_EQ(rows[1].median_us, 9.5);
}

TEST(DatabaseTest, BestIsPerEnvironmentAndProblemAndHonoursTheFilter) {
  auto db = memory_db();
  const std::string h200 = sample_env().key();
  const std::string a100 = sample_env("NVIDIA A100", 108).key();
  for (const std::string& env : {h200, a100}) {
    db->record(sample_measurement(env, decode_problem(32, 8), "d1", 5));
    db->record(sample_measurement(env, decode_problem(32, 8), "d2", 4));
    db->record(sample_measurement(env, decode_problem(32, 4), "d3", 7));
    db->record(sample_measurement(env, decode_problem(32, 8, 64), "d4", 3));
    db->record(sample_measurement(env, prefill_problem(32, 8), "p1", 300));
  }
  ASSERT_TRUE(db->sink_status().ok());
  EXPECT_EQ(db->best({})->size(), 8u);
  EXPECT_EQ(db->best(h200, {})->size(), 4u);

  MeasurementFilter f;
  f.family = "decode";
  f.n_q_heads = 32;
  f.n_kv_heads = 8;
  f.head_dim = 128;
  f.env_key = a100;
  auto rows = db->best(f);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].kernel_key, "d2");
  EXPECT_EQ((*rows)[0].env_key, a100);

  MeasurementFilter by_dtype;
  by_dtype.dtype = "fp16";
  EXPECT_EQ(kernel_keys(*db->best(by_dtype)), (std::vector<std::string>{"p1", "p1"}));
  MeasurementFilter by_len;
  by_len.kv_len = 4096;
  by_len.batch = 2;
  EXPECT_EQ(db->best(by_len)->size(), 2u);  // the prefill problems (batch 2)
  MeasurementFilter none;
  none.n_q_heads = 7;
  EXPECT_TRUE(db->best(none)->empty());
}

TEST(DatabaseTest, CountsAndInfo) {
  auto db = memory_db();
  const int64_t run = db->begin_run(sample_env(), {});
  MeasurementRecord t = sample_measurement("e", decode_problem(), "t", 0);
  t.status = MeasureStatus::kTimeout;
  db->record(t);
  db->record(sample_measurement("e", decode_problem(), "a", 1));
  db->record(sample_measurement("e", prefill_problem(), "b", 1));
  ASSERT_TRUE(db->sink_status().ok());
  auto counts = db->count_by_status({});
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, (std::map<std::string, int64_t>{{"ok", 2}, {"timeout", 1}}));
  MeasurementFilter only_ok;
  only_ok.status = MeasureStatus::kOk;
  EXPECT_EQ(db->measurements(only_ok)->size(), 2u);

  auto info = db->info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->path, ":memory:");
  EXPECT_EQ(info->environments, 1);
  EXPECT_EQ(info->runs, 1);
  EXPECT_EQ(info->unfinished_runs, 1);
  EXPECT_EQ(info->measurements, 3);
  EXPECT_EQ(info->by_family, (std::map<std::string, int64_t>{{"decode", 2}, {"prefill", 1}}));
  db->end_run(run);
  EXPECT_EQ(db->info()->unfinished_runs, 0);
}

TEST(DatabaseTest, SinkErrorsAreReportedAndKept) {
  auto db = memory_db();
  EXPECT_TRUE(db->sink_status().ok());
  MeasurementRecord no_key = sample_measurement("e", decode_problem(), "", 1);
  db->record(no_key);
  EXPECT_EQ(db->sink_status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(db->sink_status().message().find("empty kernel_key"), std::string::npos);

  auto fresh = memory_db();
  MeasurementRecord orphan = sample_measurement("e", decode_problem(), "k", 1);
  orphan.run_id = 42;
  Status s = fresh->add_measurement(orphan);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("run id 42"), std::string::npos);
  EXPECT_EQ(fresh->finish_run(42).code(), StatusCode::kNotFound);
  EXPECT_EQ(fresh->info()->measurements, 0);

  TuneRunRecord mismatched;
  mismatched.env_key = "not-the-key";
  auto id = fresh->add_run(sample_env(), mismatched);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("not-the-key"), std::string::npos);
  EXPECT_EQ(fresh->begin_run(sample_env(), mismatched), 0);
  EXPECT_FALSE(fresh->sink_status().ok());
}

TEST(DatabaseTest, DoublesSurviveStorageExactly) {
  auto db = memory_db();
  MeasurementRecord m = sample_measurement("e", decode_problem(), "k", 0.1);
  m.min_us = 1.0 / 3.0;
  m.stddev_us = std::numeric_limits<double>::denorm_min();
  m.max_error = std::numeric_limits<double>::max();
  m.error_bound = -std::numeric_limits<double>::infinity();
  m.tflops = std::nan("");
  ASSERT_TRUE(db->add_measurement(m).ok());
  testing::expect_same_measurement((*db->measurements({}))[0], m);
}

TEST(DatabaseTest, TheTemplatesFingerprintIsStoredAndPartOfTheKeyWhileOldKeysStay) {
  Environment old_env = testing::sample_env();
  old_env.codegen_hash.clear();
  // The key an environment had before fingerprints existed (fixed formula, fixed value).
  EXPECT_EQ(old_env.key(),
            sha256_hex(fmt::format("gpu={};sms={};cc={}.{};driver={};nvrtc={};codegen={}", old_env.gpu_name,
                                   old_env.sm_count, old_env.cc_major, old_env.cc_minor, old_env.driver_version,
                                   old_env.nvrtc_version, old_env.codegen_version))
                .substr(0, 16));
  Environment a = old_env, b = old_env;
  a.codegen_hash = "0123456789abcdef";
  b.codegen_hash = "fedcba9876543210";
  EXPECT_NE(a.key(), old_env.key());
  EXPECT_NE(a.key(), b.key()) << "rows timed with other templates are another environment";

  auto db = Database::open(":memory:");
  ASSERT_TRUE(db.ok());
  TuneRunRecord run;
  ASSERT_TRUE((*db)->add_run(a, run).ok());
  ASSERT_TRUE((*db)->add_run(old_env, run).ok());
  auto envs = (*db)->environments();
  ASSERT_TRUE(envs.ok());
  ASSERT_EQ(envs->size(), 2u);
  std::set<std::string> hashes, keys;
  for (const Environment& e : *envs) {
    hashes.insert(e.codegen_hash);
    keys.insert(e.key());
  }
  EXPECT_EQ(hashes, (std::set<std::string>{"", "0123456789abcdef"}));
  EXPECT_EQ(keys, (std::set<std::string>{a.key(), old_env.key()}));
}

}  // namespace
}  // namespace gqaforge::db
