// The CPU backend through the CLI: check, bench, emit and tune with --backend cpu for real (the
// module loaded, kernels generated and gated), bad input named with exit status 2.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cpu_test_util.h"

namespace gqaforge::cpu {
namespace {

struct CliRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

CliRun gqaforge(const std::string& args) {
  const std::string cmd = fmt::format("GQAFORGE_CACHE_DIR={}/cpu-test-cache {}/tools/gqaforge {} 2>&1",
                                      GQAFORGE_BINARY_DIR, GQAFORGE_BINARY_DIR, args);
  CliRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) r.output += buf.data();
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

void expect_usage_error(const std::string& args, const std::string& named) {
  CliRun r = gqaforge(args);
  EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(named), std::string::npos) << args << " should name '" << named << "':\n" << r.output;
}

TEST(CpuCli, CheckBenchAndEmitRunGeneratedKernels) {
  GQF_REQUIRE_CPU_MODULE(k);
  CliRun check = gqaforge(
      "check --backend cpu --phase decode --heads 12:4 --head-dim 96 --batch 2 --kv-len 999 "
      "--kv-lens 999,3 --dtype fp16");
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_NE(check.output.find("PASS"), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("oracle=cpu-fp64"), std::string::npos) << check.output;
  CliRun bench = gqaforge(
      "bench --backend cpu --phase prefill --heads 8:2 --head-dim 64 --q-len 256 --kv-len 256 "
      "--causal --wide");
  EXPECT_EQ(bench.status, 0) << bench.output;
  EXPECT_NE(bench.output.find("GFLOP/s"), std::string::npos) << bench.output;
  EXPECT_NE(bench.output.find("gate pass"), std::string::npos) << bench.output;
  CliRun emit = gqaforge("emit --backend cpu --phase decode --heads 8:1 --head-dim 64");
  EXPECT_EQ(emit.status, 0) << emit.output;
  EXPECT_NE(emit.output.find("define void @gqaforge_cpu_"), std::string::npos) << emit.output.substr(0, 400);
}

/// Three random tries of one decode problem into `db`, removed first.
CliRun tune_cpu(const std::string& db, const std::string& isolation_flags) {
  std::filesystem::remove(db);
  return gqaforge("tune --backend cpu " + isolation_flags +
                  "--phase decode --heads 8:1 --head-dim 64 --batch 1 --kv-len 2k --strategy random --budget 3 "
                  "--db " +
                  db);
}

TEST(CpuCli, TuneWritesCpuRows) {
  GQF_REQUIRE_CPU_MODULE(k);
  const std::string db = std::string(GQAFORGE_BINARY_DIR) + "/cpu-cli-tune.sqlite";
  // The default isolation: compiled here, gated and timed in a tune-worker child.
  CliRun tune = tune_cpu(db, "");
  EXPECT_EQ(tune.status, 0) << tune.output;
  // The host's rate, not a fraction of a GPU's ceiling.
  EXPECT_NE(tune.output.find(" GB/s"), std::string::npos) << tune.output;
  EXPECT_EQ(tune.output.find("TB/s"), std::string::npos) << tune.output;
  CliRun best = gqaforge("db best --wide --family cpu_decode --db " + db);
  EXPECT_EQ(best.status, 0) << best.output;
  EXPECT_NE(best.output.find("decode 8:1 d64 bf16 causal b1 q1 kv2k"), std::string::npos) << best.output;
  EXPECT_NE(best.output.find("vec="), std::string::npos) << best.output;
  EXPECT_NE(best.output.find(" GB/s"), std::string::npos) << best.output;
  // In-process, the same sweep on a fresh file: the same three tries, all ok.
  CliRun inproc = tune_cpu(std::string(GQAFORGE_BINARY_DIR) + "/cpu-cli-tune-inproc.sqlite", "--isolation none ");
  EXPECT_EQ(inproc.status, 0) << inproc.output;
  EXPECT_NE(inproc.output.find("tries by status: 3 ok"), std::string::npos) << inproc.output;
  EXPECT_NE(tune.output.find("tries by status: 3 ok"), std::string::npos) << tune.output;
}

TEST(CpuCli, BadInputIsNamed) {
  GQF_REQUIRE_CPU_MODULE(k);
  expect_usage_error("check --backend cpu --phase decode --config vec=32", "vec=32");
  expect_usage_error("check --backend cpu --phase decode --config head_block=9", "head_block=9");
  expect_usage_error("check --backend cpu --phase decode --family decode", "--family decode runs on CUDA GPUs");
  expect_usage_error("bench --backend gpu", "gpu");
  expect_usage_error("tune --backend cpu --isolation sideways --phase decode --db /tmp/gqf-never.sqlite", "sideways");
  EXPECT_FALSE(std::filesystem::exists("/tmp/gqf-never.sqlite"));
}

}  // namespace
}  // namespace gqaforge::cpu
