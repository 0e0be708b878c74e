// Shared helpers of the autotune tests: an in-memory MeasurementSink, problems, and a scratch
// directory.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "autotune/records.h"
#include "codegen/problem.h"

namespace gqaforge::tune::testing {

/// Keeps every recorded row; measured_keys answers from them like the database does.
class MemorySink final : public MeasurementSink {
 public:
  int64_t begin_run(const Environment& env, const TuneRunRecord& run) override {
    envs.push_back(env);
    runs.push_back(run);
    return static_cast<int64_t>(runs.size());
  }
  void record(const MeasurementRecord& m) override { rows.push_back(m); }
  void end_run(int64_t run_id) override { ended.push_back(run_id); }
  std::vector<std::string> measured_keys(const std::string& env_key, const ProblemRecord& problem) override {
    std::vector<std::string> out;
    for (const MeasurementRecord& r : rows) {
      if (r.env_key == env_key && r.problem.canonical() == problem.canonical()) out.push_back(r.kernel_key);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  /// Rows with `status`.
  int64_t count(MeasureStatus status) const {
    return std::count_if(rows.begin(), rows.end(), [&](const MeasurementRecord& r) { return r.status == status; });
  }

  std::vector<Environment> envs;
  std::vector<TuneRunRecord> runs;
  std::vector<MeasurementRecord> rows;
  std::vector<int64_t> ended;
};

inline AttentionProblem decode_problem(int hq = 32, int hkv = 8, int d = 128, int64_t batch = 1,
                                       int64_t kv = 32768) {
  return make_problem(Phase::kDecode, hq, hkv, d, DType::kBF16, true, batch, 1, kv);
}

inline AttentionProblem prefill_problem(int hq = 32, int hkv = 8, int d = 128, int64_t batch = 1,
                                        int64_t len = 8192) {
  return make_problem(Phase::kPrefill, hq, hkv, d, DType::kBF16, true, batch, len, len);
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

}  // namespace gqaforge::tune::testing
