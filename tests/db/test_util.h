// Shared helpers of the db tests: a scratch directory, sample records, raw file bytes.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "db/database.h"
#include "records/records.h"

namespace gqaforge::db::testing {

/// A fresh directory under the system temp dir, removed with its contents at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("gqaforge_db_test_{}_{}", static_cast<long>(getpid()), counter.fetch_add(1));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  /// Path of `name` inside the directory.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// The whole file as bytes ("" if it cannot be read).
inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/// The bytes of a database file and its -wal and -shm ("<absent>" for a missing one).
inline std::map<std::string, std::string> side_file_bytes(const std::string& path) {
  std::map<std::string, std::string> out;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string f = path + suffix;
    out[suffix] = std::filesystem::exists(f) ? file_bytes(f) : std::string("<absent>");
  }
  return out;
}

/// The names in a directory.
inline std::set<std::string> listing(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

/// Runs `body` in a forked child that opens `path` read-write, then _exit()s without closing
/// it, like a killed tuner: the -wal and -shm stay behind with whatever `body` committed.
inline void leave_pending_wal(const std::string& path, const std::function<bool(Database&)>& body) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = Database::open(path);
    if (!db.ok()) {
      std::fprintf(stderr, "child: %s\n", db.status().to_string().c_str());
      _exit(10);
    }
    _exit(body(**db) ? 0 : 11);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  ASSERT_TRUE(std::filesystem::exists(path + "-wal"));
  ASSERT_TRUE(std::filesystem::exists(path + "-shm"));
}

/// The lines of a v2 export (header, sections, end line) as a v1 export: the v1 header, no
/// end line, and no codegen_hash column in the environments section (v1 predates it).
inline std::vector<std::string> as_v1_lines(std::vector<std::string> lines) {
  lines[0] = "# gqaforge-db-export v1";
  while (!lines.empty() && (lines.back().empty() || lines.back().rfind("# end ", 0) == 0)) lines.pop_back();
  bool in_environments = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (!lines[i].empty() && lines[i][0] == '@') in_environments = lines[i].rfind("@environments", 0) == 0;
    if (in_environments) lines[i].erase(lines[i].rfind('\t'));
  }
  return lines;
}

/// A database in memory (nothing on disk), for tests of what it stores.
inline std::unique_ptr<Database> memory_db() {
  auto db = Database::open(":memory:");
  EXPECT_TRUE(db.ok()) << db.status().to_string();
  return std::move(db).value();
}

inline Environment sample_env(const std::string& gpu = "NVIDIA H200", int sm_count = 132) {
  Environment e;
  e.gpu_name = gpu;
  e.gpu_uuid = "GPU-8c1e0000";
  e.sm_count = sm_count;
  e.cc_major = 9;
  e.cc_minor = 0;
  e.sm_clock_mhz = 1980;
  e.mem_clock_mhz = 3201;
  e.memory_bytes = int64_t{150} << 30;
  e.driver_version = 13000;
  e.nvrtc_version = "13.0";
  e.codegen_version = 3;
  e.gqaforge_commit = "4ba5cd13a454";
  e.build_type = "Release";
  e.host = "node-a";
  return e;
}

inline ProblemRecord decode_problem(int n_q = 32, int n_kv = 8, int head_dim = 128, int64_t kv_len = 4096) {
  ProblemRecord p;
  p.family = "decode";
  p.n_q_heads = n_q;
  p.n_kv_heads = n_kv;
  p.head_dim = head_dim;
  p.dtype = "bf16";
  p.batch = 4;
  p.q_len = 1;
  p.kv_len = kv_len;
  return p;
}

inline ProblemRecord prefill_problem(int n_q = 32, int n_kv = 8, int head_dim = 128) {
  ProblemRecord p;
  p.family = "prefill";
  p.n_q_heads = n_q;
  p.n_kv_heads = n_kv;
  p.head_dim = head_dim;
  p.dtype = "fp16";
  p.causal = true;
  p.batch = 2;
  p.q_len = 4096;
  p.kv_len = 4096;
  return p;
}

/// An ok measurement with every field set to something distinctive.
inline MeasurementRecord sample_measurement(const std::string& env_key, const ProblemRecord& problem,
                                            const std::string& kernel_key, double median_us,
                                            const std::string& measured_at = "2026-01-01T00:00:00Z") {
  MeasurementRecord m;
  m.env_key = env_key;
  m.problem = problem;
  m.kernel_key = kernel_key;
  m.config = "block_n=64,warps=4,splits=" + kernel_key;
  m.status = MeasureStatus::kOk;
  m.message = "";
  m.median_us = median_us;
  m.min_us = median_us * 0.97;
  m.stddev_us = median_us * 0.01;
  m.repetitions = 50;
  m.max_error = 1.5e-3;
  m.error_bound = 7.8125e-3;
  m.tflops = 0;
  m.tbps = 3.25;
  m.compile_ms = 412.5;
  m.registers = 128;
  m.shared_bytes = 49152;
  m.spill_bytes = 0;
  m.measured_at = measured_at;
  return m;
}

/// Compares every stored field of two measurements (run ids are file-local and not compared).
inline void expect_same_measurement(const MeasurementRecord& a, const MeasurementRecord& b) {
  EXPECT_EQ(a.env_key, b.env_key);
  EXPECT_EQ(a.problem.canonical(), b.problem.canonical());
  EXPECT_EQ(a.problem.gemm_m, b.problem.gemm_m);
  EXPECT_EQ(a.kernel_key, b.kernel_key);
  EXPECT_EQ(a.config, b.config);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.message, b.message);
  auto same = [](double x, double y) { return (x != x && y != y) || x == y; };  // NaN equals NaN here
  EXPECT_TRUE(same(a.median_us, b.median_us)) << a.median_us << " vs " << b.median_us;
  EXPECT_TRUE(same(a.min_us, b.min_us));
  EXPECT_TRUE(same(a.stddev_us, b.stddev_us));
  EXPECT_EQ(a.repetitions, b.repetitions);
  EXPECT_TRUE(same(a.max_error, b.max_error)) << a.max_error << " vs " << b.max_error;
  EXPECT_TRUE(same(a.error_bound, b.error_bound));
  EXPECT_TRUE(same(a.tflops, b.tflops));
  EXPECT_TRUE(same(a.tbps, b.tbps));
  EXPECT_TRUE(same(a.compile_ms, b.compile_ms));
  EXPECT_EQ(a.registers, b.registers);
  EXPECT_EQ(a.shared_bytes, b.shared_bytes);
  EXPECT_EQ(a.spill_bytes, b.spill_bytes);
  EXPECT_EQ(a.is_best, b.is_best);
  EXPECT_EQ(a.measured_at, b.measured_at);
}

}  // namespace gqaforge::db::testing
