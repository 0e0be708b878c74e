// The gqaforge CLI end to end: bad input gets one clear error line naming the value and exit
// status 2; the compile path works without a GPU; the check path fails clearly without one.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace {

struct CliRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

CliRun gqaforge(const std::string& args) {
  std::string cmd =
      fmt::format("GQAFORGE_CACHE_DIR=/tmp/gqf-cli-test-cache {}/tools/gqaforge {} 2>&1", GQAFORGE_BINARY_DIR, args);
  CliRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) r.output += buf.data();
  int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

void expect_usage_error(const std::string& args, const std::string& named) {
  CliRun r = gqaforge(args);
  EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(named), std::string::npos) << args << " should name '" << named << "':\n" << r.output;
  EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
}

TEST(Cli, BadInputNamesTheValueAndExitsTwo) {
  expect_usage_error("frobnicate", "'frobnicate'");
  expect_usage_error("compile --no-such-flag", "--no-such-flag");
  expect_usage_error("compile --heads 32:5", "32:5");
  expect_usage_error("compile --heads 32", "'32'");
  expect_usage_error("compile --head-dim 80", "80");
  expect_usage_error("compile --arch sm_99z", "sm_99z");
  expect_usage_error("compile --arch compute_90", "compute_90");
  expect_usage_error("emit --kv-len 4q", "4q");
  expect_usage_error("emit --dtype fp8", "fp8");
  expect_usage_error("emit --phase train", "train");
  expect_usage_error("emit --phase decode --q-len 17", "17");
  expect_usage_error("emit --phase decode --config block_n=7", "block_n");
  expect_usage_error("emit --phase prefill --config nonsense=1", "nonsense");
  expect_usage_error("compile --phase prefill --head-dim 96 --config wgmma=1", "not 96");
  expect_usage_error("compile --phase prefill --arch sm_80 --config wgmma=1", "this target is 8.0");
  expect_usage_error("emit --phase prefill --config wgmma=2", "wgmma=2");
  expect_usage_error("cache purge", "purge");
  expect_usage_error("compile --batch", "--batch");
}

TEST(Cli, HelpForEveryCommand) {
  for (const char* cmd : {"devices", "emit", "compile", "check", "bench", "cache", "demo"}) {
    CliRun r = gqaforge(fmt::format("{} --help", cmd));
    EXPECT_EQ(r.status, 0) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("usage: gqaforge"), std::string::npos) << cmd;
  }
  CliRun top = gqaforge("--help");
  EXPECT_EQ(top.status, 0);
  EXPECT_NE(top.output.find("compile"), std::string::npos);
}

TEST(Cli, CompileWorksWithoutAGpuAndWritesTheCubin) {
  std::string out = "/tmp/gqf-cli-test.cubin";
  std::remove(out.c_str());
  CliRun r = gqaforge(fmt::format("compile --phase decode --heads 8:1 --head-dim 64 --kv-len 128k -o {}", out));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("gqaforge_decode"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("regs"), std::string::npos) << r.output;
  FILE* f = std::fopen(out.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  char magic[4] = {0};
  EXPECT_EQ(std::fread(magic, 1, 4, f), 4u);
  std::fclose(f);
  EXPECT_EQ(std::string(magic + 1, 3), "ELF");
  CliRun again = gqaforge("compile --phase decode --heads 8:1 --head-dim 64 --kv-len 128k");
  EXPECT_NE(again.output.find("cache hit"), std::string::npos) << again.output;
}

TEST(Cli, EmitPrintsTheGeneratedPrelude) {
  CliRun r = gqaforge("emit --phase prefill --heads 12:2 --head-dim 96 --dtype fp16 --causal");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("GQF_PREFILL_ENTRY_POINTS(GqfTraits)"), std::string::npos);
  EXPECT_NE(r.output.find("static constexpr int kGroup = 6;"), std::string::npos);
  EXPECT_NE(r.output.find("typedef gqf::fp16 Element;"), std::string::npos);
}

TEST(Cli, CheckWithoutAGpuFailsClearly) {
  CliRun r = gqaforge("check --phase decode --heads 8:1");
  if (r.status == 0) GTEST_SKIP() << "a GPU is present; the GPU suites cover check";
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
}

}  // namespace
