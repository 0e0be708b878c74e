// The cost, fit and search subcommands end to end through the built binary: good runs exit 0,
// bad input exits 2 with a message naming the bad value.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <string>

#include <gtest/gtest.h>

namespace {

struct CliRun {
  int code = -1;
  std::string output;  // stdout and stderr
};

CliRun run(const std::string& args) {
  std::string cmd = std::string(GQAFORGE_BINARY_DIR "/tools/gqaforge ") + args + " 2>&1";
  CliRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) r.output.append(buf, n);
  int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(GQAFORGE_BINARY_DIR "/tools/gqaforge")) GTEST_SKIP() << "gqaforge binary not built";
    dir_ = std::filesystem::temp_directory_path() / ("gqaforge_cli_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  std::filesystem::path dir_;
};

TEST_F(Cli, CostOfAPresetAndOfExplicitDims) {
  CliRun r = run("cost --model llama-3.2-1b --context 128k");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("973146112"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("17.2 G"), std::string::npos) << r.output;  // 4 T L d_h n_h
  CliRun e = run("cost --layers 16 --hidden 2048 --heads 32:8 --head-dim 64 --ffn 8192 --vocab 128256 --context 131072 --json");
  EXPECT_EQ(e.code, 0) << e.output;
  EXPECT_NE(e.output.find("\"non_embedding\": 973146112"), std::string::npos) << e.output;
  EXPECT_NE(e.output.find("\"flops_variant\": 17179869184"), std::string::npos) << e.output;
}

TEST_F(Cli, CostBadInputExits2) {
  CliRun r = run("cost --model llama-3.2-1b --context abc");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--context 'abc'"), std::string::npos) << r.output;
  r = run("cost --model nosuch");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("unknown model preset 'nosuch'"), std::string::npos) << r.output;
  r = run("cost --layers 16 --hidden 2048 --heads 32:5");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("'32:5'"), std::string::npos) << r.output;
  r = run("cost --layers 16 --hidden 2048");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("missing --heads"), std::string::npos) << r.output;
}

TEST_F(Cli, FitWritesALossModelTheSearchReads) {
  std::string csv = "n_h,n_kv,N,loss\n";
  const double truth[2][3] = {{8, 2.0e8, 0.40}, {32, 1.0e8, 0.45}};
  for (const auto& t : truth) {
    int kv = t[0] == 8 ? 1 : 8;
    for (double n = 5e7; n < 1e10; n *= 2.5) {
      csv += std::to_string(static_cast<int>(t[0])) + "," + std::to_string(kv) + "," + std::to_string(n) + "," +
             std::to_string(std::pow(t[1] / n, t[2]) + 2.0) + "\n";
    }
  }
  std::string in = write("runs.csv", csv);
  std::string out = (dir_ / "model.json").string();
  CliRun f = run("fit " + in + " -o " + out);
  EXPECT_EQ(f.code, 0) << f.output;
  EXPECT_NE(f.output.find("overall R^2 = 1.0"), std::string::npos) << f.output;
  ASSERT_TRUE(std::filesystem::exists(out));
  CliRun s = run("search --target-loss 2.6 --context 32k --loss-model " + out);
  EXPECT_EQ(s.code, 0) << s.output;
  EXPECT_NE(s.output.find("best:"), std::string::npos);
  EXPECT_NE(s.output.find("skipped: "), std::string::npos);  // 19 configurations have no law
}

TEST_F(Cli, FitBadInputExits2AndWritesNothing) {
  std::string in = write("bad.csv", "n_h,n_kv,N,loss\n8,1,1e8,3.0\n8,1,oops,2.9\n");
  std::string out = (dir_ / "never.json").string();
  CliRun f = run("fit " + in + " -o " + out);
  EXPECT_EQ(f.code, 2);
  EXPECT_NE(f.output.find("bad.csv:3: N 'oops'"), std::string::npos) << f.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  CliRun missing = run("fit " + (dir_ / "absent.csv").string());
  EXPECT_NE(missing.code, 0);
  EXPECT_EQ(run("fit " + in + " --form spline").code, 2);
}

TEST_F(Cli, SearchRunsOnTheBundledDefaults) {
  std::string report = (dir_ / "r.html").string();
  CliRun s = run("search --target-loss 2.615 --context 128k --top 5 --report " + report);
  EXPECT_EQ(s.code, 0) << s.output;
  EXPECT_NE(s.output.find("vs Llama-3 GQA"), std::string::npos) << s.output;
  EXPECT_TRUE(std::filesystem::exists(report));
  CliRun t = run("search --table4");
  EXPECT_EQ(t.code, 0) << t.output;
  EXPECT_NE(t.output.find("of 40 cells reproduced"), std::string::npos);
}

TEST_F(Cli, SearchBadInputExits2) {
  CliRun r = run("search --target-loss 1.0 --context 128k");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("target loss 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("irreducible loss E = "), std::string::npos) << r.output;
  EXPECT_EQ(run("search --context 128k").code, 2);
  CliRun o = run("search --target-loss 2.6 --objective speed");
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.output.find("'speed'"), std::string::npos);
  EXPECT_EQ(run("search --target-loss 2.6 --context -5").code, 2);
  EXPECT_EQ(run("search --target-loss 2.6 --lambda 2").code, 2);
  std::string bad = write("bad.json", "{\"format\": \"gqaforge-loss-model\", \"version\": 1, \"form\": 3}");
  CliRun m = run("search --target-loss 2.6 --loss-model " + bad);
  EXPECT_EQ(m.code, 2);
  EXPECT_NE(m.output.find("key 'form' is a number, expected a string"), std::string::npos) << m.output;
}

}  // namespace
