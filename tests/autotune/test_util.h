// Shared helpers of the autotune tests: an in-memory MeasurementSink, problems, and a scratch
// directory.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "records/records.h"
#include "codegen/problem.h"

namespace gqaforge::autotune::testing {

/// Keeps every recorded row in order; stored_rows answers like the database does (the latest
/// row per kernel, a re-measurement keeps the best mark, marking a row best clears the
/// problem's other marks). With `fail_after` set, every record after that many fails.
class MemorySink final : public MeasurementSink {
 public:
  int64_t begin_run(const Environment& env, const TuneRunRecord& run) override {
    envs.push_back(env);
    runs.push_back(run);
    return static_cast<int64_t>(runs.size());
  }
  void record(const MeasurementRecord& m) override {
    if (fail_after >= 0 && static_cast<int64_t>(rows.size()) >= fail_after) {
      ++failed_records;
      if (error.ok()) error = unavailable("database or disk is full");
      return;
    }
    rows.push_back(m);
  }
  void end_run(int64_t run_id) override { ended.push_back(run_id); }
  std::vector<MeasurementRecord> stored_rows(const std::string& env_key, const ProblemRecord& problem) override {
    std::map<std::string, MeasurementRecord> latest;
    for (const MeasurementRecord& r : rows) {
      if (r.env_key != env_key || r.problem.canonical() != problem.canonical()) continue;
      auto it = latest.find(r.kernel_key);
      const bool kept_mark = it != latest.end() && it->second.is_best;
      if (r.is_best) {
        for (auto& [k, other] : latest) other.is_best = false;
      }
      MeasurementRecord row = r;
      row.is_best = r.is_best || kept_mark;
      latest[r.kernel_key] = row;
    }
    std::vector<MeasurementRecord> out;
    for (auto& [k, r] : latest) out.push_back(r);
    return out;
  }
  Status sink_status() const override { return error; }
  /// Rows with `status`.
  int64_t count(MeasureStatus status) const {
    return std::count_if(rows.begin(), rows.end(), [&](const MeasurementRecord& r) { return r.status == status; });
  }

  std::vector<Environment> envs;
  std::vector<TuneRunRecord> runs;
  std::vector<MeasurementRecord> rows;
  std::vector<int64_t> ended;
  int64_t fail_after = -1;
  int64_t failed_records = 0;
  Status error;
};

inline codegen::AttentionProblem decode_problem(int hq = 32, int hkv = 8, int d = 128, int64_t batch = 1,
                                                int64_t kv = 32768) {
  return codegen::make_problem(codegen::Phase::kDecode, hq, hkv, d, codegen::DType::kBF16, true, batch, 1, kv);
}

inline codegen::AttentionProblem prefill_problem(int hq = 32, int hkv = 8, int d = 128, int64_t batch = 1,
                                                 int64_t len = 8192) {
  return codegen::make_problem(codegen::Phase::kPrefill, hq, hkv, d, codegen::DType::kBF16, true, batch, len, len);
}

/// A fresh directory under the system temp dir, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("gqaforge-tune-test-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path path_;
};

}  // namespace gqaforge::autotune::testing
